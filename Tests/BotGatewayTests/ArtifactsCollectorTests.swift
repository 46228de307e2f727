import Delivery
import Foundation
import Shared
import Store
import Synchronization
import TestSupport
import Testing

@testable import BotGateway

@Suite("Call artifacts (bot-gateway)")
struct ArtifactsCollectorTests {
    /// A provider whose artifacts come as the test scripts them: each ask takes the next answer.
    final class ScriptedProvider: MeetingBotProvider {
        struct Unavailable: Error, CustomStringConvertible {
            var description: String { "the provider answered 503" }
        }

        let name = "scripted"
        let answers: Mutex<[Result<BotArtifacts?, Unavailable>]>
        init(_ answers: [Result<BotArtifacts?, Unavailable>]) { self.answers = Mutex(answers) }

        func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String { "unused" }
        func removeBot(_ botID: String, inCall: Bool) async throws {}
        func artifacts(of botID: String) async throws -> BotArtifacts? {
            try answers.withLock { $0.isEmpty ? .success(nil) : $0.removeFirst() }.get()
        }
    }

    static let artifacts = BotArtifacts(
        transcript: [.init(speaker: "Alex Rivera", text: "Let's start with the hiring plan.", start: 1.5)],
        recordingURL: "https://recordings.example/r1.mp4?X-Amz-Expires=21600")

    func withDoneBot(
        status: String = "done", _ provider: ScriptedProvider, _ body: (ArtifactsCollector, PostgresPool) async throws -> Void
    ) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, status_at)
                    VALUES ('bot-1', $1, 'scripted', 'acme', $2, $3, now())
                    """, [UUID(), UUID(), status])
            }
            let collector = ArtifactsCollector(
                pool: pool, outbox: try Outbox(schema: GatewaySchema.name), provider: provider, attempts: 3,
                logger: TestStack.logger)
            try await body(collector, pool)
        }
    }

    func published(_ pool: PostgresPool) async throws -> [BotArtifactsReady] {
        try await pool.withConnection { db in
            try db.query(
                "SELECT body FROM gateway.outbox WHERE message_type = $1", [BotArtifactsReady.messageType.description]
            ).map {
                try MessageCoding.decoder().decode(Envelope<BotArtifactsReady>.self, from: Data(try $0.string("body").utf8))
                    .payload
            }
        }
    }

    @Test("a done bot's transcript and recording link are fetched once the provider has them, kept, and published once")
    func fetchedOnce() async throws {
        try await withDoneBot(ScriptedProvider([.success(nil), .success(Self.artifacts), .success(Self.artifacts)])) {
            collector, pool in
            let rounds = [try await collector.collect(), try await collector.collect(), try await collector.collect()]
            #expect(rounds == [0, 1, 0], "still processing, then fetched, then nothing left to do")
            let published = try await published(pool)
            #expect(published.map(\.transcript) == [Self.artifacts.transcript])
            #expect(published.first?.recordingURL == Self.artifacts.recordingURL)
        }
    }

    @Test("a provider that keeps failing is asked a bounded number of times, and the last error is kept")
    func givesUp() async throws {
        let failing = ScriptedProvider(Array(repeating: .failure(.init()), count: 5))
        try await withDoneBot(failing) { collector, pool in
            for _ in 0..<5 { try await collector.collect() }
            let row = try await pool.withConnection { db in
                try db.queryOne("SELECT attempts, last_error FROM gateway.bot_artifacts WHERE bot_id = 'bot-1'")
            }
            #expect(try row?.int("attempts") == 3)
            #expect(try row?.optionalString("last_error") == "the provider answered 503")
            #expect(failing.answers.withLock { $0.count } == 2, "not asked after the third failure")
        }
    }

    @Test("a bot still in the call is not asked for artifacts")
    func notDone() async throws {
        let provider = ScriptedProvider([.success(Self.artifacts)])
        try await withDoneBot(status: "in_call_recording", provider) { collector, pool in
            let published = try await collector.collect()
            #expect(published == 0)
            #expect(provider.answers.withLock { $0.count } == 1)
        }
    }
}
