import Delivery
import Foundation
import HTTPClient
import Recall
import Shared
import Store
import TestSupport
import Testing

@testable import BotGateway

/// Real bots' lives through bot-gateway, against a local fake of Recall.ai: join requests to
/// `POST /bot/`, Recall's signed status webhooks back to the gateway's receiver, and the
/// artifacts fetched at the end.
@Suite("Recall.ai bots through bot-gateway")
struct RecallBotLifeTests {
    struct World {
        let pool: PostgresPool
        let outbox: Outbox
        let recall: FakeRecall
        let handler: BotJoinHandler
        let provider: RecallProvider

        func request(_ meeting: UUID, joiningIn minutes: Double, meetingURL: String = "https://meet.google.com/abc-defg-hij")
            async throws
        {
            let joinAt = Date().addingTimeInterval(minutes * 60)
            let envelope = Envelope(
                tenantID: "acme", correlationID: meeting,
                payload: BotJoinRequested(
                    meetingID: meeting, workflowID: UUID(), meetingURL: meetingURL, botName: "Attaché",
                    meetingTitle: "Weekly staff meeting", meetingStart: joinAt.addingTimeInterval(120),
                    meetingEnd: joinAt.addingTimeInterval(3720), joinAt: joinAt))
            try await handler.joinRequested(envelope, try context(envelope))
        }

        func cancel(_ meeting: UUID) async throws {
            let envelope = Envelope(
                tenantID: "acme", correlationID: meeting,
                payload: BotJoinCancelled(meetingID: meeting, workflowID: UUID(), reason: "cancelled"))
            try await handler.joinCancelled(envelope, try context(envelope))
        }

        func context<P: EventPayload>(_ envelope: Envelope<P>) throws -> HandlerContext {
            try HandlerContext(
                messageID: envelope.id, messageType: P.messageType, pool: pool, outbox: outbox, logger: TestStack.logger)
        }

        func status(of bot: String) async throws -> String? {
            try await pool.withConnection { db in
                try db.queryOne("SELECT status FROM gateway.bots WHERE bot_id = $1", [bot])?.string("status")
            }
        }

        func published(_ type: MessageType) async throws -> Int {
            try await pool.withConnection { db in
                try db.queryOne("SELECT count(*) AS n FROM gateway.outbox WHERE message_type = $1", [type.description])!.int("n")
            }
        }
    }

