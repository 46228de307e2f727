import Bus
import Delivery
import Foundation
import Logging
import Shared
import Store

/// Publishes `calls` as `call.completed` and waits until the service has stored a verdict for
/// every one.
func benchService(_ calls: [CallCompleted]) async throws {
    let environment = ProcessInfo.processInfo.environment
    guard let databaseURL = environment["ATTACHE_DATABASE_URL"] else { fail("ATTACHE_DATABASE_URL is required") }
    let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
    let prefix = environment["ATTACHE_BUS_PREFIX"] ?? "attache"
    let logger = Logger(label: "bench-monitoring")
    let publisher = Publisher(
        configuration: broker, topology: ServiceQueues.subscriptionsTopology(prefix: prefix), logger: logger)
    let exchange = ServiceQueues.eventsExchange(prefix: prefix)
    let messages = try calls.map { call in
        let envelope = Envelope(tenantID: "default", correlationID: call.meetingID, payload: call)
        return OutgoingMessage(
            exchange: exchange, routingKey: envelope.type.routingKey, body: try MessageCoding.encode(envelope),
            messageID: envelope.id.uuidString, type: envelope.type.description)
    }
    let pool = PostgresPool(url: databaseURL, size: 1)
    func stored() async throws -> Int {
        try await pool.withConnection { db in
            try db.queryOne("SELECT count(*) AS n FROM monitoring.results WHERE analysed_at IS NOT NULL")!.int("n")
        }
    }
    let began = ContinuousClock.now
    for batch in stride(from: 0, to: messages.count, by: 200) {
        try await publisher.publish(Array(messages[batch..<min(batch + 200, messages.count)]))
    }
    let deadline = ContinuousClock.now + .seconds(600)
    while try await stored() < calls.count {
        guard ContinuousClock.now < deadline else { fail("only \(try await stored()) of \(calls.count) verdicts in 10 minutes") }
        try await Task.sleep(for: .milliseconds(50))
    }
    let elapsed = (ContinuousClock.now - began).milliseconds / 1_000
    let results = try await pool.withConnection { db in
        try db.queryOne("SELECT count(*) AS n FROM monitoring.results")!.int("n")
    }
    await publisher.close()
    print("monitoring.service_sessions_per_s: \(Int(Double(calls.count) / elapsed))")
    print("monitoring.service_results: \(results)")
}
