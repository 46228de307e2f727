import Bus
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Store
import Telemetry
import Tracing

/// Publishes committed outbox rows in order, with publisher confirms, and deletes them once
/// confirmed. Rows are claimed `FOR UPDATE SKIP LOCKED` inside a transaction that stays open
/// until the broker confirms, so replicas never publish the same row concurrently; if the
/// process dies mid-batch the transaction rolls back and the rows are published again
/// (consumers deduplicate by message id).
public struct OutboxRelay: Service {
    let outbox: Outbox
    let pool: PostgresPool
    let publisher: Publisher
    let exchange: String
    let batchSize: Int
    let pollInterval: Duration
    let logger: Logger
    private let published: Counter
    private let failures: Counter

    public init(
        outbox: Outbox, pool: PostgresPool, publisher: Publisher, exchange: String, batchSize: Int = 200,
        pollInterval: Duration = .milliseconds(500), logger: Logger
    ) {
        self.outbox = outbox
        self.pool = pool
        self.publisher = publisher
        self.exchange = exchange
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.logger = logger
        published = Counter(label: "attache_outbox_published_total", dimensions: [("schema", outbox.schema)])
        failures = Counter(label: "attache_outbox_relay_failures_total", dimensions: [("schema", outbox.schema)])
    }

    public func run() async throws {
        // Other replicas' commits are not signalled here: the poll interval makes sure they are seen.
        await outbox.signal.run(every: pollInterval) { await drain() }
        // Whatever in-flight handlers committed while the service was stopping still goes out.
        await drain()
    }

    /// Publishes until the outbox is empty or publishing fails (the next wake-up retries).
    func drain() async {
        do {
            while try await relayBatch() == batchSize {}
        } catch {
            failures.increment()
            logger.warning("outbox relay failed; will retry", metadata: ["schema": "\(outbox.schema)", "error": "\(error)"])
        }
    }

    /// What some service consumes: any other event lands in the unrouted queue, and is counted.
    private static let subscribedRoutingKeys = Set(Subscriptions.byService.values.joined().map(\.routingKey))

    /// Publishes up to `batchSize` rows; returns how many.
    func relayBatch() async throws -> Int {
        let schema = outbox.schema
        let limit = batchSize
        return try await pool.withSession { session in
            let rows = try await session.run { connection in
                try connection.execute("BEGIN")
                return try connection.query(
                    """
                    SELECT position, message_id, message_type, routing_key, body FROM \(schema).outbox
                    ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED
                    """, [limit])
            }
            do {
                guard !rows.isEmpty else {
                    _ = try await session.run { try $0.execute("COMMIT") }
                    return 0
                }
                let messages = try rows.map { row in
                    OutgoingMessage(
                        exchange: exchange, routingKey: try row.string("routing_key"),
                        body: Array(try row.string("body").utf8), messageID: try row.string("message_id"),
                        type: try row.string("message_type"))
                }
                let spans = Telemetry.isTracing ? messages.map(MessageTracing.startSending) : []
                do {
                    try await publisher.publish(messages)
                    for span in spans { span.end() }
                } catch {
                    for span in spans {
                        MessageTracing.failed(span, error)
                        span.end()
                    }
                    throw error
                }
                let positions = "{" + (try rows.map { try $0.string("position") }).joined(separator: ",") + "}"
                try await session.run { connection in
                    try connection.execute("DELETE FROM \(schema).outbox WHERE position = ANY($1::bigint[])", [positions])
                    try connection.execute("COMMIT")
                }
                published.increment(by: rows.count)
                for message in messages where !Self.subscribedRoutingKeys.contains(message.routingKey) {
                    Counter(label: "attache_unrouted_events_total", dimensions: [("routing_key", message.routingKey)])
                        .increment()
                }
                return rows.count
            } catch {
                _ = try? await session.run { try $0.execute("ROLLBACK") }
                throw error
            }
        }
    }
}