    func withWorld(_ body: (World) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let outbox = try Outbox(schema: GatewaySchema.name)
            let receiver = WebhookReceiver(
                secret: try #require(WebhookSecret(FakeRecall.webhookSecret)), pool: pool, outbox: outbox, provider: "recall",
                logger: TestStack.logger)
            let server = try await FakeServer { router, _ in receiver.register(on: router) }
            defer { server.stop() }
            let recall = try await FakeRecall(webhookURL: server.url + WebhookReceiver.path)
            defer { recall.stop() }
            let provider = RecallProvider(
                client: RecallClient(
                    configuration: .init(region: .usWest2, apiKey: FakeRecall.apiKey, baseURL: recall.apiURL),
                    logger: TestStack.logger),
                settings: .init(transcriptWebhookURL: server.url + WebhookReceiver.path),
                cameraURL: { "https://realtime.example/camera/\($0.meetingID.uuidString.lowercased())?token=t" })
            try await body(
                World(
                    pool: pool, outbox: outbox, recall: recall, handler: BotJoinHandler(provider: provider),
                    provider: provider))
        }
    }

    @Test("a bot through its whole life: scheduled ahead, joining, waiting room, recording, ended, done, artifacts published")
    func wholeLife() async throws {
        try await withWorld { world in
            let meeting = UUID()
            try await world.request(meeting, joiningIn: 60)
            let created = try #require(world.recall.created.first)
            let body = created.json
            #expect(body["join_at"] != nil, "an hour ahead: scheduled")
            #expect(body["bot_name"] as? String == "Attaché")
            #expect((body["metadata"] as? [String: String])?["meeting_id"] == meeting.uuidString.lowercased())
            let camera = ((body["output_media"] as? [String: Any])?["camera"] as? [String: Any])?["config"] as? [String: Any]
            #expect((camera?["url"] as? String)?.contains("/camera/\(meeting.uuidString.lowercased())?token=") == true)
            #expect(
                ((body["automatic_leave"] as? [String: Any])?["everyone_left_timeout"] as? [String: Any])?["timeout"] as? Int
                    == 30)
            #expect(try await world.status(of: created.id) == "scheduled")

            for status in ["joining_call", "in_waiting_room", "in_call_recording", "call_ended", "done"] {
                let answers = try await world.recall.advance(created.id, to: status)
                #expect(answers.last == 200, "\(status): \(answers)")
                #expect(try await world.status(of: created.id) == status)
            }
            #expect(try await world.published(BotStatusChanged.messageType) == 5)
            let collector = ArtifactsCollector(
                pool: world.pool, outbox: world.outbox, provider: world.provider, logger: TestStack.logger)
            #expect(try await collector.collect() == 1)
            let artifacts = try await world.pool.withConnection { db in
                try db.queryOne("SELECT transcript, recording_url FROM gateway.bot_artifacts")
            }
            #expect(try artifacts?.optionalString("recording_url") != nil)
            #expect(try artifacts?.decode([BotArtifactsReady.Segment].self, column: "transcript").isEmpty == false)
        }
    }

    @Test("asked within ten minutes of its join time, the bot joins at once (no join_at); a fatal sub-code is told once")
    func adHocAndFatal() async throws {
        try await withWorld { world in
            let meeting = UUID()
            try await world.request(meeting, joiningIn: 5)
            let created = try #require(world.recall.created.first)
            #expect(created.json["join_at"] == nil)
            #expect(try await world.status(of: created.id) == "requested")
            _ = try await world.recall.advance(created.id, to: "joining_call")
            _ = try await world.recall.advance(created.id, to: "fatal", subCode: "meeting_requires_sign_in")
            #expect(try await world.published(BotProblemDetected.messageType) == 1)
        }
    }

    @Test("a link Recall refuses, or a key it refuses, parks the request at once, saying which field or setting")
    func refusedRequests() async throws {
        try await withWorld { world in
            await #expect {
                try await world.request(UUID(), joiningIn: 60, meetingURL: "https://example.com/not-a-meeting")
            } throws: { error in
                error is PermanentFailure && "\(error)".contains("meeting_url")
            }
            let wrongKey = RecallProvider(
                client: RecallClient(
                    configuration: .init(region: .usWest2, apiKey: "not-the-key", baseURL: world.recall.apiURL),
                    logger: TestStack.logger),
                settings: world.provider.settings, cameraURL: { _ in nil })
            let envelope = Envelope(
                tenantID: "acme", correlationID: UUID(),
                payload: BotJoinRequested(
                    meetingID: UUID(), workflowID: UUID(), meetingURL: "https://meet.google.com/abc-defg-hij", botName: "Attaché",
                    meetingTitle: "Weekly staff meeting", meetingStart: Date().addingTimeInterval(3600),
                    meetingEnd: Date().addingTimeInterval(7200)))
            await #expect {
                try await BotJoinHandler(provider: wrongKey).joinRequested(envelope, try world.context(envelope))
            } throws: { error in
                error is PermanentFailure && "\(error)".contains("ATTACHE_RECALL_API_KEY")
            }
        }
    }

    @Test("a moved meeting's scheduled bot is deleted and scheduled anew; a cancelled one in the call is asked to leave")
    func movedAndCancelled() async throws {
        try await withWorld { world in
            let meeting = UUID()
            try await world.request(meeting, joiningIn: 60)
            let first = try #require(world.recall.created.first?.id)
            try await world.request(meeting, joiningIn: 120)
            #expect(world.recall.deleted == [first])
            let bots = [first] + world.recall.created.map(\.id)
            #expect(bots.count == 2 && bots[0] != bots[1])
            _ = try await world.recall.advance(bots[1], to: "joining_call")
            _ = try await world.recall.advance(bots[1], to: "in_call_recording")
            try await world.cancel(meeting)
            #expect(world.recall.leaveCalls == [bots[1]])
        }
    }
}
