import Delivery
import Foundation
import Store
import TestSupport
import Testing

@testable import BotGateway

/// The gateway's background loops (the watch for quiet bots, the artifacts collector) ride out
/// a database outage, and end when they are cancelled, as ServiceGroup does when another service
/// fails, instead of spinning on with every sleep cut short.
@Suite("Background loops (bot-gateway)")
struct BackgroundLoopTests {
    /// Nothing listens on port 1.
    static let unreachable = "postgresql://postgres@127.0.0.1:1/attache"

    @Test("with the database unreachable, each loop logs its failed round, waits, and ends when cancelled")
    func cancelledDuringOutage() async throws {
        let logs = CapturedLogs()
        let pool = PostgresPool(url: Self.unreachable, size: 1)
        let outbox = try Outbox(schema: GatewaySchema.name)
        let loops: [(String, @Sendable () async throws -> Void)] = [
            (
                "checking for quiet bots failed",
                BotWatch(pool: pool, outbox: outbox, settings: .init(), logger: logs.logger).run
            ),
            (
                "collecting call artifacts failed",
                ArtifactsCollector(
                    pool: pool, outbox: outbox, provider: ArtifactsCollectorTests.ScriptedProvider([]), logger: logs.logger
                ).run
            ),
        ]
        for (failure, run) in loops {
            let loop = Task { try await run() }
            try await eventually("the loop's first round fails") { logs.all.contains(failure) }
            loop.cancel()
            try await loop.value(within: .seconds(120), "the cancelled loop to end")
            #expect(logs.lines.withLock { $0.filter { $0.contains(failure) }.count } <= 2, "one round, maybe two; no spinning")
        }
    }
}
