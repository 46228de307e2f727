import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import BotGateway

@Suite("A bot's life (bot-gateway)")
struct BotLifecycleTests {
    static let start = Date(timeIntervalSince1970: 1_796_900_000)

    /// A gateway database with one bot for a meeting from `start` to `start` + 1 h, joining 2
    /// minutes early, and a way to apply what its provider reports.
    struct World {
        let pool: PostgresPool
        let outbox: Outbox
        let botID = "bot-\(UUID().uuidString.prefix(8).lowercased())"
        let meetingID = UUID()

        func report(_ status: String, subCode: String? = nil, at seconds: TimeInterval) async throws {
            let meaning = RecallWebhook.Meaning.status(
                botID: botID, metadata: [:], status: BotStatus(rawValue: status), subCode: subCode,
                at: BotLifecycleTests.start.addingTimeInterval(seconds))
            let outbox = outbox
            _ = try await outbox.transaction(pool) { db in
                try WebhookReceiver.apply(meaning, provider: "recall", outbox: outbox, on: db)
            }
        }

        func bot() async throws -> (status: String, subCode: String?) {
            try await pool.withConnection { db in
                let row = try db.queryOne("SELECT status, sub_code FROM gateway.bots WHERE bot_id = $1", [botID])!
                return (try row.string("status"), try row.optionalString("sub_code"))
            }
        }

