import Delivery
import Foundation
import Shared
import Store
import Synchronization
import TestSupport
import Testing

@testable import BotGateway

@Suite("Webhooks committed together (bot-gateway)")
struct WebhookBatcherTests {
    static let start = Date(timeIntervalSince1970: 1_796_900_000)

    /// A gateway database with `bots` bots (`bot-0` …), all requested.
    func withBots(_ bots: Int, _ body: (PostgresPool, Outbox) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status)
                    SELECT 'bot-' || n, gen_random_uuid(), 'recall', 'acme', gen_random_uuid(), 'requested'
                    FROM generate_series(0, $1::int - 1) AS n
                    """, [bots])
            }
            try await body(pool, try Outbox(schema: GatewaySchema.name))
        }
    }

    static func status(_ id: String, bot: String, _ code: String, at seconds: TimeInterval) -> ReceivedWebhook {
        ReceivedWebhook(
            id: id, event: "bot.\(code)", body: #"{"event":"bot.\#(code)"}"#,
            meaning: .status(
                botID: bot, metadata: [:], status: BotStatus(rawValue: code), subCode: nil,
                at: start.addingTimeInterval(seconds)))
    }

    static func transcript(_ id: String, bot: String, _ text: String, at seconds: TimeInterval) -> ReceivedWebhook {
        ReceivedWebhook(
            id: id, event: "transcript.data", body: #"{"event":"transcript.data"}"#,
            meaning: .transcript(
                botID: bot, metadata: [:], speaker: "Ada", text: text, at: start.addingTimeInterval(seconds)))
    }

    /// Commits through `WebhookReceiver.record`, noting each batch's webhook-ids; the first
    /// batch waits until `gate` opens, so that a test can gather the next batch meanwhile.
    final class Committer: Sendable {
        let pool: PostgresPool
        let outbox: Outbox
        let gate: Gate?
        let batches = Mutex<[[String]]>([])

        init(pool: PostgresPool, outbox: Outbox, gate: Gate?) {
            self.pool = pool
            self.outbox = outbox
            self.gate = gate
        }

        func commit(_ webhooks: [ReceivedWebhook]) async throws -> [Result<WebhookReceiver.Outcome, UnknownBot>] {
            let first = batches.withLock { batches in
                batches.append(webhooks.map(\.id))
                return batches.count == 1
            }
            if first, let gate { await gate.wait() }
            let outbox = outbox
            return try await outbox.transaction(pool) { db in
                try WebhookReceiver.record(webhooks, provider: "recall", outbox: outbox, on: db)
            }
        }
    }

    actor Gate {
        private var isOpen = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func wait() async {
            if isOpen { return }
            await withCheckedContinuation { waiting.append($0) }
        }

        func open() {
            isOpen = true
            for continuation in waiting { continuation.resume() }
            waiting = []
        }
    }

    /// Hands `webhooks` over one after another (each waiting in the batcher before the next),
    /// while the first batch is held: they then form the second batch, in this order.
    static func gathered(
        _ webhooks: [ReceivedWebhook], behind opener: ReceivedWebhook, batcher: WebhookBatcher, committer: Committer
    ) async throws -> (opener: WebhookReceiver.Outcome, results: [Result<WebhookReceiver.Outcome, any Error>]) {
        let first = Task { try await batcher.record(opener) }
        while committer.batches.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
        var tasks: [Task<WebhookReceiver.Outcome, any Error>] = []
        for (index, webhook) in webhooks.enumerated() {
            tasks.append(Task { try await batcher.record(webhook) })
            while batcher.waiting < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
        }
        await committer.gate!.open()
        let opened = try await first.value
        var results: [Result<WebhookReceiver.Outcome, any Error>] = []
        for task in tasks { results.append(await task.result) }
        return (opened, results)
    }

    static func count(_ sql: String, in pool: PostgresPool) async throws -> Int {
        try await pool.withConnection { db in try db.queryOne(sql)!.int("n") }
    }

    @Test("many webhooks at once, in any order, a tenth of them twice: each has its effect once, statuses by their time")
    func concurrentWebhooks() async throws {
        try await withBots(10) { pool, outbox in
            let committer = Committer(pool: pool, outbox: outbox, gate: nil)
            let batcher = WebhookBatcher(logger: TestStack.logger, commit: { try await committer.commit($0) })
            let codes = ["joining_call", "in_waiting_room", "in_call_recording", "call_ended", "done"]
            var webhooks: [ReceivedWebhook] = []
            for bot in 0..<10 {
                for (step, code) in codes.enumerated() {
                    webhooks.append(Self.status("s-\(bot)-\(step)", bot: "bot-\(bot)", code, at: Double(step * 10)))
                    webhooks.append(
                        Self.transcript("t-\(bot)-\(step)", bot: "bot-\(bot)", "line \(step)", at: Double(step * 10 + 5)))
                }
            }
            let sends = (webhooks + webhooks.enumerated().filter { $0.offset % 10 == 0 }.map(\.element)).shuffled()
            let outcomes = try await withThrowingTaskGroup(of: WebhookReceiver.Outcome.self) { group in
                for webhook in sends { group.addTask { try await batcher.record(webhook) } }
                return try await group.reduce(into: [WebhookReceiver.Outcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.metricLabel == "duplicate" }.count == sends.count - webhooks.count)
            #expect(outcomes.filter { $0.metricLabel == "published" }.count == webhooks.count)
            #expect(
                try await Self.count("SELECT count(*) AS n FROM gateway.webhook_receipts WHERE outcome <> ''", in: pool) == 100)
            #expect(try await Self.count("SELECT count(*) AS n FROM gateway.outbox", in: pool) == 100)
            #expect(try await Self.count("SELECT count(*) AS n FROM gateway.bot_status_history", in: pool) == 50)
            // Whatever order they came in, every bot ends done, as of done's time.
            #expect(
                try await Self.count(
                    "SELECT count(*) AS n FROM gateway.bots WHERE status = 'done' AND status_at = $1", in: pool,
                    Self.start.addingTimeInterval(40)) == 10)
            #expect(committer.batches.withLock { $0.map(\.count).reduce(0, +) } == sends.count)
        }
    }

    static func count(_ sql: String, in pool: PostgresPool, _ parameter: Date) async throws -> Int {
        try await pool.withConnection { db in try db.queryOne(sql, [parameter])!.int("n") }
    }

    @Test("in one batch: a duplicate has its effect once, a late status is kept but not applied, an unknown bot fails alone")
    func oneBatch() async throws {
        try await withBots(1) { pool, outbox in
            let committer = Committer(pool: pool, outbox: outbox, gate: Gate())
            let batcher = WebhookBatcher(
                settings: WebhookBatcher.Settings(largestBatch: 100, commitsAtOnce: 1), logger: TestStack.logger,
                commit: { try await committer.commit($0) })
            let batch = [
                Self.status("recording", bot: "bot-0", "in_call_recording", at: 30),
                Self.status("waiting", bot: "bot-0", "in_waiting_room", at: 20),  // late
                Self.status("recording", bot: "bot-0", "in_call_recording", at: 30),  // Svix again
                Self.status("stranger", bot: "bot-9", "joining_call", at: 10),
                Self.transcript("words", bot: "bot-0", "hello", at: 31),
            ]
            let (opened, results) = try await Self.gathered(
                batch, behind: Self.status("joining", bot: "bot-0", "joining_call", at: 10), batcher: batcher,
                committer: committer)
            #expect(committer.batches.withLock { $0 } == [["joining"], batch.map(\.id)], "one transaction for the five")
            #expect(opened.metricLabel == "published")
            #expect(
                results.map { (try? $0.get())?.metricLabel ?? "error" } == [
                    "published", "published", "duplicate", "error", "published",
                ])
            guard case .failure(let error) = results[3] else { return }
            #expect((error as? UnknownBot)?.botID == "bot-9")
            let history = try await pool.withConnection { db in
                try db.query("SELECT status, applied FROM gateway.bot_status_history ORDER BY id").map {
                    "\(try $0.string("status"))\(try $0.bool("applied") ? "" : " (kept)")"
                }
            }
            #expect(history == ["joining_call", "in_call_recording", "in_waiting_room (kept)"])
            #expect(
                try await Self.count("SELECT count(*) AS n FROM gateway.bots WHERE status = 'in_call_recording'", in: pool) == 1)
            // The unknown bot's webhook left no receipt: Recall's retry will be applied.
            let receipts = try await pool.withConnection { db in
                try db.query("SELECT webhook_id FROM gateway.webhook_receipts ORDER BY webhook_id").map {
                    try $0.string("webhook_id")
                }
            }
            #expect(receipts == ["joining", "recording", "waiting", "words"])
            let events = try await pool.withConnection { db in
                try db.query("SELECT message_type FROM gateway.outbox ORDER BY position").map { try $0.string("message_type") }
            }
            #expect(events.count == 4)
            #expect(events.last == BotTranscriptReceived.messageType.description)
        }
    }

    @Test("a webhook that cannot be stored fails alone: its batch is committed again without it")
    func failedBatch() async throws {
        try await withBots(1) { pool, outbox in
            let committer = Committer(pool: pool, outbox: outbox, gate: Gate())
            let batcher = WebhookBatcher(
                settings: WebhookBatcher.Settings(largestBatch: 100, commitsAtOnce: 1), logger: TestStack.logger,
                commit: { try await committer.commit($0) })
            // PostgreSQL text holds no NUL: the statement carrying it fails the transaction it is in.
            let unstorable = ReceivedWebhook(
                id: "nul", event: "bot.in_call_recording", body: "{}",
                meaning: .status(
                    botID: "bot-0", metadata: [:], status: .inCallRecording, subCode: "bad\u{0}code",
                    at: Self.start.addingTimeInterval(20)))
            let batch = [
                Self.transcript("before", bot: "bot-0", "one", at: 11), unstorable,
                Self.transcript("after", bot: "bot-0", "two", at: 12),
            ]
            let (_, results) = try await Self.gathered(
                batch, behind: Self.status("joining", bot: "bot-0", "joining_call", at: 10), batcher: batcher,
                committer: committer)
            #expect(results.map { (try? $0.get())?.metricLabel ?? "error" } == ["published", "error", "published"])
            guard case .failure(let error) = results[1] else { return }
            #expect(error is PostgresError, "the database's refusal, not an unknown bot: the provider retries on a 500")
            #expect(
                committer.batches.withLock { $0 } == [
                    ["joining"], ["before", "nul", "after"], ["before"], ["nul"], ["after"],
                ])
            let receipts = try await pool.withConnection { db in
                try db.query("SELECT webhook_id FROM gateway.webhook_receipts ORDER BY webhook_id").map {
                    try $0.string("webhook_id")
                }
            }
            #expect(receipts == ["after", "before", "joining"])
            #expect(try await Self.count("SELECT count(*) AS n FROM gateway.outbox", in: pool) == 3)
        }
    }
}
