import Bus
import Delivery
import Foundation
import Logging
import Shared
import Store

// N events of 1 000 bytes through an EventConsumer whose handler writes one row each: first
// with its batch handler (deliveries that arrived together in one transaction), then with the
// single handler only, as the baseline. Each phase runs in a schema and on queues of its own
// and is timed from the first publish until every row is written.

struct Payload: EventPayload {
    static let messageType = MessageType("bench.delivery", version: 1)
    var text: String
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-delivery: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard let count = arguments.first.flatMap({ Int($0) }), count > 0 else { fail("usage: bench-delivery COUNT") }
let environment = ProcessInfo.processInfo.environment
let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
let databaseURL = environment["ATTACHE_DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:5432/attache"
let logger = {
    var logger = Logger(label: "bench-delivery")
    logger.logLevel = .warning
    return logger
}()

func run(batched: Bool) async throws -> Double {
    let schema = "bench_delivery_\(batched ? "batch" : "single")_\(getpid())"
    let queues = ServiceQueues(prefix: schema, service: "bench")
    let pool = PostgresPool(url: databaseURL, size: 4)
    let outbox = try Outbox(schema: schema)
    try await Migrator.migrate(
        pool, schema: schema,
        migrations: DeliveryMigrations.all + [
            Migration("0100_rows", "CREATE TABLE {schema}.rows (id uuid PRIMARY KEY, text text)")
        ],
        logger: logger)
    let publisher = Publisher(configuration: broker, topology: ServiceQueues.eventsTopology(prefix: schema), logger: logger)
    let insert = "INSERT INTO \(schema).rows SELECT * FROM unnest($1::uuid[], $2::text[])"
    var routes = EventRoutes()
    let single: @Sendable (Envelope<Payload>, HandlerContext) async throws -> Void = { envelope, context in
        try await context.once { db in
            var writes = BatchedWrites()
            writes.add(insert, [envelope.id, envelope.payload.text])
            try writes.execute(on: db)
        }
    }
    if batched {
        routes.on(Payload.self, single) { envelopes, context in
            try await context.once { db, fresh in
                var writes = BatchedWrites()
                for envelope in envelopes where fresh.contains(envelope.id) {
                    writes.add(insert, [envelope.id, envelope.payload.text])
                }
                try writes.execute(on: db)
            }
        }
    } else {
        routes.on(Payload.self, single)
    }
    let consumer = try EventConsumer(
        queues: queues, routes: routes, broker: broker, publisher: publisher, pool: pool, outbox: outbox, prefetch: 100,
        logger: logger)
    let consuming = Task { await consumer.run() }
    while !consumer.isConnected { try await Task.sleep(for: .milliseconds(50)) }

    let text = String(repeating: "x", count: 1000 - 150)  // the envelope's other fields make up the rest
    let events = try (0..<count).map { _ in
        let envelope = Envelope(tenantID: "bench", correlationID: UUID(), payload: Payload(text: text))
        return OutgoingMessage(
            exchange: queues.eventsExchange, routingKey: Payload.messageType.routingKey,
            body: try MessageCoding.encode(envelope), messageID: envelope.id.uuidString)
    }
    let started = ContinuousClock.now
    for chunk in stride(from: 0, to: events.count, by: 500) {
        try await publisher.publish(Array(events[chunk..<min(chunk + 500, events.count)]))
    }
    while try await pool.withConnection({ try $0.queryOne("SELECT count(*) AS n FROM \(schema).rows")!.int("n") }) < count {
        try await Task.sleep(for: .milliseconds(20))
    }
    let elapsed = (ContinuousClock.now - started).components
    consuming.cancel()
    await publisher.close()
    _ = try await pool.withConnection { try $0.execute("DROP SCHEMA \(schema) CASCADE") }
    try await AdminChannel.run(broker) { channel in
        defer { channel.close() }
        for queue in [queues.workQueue, queues.deadLetterQueue, ServiceQueues.unroutedQueue(prefix: schema)]
            + queues.retryDelays.indices.map({ queues.retryQueue(forRetry: $0 + 1) })
        {
            try channel.deleteQueue(queue)
        }
    }
    return Double(count) / (Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
}

let batch = try await run(batched: true)
let single = try await run(batched: false)
print("delivery.batch.per_s: \(Int(batch))")
print("delivery.single.per_s: \(Int(single))")
print("delivery.batch_vs_single.ratio: \(String(format: "%.2f", batch / single))")