        func history() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query(
                    "SELECT status, applied FROM gateway.bot_status_history WHERE bot_id = $1 ORDER BY changed_at, id", [botID]
                ).map { "\(try $0.string("status"))\(try $0.bool("applied") ? "" : " (kept)")" }
            }
        }

        func problems() async throws -> [BotProblemDetected] {
            try await pool.withConnection { db in
                try db.query(
                    "SELECT body FROM gateway.outbox WHERE message_type = $1 ORDER BY position",
                    [BotProblemDetected.messageType.description]
                ).map {
                    try MessageCoding.decoder().decode(Envelope<BotProblemDetected>.self, from: Data(try $0.string("body").utf8))
                        .payload
                }
            }
        }
    }

    func withBot(_ body: (World) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let world = World(pool: pool, outbox: try Outbox(schema: GatewaySchema.name))
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, join_at, meeting_end)
                    VALUES ($1, $2, 'recall', 'acme', $3, 'requested', $4, $5)
                    """,
                    [
                        world.botID, world.meetingID, UUID(), Self.start.addingTimeInterval(-120),
                        Self.start.addingTimeInterval(3600),
                    ])
            }
            try await body(world)
        }
    }

    @Test("statuses that arrive out of order are ordered by the provider's time; done stays done; every one is kept")
    func outOfOrder() async throws {
        try await withBot { world in
            try await world.report("joining_call", at: -100)
            try await world.report("in_call_recording", at: -40)
            try await world.report("in_waiting_room", at: -70)  // late
            try await world.report("done", at: 3700)
            try await world.report("call_ended", subCode: "timeout_exceeded_everyone_left", at: 3650)  // late
            #expect(try await world.bot().status == "done")
            #expect(
                try await world.history() == [
                    "joining_call", "in_waiting_room (kept)", "in_call_recording", "call_ended (kept)", "done",
                ])
            #expect(try await world.problems().isEmpty, "a normal life troubles nobody")
        }
    }

    @Test("codes and sub-codes Recall adds later are kept and tolerated, never fatal")
    func unknownCodes() async throws {
        try await withBot { world in
            try await world.report("joining_call", at: -100)
            try await world.report("in_call_thinking_about_it", subCode: "brand_new_reason", at: -90)
            #expect(try await world.bot() == ("in_call_thinking_about_it", "brand_new_reason"))
            try await world.report("in_call_recording", at: -40)
            #expect(try await world.bot().status == "in_call_recording")
            #expect(try await world.problems().isEmpty)
        }
    }

    @Test("a fatal sub-code reaches the owner once, in plain language; an unknown fatal one in general words")
    func fatalProblems() async throws {
        try await withBot { world in
            try await world.report("joining_call", at: -100)
            try await world.report("fatal", subCode: "meeting_not_found", at: -90)
            try await world.report("fatal", subCode: "meeting_not_found", at: -90)  // sent again
            let problems = try await world.problems()
            #expect(problems.map(\.problem) == ["meeting_not_found"])
            #expect(problems.first?.explanation.contains("check that the calendar invite has the right meeting link") == true)
            #expect(problems.first?.meetingID == world.meetingID)
        }
        try await withBot { world in
            try await world.report("fatal", subCode: "zoom_something_new", at: -90)
            #expect(
                try await world.problems().map(\.explanation) == [
                    "The meeting bot failed and will not be in the meeting (Recall said zoom_something_new)."
                ])
        }
    }

    @Test("recording permission denied is an event beside the statuses, and the owner hears of it")
    func recordingPermission() async throws {
        try await withBot { world in
            try await world.report("in_call_not_recording", at: -30)
            try await world.report("recording_permission_denied", subCode: "zoom_host_denied", at: -20)
            #expect(try await world.bot().status == "in_call_not_recording")
            #expect(try await world.history() == ["in_call_not_recording", "recording_permission_denied (kept)"])
            #expect(try await world.problems().map(\.problem) == ["recording_permission_denied"])
        }
    }

    @Test("a bot silent past its join time, or stalled in the waiting room, is noticed once; a finished meeting's is not")
    func quietBots() async throws {
        try await withBot { world in
            func watch(at seconds: TimeInterval) -> BotWatch {
                BotWatch(
                    pool: world.pool, outbox: world.outbox, settings: .init(), clock: { Self.start.addingTimeInterval(seconds) },
                    logger: TestStack.logger)
            }
            let found60 = try await watch(at: 60).check()
            #expect(found60 == 0, "three minutes after the join time is within the grace")
            let found240 = try await watch(at: 240).check()
            #expect(found240 == 1, "more than five minutes after it is not")
            let found300 = try await watch(at: 300).check()
            #expect(found300 == 0, "told once")
            try await world.report("in_waiting_room", at: 250)
            let found600 = try await watch(at: 600).check()
            #expect(found600 == 0)
            let found900 = try await watch(at: 900).check()
            #expect(found900 == 1, "ten minutes in the waiting room")
            #expect(try await world.problems().map(\.problem) == ["silent_past_join_time", "stalled_in_waiting_room"])
            let found4000 = try await watch(at: 4000).check()
            #expect(found4000 == 0)
        }
        try await withBot { world in
            let after = BotWatch(
                pool: world.pool, outbox: world.outbox, settings: .init(), clock: { Self.start.addingTimeInterval(4000) },
                logger: TestStack.logger)
            let found = try await after.check()
            #expect(found == 0, "the meeting is over: nothing to tell")
        }
    }

    @Test("the state machine's rules")
    func decisions() {
        #expect(
            BotLifecycle.decide(
                current: .joiningCall, since: Self.start, incoming: .inCallRecording, at: Self.start.addingTimeInterval(1))
                == .advance)
        #expect(
            BotLifecycle.decide(
                current: .inCallRecording, since: Self.start, incoming: .joiningCall, at: Self.start.addingTimeInterval(-1))
                != .advance)
        #expect(
            BotLifecycle.decide(
                current: .done, since: Self.start, incoming: .inCallRecording, at: Self.start.addingTimeInterval(9)) != .advance)
        #expect(
            BotLifecycle.decide(
                current: .inCallRecording, since: Self.start, incoming: .fatal, at: Self.start.addingTimeInterval(-1))
                == .advance, "fatal from anywhere")
        #expect(BotLifecycle.problem(.callEnded, subCode: "timeout_exceeded_everyone_left") == nil)
        #expect(
            BotLifecycle.problem(.callEnded, subCode: "bot_kicked_from_waiting_room")?.problem == "bot_kicked_from_waiting_room")
    }
}
