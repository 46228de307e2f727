import Delivery
import Foundation
import Shared
import Store
import Synchronization
import TestSupport
import Testing

@testable import BotGateway

@Suite("Bot join requests")
struct BotJoinTests {
    /// A provider that creates the bot but whose answer is lost the first time, as after a
    /// timeout: the caller retries without knowing the bot exists.
    final class FlakyProvider: MeetingBotProvider {
        let name = "flaky"
        let keys = Mutex<[UUID]>([])
        let bots = Mutex<[UUID: String]>([:])

        func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String {
            let (botID, first) = bots.withLock { bots in
                if let bot = bots[idempotencyKey] { return (bot, false) }
                bots[idempotencyKey] = "bot-\(bots.count + 1)"
                return (bots[idempotencyKey]!, true)
            }
            keys.withLock { $0.append(idempotencyKey) }
            if first { throw URLError(.timedOut) }
            return botID
        }

        func removeBot(_ botID: String, inCall: Bool) async throws {}
        func artifacts(of botID: String) async throws -> BotArtifacts? { nil }
    }

    @Test("a join request retried after a lost answer gets the same bot, not a second one")
    func retriedRequestGetsTheSameBot() async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let provider = FlakyProvider()
            let handler = BotJoinHandler(provider: provider)
            let outbox = try Outbox(schema: GatewaySchema.name)
            let envelope = Envelope(
                tenantID: "acme", correlationID: UUID(),
                payload: BotJoinRequested(
                    meetingID: UUID(), workflowID: UUID(), meetingURL: "https://meet.google.com/abc-defg-hij", botName: "Attaché",
                    meetingTitle: "Weekly staff meeting", meetingStart: Date(), meetingEnd: Date().addingTimeInterval(1800)))
            func deliver() async throws {
                try await handler.joinRequested(
                    envelope,
                    try HandlerContext(
                        messageID: envelope.id, messageType: BotJoinRequested.messageType, pool: pool, outbox: outbox,
                        logger: TestStack.logger))
            }
            await #expect(throws: URLError.self) { try await deliver() }
            try await deliver()  // the retry
            try await deliver()  // a duplicate delivery afterwards

            let keys = provider.keys.withLock { $0 }
            #expect(keys.count == 2, "the duplicate finds the bot recorded and does not ask again")
            #expect(Set(keys).count == 1, "the retry asks with the same idempotency key")
            let bots = try await pool.withConnection { db in
                try db.query("SELECT bot_id FROM gateway.bots").map { try $0.string("bot_id") }
            }
            #expect(bots == ["bot-1"])
        }
    }
}

@Suite("Moved and cancelled meetings' bots")
struct BotRescheduleTests {
    /// A provider that records what it is asked.
    final class RecordingProvider: MeetingBotProvider {
        let name = "recording"
        let calls = Mutex<[String]>([])

        func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String {
            calls.withLock { calls in
                let id = "bot-\(calls.filter { $0.hasPrefix("create") }.count + 1)"
                calls.append("create \(id)")
                return id
            }
        }

        func removeBot(_ botID: String, inCall: Bool) async throws {
            calls.withLock { $0.append(inCall ? "leave \(botID)" : "delete \(botID)") }
        }

        func artifacts(of botID: String) async throws -> BotArtifacts? { nil }
    }

    struct World {
        let pool: PostgresPool
        let outbox: Outbox
        let provider = RecordingProvider()
        let meeting = UUID()
        /// Join times are counted from here, so that asking twice for the same time is the same time
        /// however long the test takes.
        let now = Date()
        var handler: BotJoinHandler { BotJoinHandler(provider: provider) }

        func context<P: EventPayload>(_ envelope: Envelope<P>) throws -> HandlerContext {
            try HandlerContext(
                messageID: envelope.id, messageType: P.messageType, pool: pool, outbox: outbox, logger: TestStack.logger)
        }

        func request(joiningIn minutes: Double) async throws {
            let joinAt = now.addingTimeInterval(minutes * 60)
            let envelope = Envelope(
                tenantID: "acme", correlationID: meeting,
                payload: BotJoinRequested(
                    meetingID: meeting, workflowID: UUID(), meetingURL: "https://meet.google.com/abc-defg-hij",
                    botName: "Attaché",
                    meetingTitle: "Weekly staff meeting", meetingStart: joinAt.addingTimeInterval(120),
                    meetingEnd: joinAt.addingTimeInterval(3720), joinAt: joinAt))
            try await handler.joinRequested(envelope, try context(envelope))
        }

        func cancel() async throws {
            let envelope = Envelope(
                tenantID: "acme", correlationID: meeting,
                payload: BotJoinCancelled(meetingID: meeting, workflowID: UUID(), reason: "removed from the calendar"))
            try await handler.joinCancelled(envelope, try context(envelope))
        }

        func statuses() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query("SELECT bot_id, status FROM gateway.bots ORDER BY bot_id").map {
                    "\(try $0.string("bot_id")) \(try $0.string("status"))"
                }
            }
        }

        func set(_ bot: String, to status: String) async throws {
            _ = try await pool.withConnection { db in
                try db.execute("UPDATE gateway.bots SET status = $2 WHERE bot_id = $1", [bot, status])
            }
        }
    }

    func withWorld(_ body: (World) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            try await body(World(pool: pool, outbox: try Outbox(schema: GatewaySchema.name)))
        }
    }

    @Test("a meeting that moves before its bot joins gets a new bot for the new time; a bot in the call stays")
    func moved() async throws {
        try await withWorld { world in
            try await world.request(joiningIn: 120)
            #expect(try await world.statuses() == ["bot-1 scheduled"], "asked two hours ahead: scheduled")
            try await world.request(joiningIn: 120)  // the same time again
            try await world.request(joiningIn: 180)  // moved by an hour
            #expect(world.provider.calls.withLock { $0 } == ["create bot-1", "delete bot-1", "create bot-2"])
            #expect(try await world.statuses() == ["bot-1 cancelled", "bot-2 scheduled"])
            try await world.set("bot-2", to: "in_call_recording")
            try await world.request(joiningIn: 5)
            #expect(world.provider.calls.withLock { $0 }.count == 3, "a bot in the call is not replaced")
        }
    }

    @Test("a cancelled meeting's scheduled bot is deleted, one in the call asked to leave, a finished one left alone")
    func cancelled() async throws {
        try await withWorld { world in
            try await world.request(joiningIn: 120)
            try await world.cancel()
            #expect(world.provider.calls.withLock { $0 } == ["create bot-1", "delete bot-1"])
            #expect(try await world.statuses() == ["bot-1 cancelled"])
        }
        try await withWorld { world in
            try await world.request(joiningIn: 1)
            #expect(try await world.statuses() == ["bot-1 requested"], "asked a minute ahead: joins at once")
            try await world.set("bot-1", to: "in_call_recording")
            try await world.cancel()
            try await world.set("bot-1", to: "done")
            try await world.cancel()
            #expect(world.provider.calls.withLock { $0 } == ["create bot-1", "leave bot-1"])
        }
    }
}
