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
