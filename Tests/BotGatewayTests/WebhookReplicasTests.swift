import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import BotGateway

/// Two replicas recording the same webhook-id at once (Svix retrying while the first delivery
/// is still being committed): it has its effect once, and both requests are answered.
@Suite("Webhooks received by two replicas at once (bot-gateway)")
struct WebhookReplicasTests {
    @Test("two replicas receiving the same transcripts at once answer every request, and each has its effect once")
    func replicas() async throws {
        try await WebhookBatcherTests().withBots(1) { pool, outbox in
            let replicas = (0..<2).map { _ in
                // One webhook a transaction: a race is not hidden by a failed batch's one-by-one retry.
                WebhookReceiver(
                    secret: .random(), pool: pool, outbox: outbox, provider: "recall",
                    batching: .init(largestBatch: 1, commitsAtOnce: 2), logger: TestStack.logger)
            }
            let webhooks = (0..<40).map {
                WebhookBatcherTests.transcript("msg_\($0)", bot: "bot-0", "line \($0)", at: Double($0))
            }
            // Each webhook twice, once to each replica, all at once.
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for webhook in webhooks {
                    for replica in replicas { group.addTask { "\(try await replica.batcher.record(webhook))" } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.contains("published") }.count == 40)
            #expect(outcomes.filter { $0.contains("duplicate") }.count == 40)
            let events = try await pool.withConnection { db in
                try db.queryOne("SELECT count(*) AS n FROM gateway.outbox")!.int("n")
            }
            #expect(events == 40)
        }
    }
}
