import Bus
import Delivery
import Foundation
import Shared
import Store
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

struct Ping: EventPayload {
    static let messageType = MessageType("test.ping", version: 1)
    var text: String
}

/// Records what handlers were called with, across tasks.
final class Calls: Sendable {
    private let calls = Mutex<[String]>([])
    func record(_ call: String) { calls.withLock { $0.append(call) } }
    var all: [String] { calls.withLock { $0 } }
}

/// A throwaway service: its own schema, its own bus prefix, quick retries.
struct DeliveryHarness {
    let broker: AMQPConfiguration
    let pool: PostgresPool
    let schema: String
    let queues: ServiceQueues
    let publisher: Publisher
    let outbox: Outbox

    init(retryDelays: [Duration] = [.milliseconds(100), .milliseconds(200)]) async throws {
        broker = try TestStack.broker()
        pool = PostgresPool(url: try TestStack.databaseURL(), size: 3)
        schema = TestStack.uniqueName("delivery")
        queues = ServiceQueues(prefix: schema, service: "svc", retryDelays: retryDelays)
        publisher = Publisher(configuration: broker, topology: ServiceQueues.eventsTopology(prefix: schema), logger: TestStack.logger)
        outbox = try Outbox(schema: schema)
        try await Migrator.migrate(
            pool, schema: schema,
            migrations: DeliveryMigrations.all + [Migration("0100_effects", "CREATE TABLE {schema}.effects (text text)")],
            logger: TestStack.logger)
    }

    func consumer(maxAttempts: Int = 3, _ configure: (inout EventRoutes) -> Void) throws -> EventConsumer {
        var routes = EventRoutes()
        configure(&routes)
        return try EventConsumer(
            queues: queues, routes: routes, broker: broker, publisher: publisher, pool: pool, outbox: outbox,
            prefetch: 10, maxAttempts: maxAttempts, logger: TestStack.logger)
    }

    /// Runs a consumer until the returned task is cancelled, once its queues exist.
    func start(_ consumer: EventConsumer) async throws -> Task<Void, Never> {
        let running = Task { await consumer.run() }
        try await eventually("the consumer connected") { consumer.isConnected }
        return running
    }

    func envelope(_ text: String, id: UUID = UUID()) -> Envelope<Ping> {
        Envelope(id: id, tenantID: "tenant-a", correlationID: UUID(), payload: Ping(text: text))
    }

    func publish<P>(_ envelope: Envelope<P>) async throws {
        try await publishRaw(MessageCoding.encode(envelope), routingKey: envelope.type.routingKey, id: envelope.id.uuidString)
    }

    func publishRaw(_ body: [UInt8], routingKey: String = "test.ping", id: String = UUID().uuidString) async throws {
        try await publisher.publish(
            OutgoingMessage(exchange: queues.eventsExchange, routingKey: routingKey, body: body, messageID: id))
    }

    func effects() async throws -> [String] {
        let schema = schema
        return try await pool.withConnection { db in
            try db.query("SELECT text FROM \(schema).effects ORDER BY text").map { try $0.string("text") }
        }
    }

    func parkedCount() async throws -> Int {
        let queue = queues.deadLetterQueue
        return try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            return try channel.messageCount(queue: queue)
        }
    }

    func tearDown() async throws {
        await publisher.close()
        let schema = schema
        _ = try await pool.withConnection { try $0.execute("DROP SCHEMA \(schema) CASCADE") }
        let queues = queues
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            for queue in [queues.workQueue, queues.deadLetterQueue, ServiceQueues.unroutedQueue(prefix: queues.prefix)]
                + queues.retryDelays.indices.map({ queues.retryQueue(forRetry: $0 + 1) })
            {
                try channel.deleteQueue(queue)
            }
        }
    }
}


@Suite("Delivery guarantees")
struct DeliveryTests {
    @Test("a message delivered twice has its effect once")
    func duplicateHasEffectOnce() async throws {
        let harness = try await DeliveryHarness()
        let calls = Calls()
        let schema = harness.schema
        let consumer = try harness.consumer { routes in
            routes.on(Ping.self) { envelope, context in
                calls.record(envelope.payload.text)
                _ = try await context.once { db in
                    try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [envelope.payload.text])
                }
            }
        }
        let running = try await harness.start(consumer)
        let duplicated = harness.envelope("once", id: UUID())
        try await harness.publish(duplicated)
        try await harness.publish(duplicated)
        try await harness.publish(harness.envelope("other"))
        try await eventually("three deliveries") { calls.all.count == 3 }
        #expect(try await harness.effects() == ["once", "other"])
        running.cancel()
        await running.value
        try await harness.tearDown()
    }

    @Test("an outbox event is published only once its transaction commits, and never after a rollback")
    func outboxPublishesOnlyCommitted() async throws {
        let harness = try await DeliveryHarness()
        let observer = TestStack.uniqueName("observer")
        let watch = Consumer(
            configuration: harness.broker, queue: observer,
            topology: ServiceQueues.eventsTopology(prefix: harness.schema)
                + Topology(
                    queues: [.quorum(observer)],
                    bindings: [.init(queue: observer, exchange: harness.queues.eventsExchange, routingKey: "test.ping")]),
            logger: TestStack.logger)
        try await eventually("observer bound") { watch.isConnected }
        let observed = MessageCollector(watch.messages)
        let relay = OutboxRelay(
            outbox: harness.outbox, pool: harness.pool, publisher: harness.publisher,
            exchange: harness.queues.eventsExchange, pollInterval: .milliseconds(100), logger: TestStack.logger)
        let running = Task { try? await relay.run() }
        let outbox = harness.outbox

        struct Abandon: Error {}
        let rolledBack = harness.envelope("rolled back")
        await #expect(throws: Abandon.self) {
            try await outbox.transaction(harness.pool) { db in
                try outbox.append(rolledBack, on: db)
                throw Abandon()
            }
        }

        // A slow transaction: its event must not leave before COMMIT.
        let slow = harness.envelope("slow commit")
        let committing = Task {
            try await outbox.transaction(harness.pool) { db in
                try outbox.append(slow, on: db)
                Thread.sleep(forTimeInterval: 1.5)
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(observed.messages.isEmpty, "an event was published before its transaction committed")
        try await committing.value

        let delivered = try await observed.wait(for: 1)
        let envelope = try MessageCoding.decode(Envelope<Ping>.self, from: delivered[0].body)
        #expect(envelope.id == slow.id)
        #expect(envelope.payload.text == "slow commit")
        #expect(delivered[0].messageID == slow.id.uuidString.lowercased())

        // Nothing else arrives: the rolled-back event never existed.
        try await Task.sleep(for: .seconds(1))
        #expect(observed.messages.count == 1, "the rolled-back event was published")
        let schema = harness.schema
        let left = try await harness.pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM \(schema).outbox")!.int("n") }
        #expect(left == 0)

        running.cancel()
        await running.value
        await watch.close()
        try await AdminChannel.run(harness.broker) { channel in
            defer { channel.close() }
            try channel.deleteQueue(observer)
        }
        try await harness.tearDown()
    }

    @Test("a handler that keeps failing is retried, then parked with its error; replay brings it back")
    func failingHandlerIsParkedAndReplayed() async throws {
        let harness = try await DeliveryHarness()
        let calls = Calls()
        let healed = Mutex(false)
        struct Flaky: Error, CustomStringConvertible { var description: String { "the ledger service said no" } }
        let schema = harness.schema
        let consumer = try harness.consumer(maxAttempts: 3) { routes in
            routes.on(Ping.self) { envelope, context in
                calls.record("attempt after \(context.previousFailures) failures")
                guard healed.withLock({ $0 }) else { throw Flaky() }
                _ = try await context.once { db in
                    try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [envelope.payload.text])
                }
            }
        }
        let running = try await harness.start(consumer)
        let doomed = harness.envelope("doomed")
        try await harness.publish(doomed)
        try await eventually("the message parked") { try await harness.parkedCount() == 1 }
        #expect(calls.all == ["attempt after 0 failures", "attempt after 1 failures", "attempt after 2 failures"])

        let parked = try await DeadLetters.list(harness.queues, broker: harness.broker)
        #expect(parked.count == 1)
        #expect(parked.first?.messageID == doomed.id.uuidString)
        #expect(parked.first?.attempts == 3)
        #expect(parked.first?.originalRoutingKey == "test.ping")
        #expect(parked.first?.error.contains("the ledger service said no") == true)
        // Listing gives the messages back when its channel closes; the queue counts them again shortly.
        try await eventually("the listed message back in the queue") { try await harness.parkedCount() == 1 }

        healed.withLock { $0 = true }
        #expect(try await DeadLetters.replay(harness.queues, broker: harness.broker) == 1)
        try await eventually("the replayed message handled") { try await harness.effects() == ["doomed"] }
        #expect(calls.all.last == "attempt after 0 failures", "replay starts with a fresh attempt count")
        #expect(try await harness.parkedCount() == 0)
        running.cancel()
        await running.value
        try await harness.tearDown()
    }

    @Test("malformed messages are parked at once with the reason, and the consumer keeps consuming")
    func malformedIsParkedAtOnce() async throws {
        let harness = try await DeliveryHarness()
        let calls = Calls()
        let consumer = try harness.consumer(maxAttempts: 5) { routes in
            routes.on(Ping.self) { envelope, _ in calls.record(envelope.payload.text) }
        }
        let running = try await harness.start(consumer)
        try await harness.publishRaw(Array("this is not json".utf8), id: "not-json")
        var missingField = try JSONSerialization.jsonObject(with: Data(MessageCoding.encode(harness.envelope("x")))) as! [String: Any]
        missingField["payload"] = ["wrong": true]
        try await harness.publishRaw(Array(try JSONSerialization.data(withJSONObject: missingField)), id: "bad-payload")
        var futureVersion = missingField
        futureVersion["type"] = "test.ping.v2"
        try await harness.publishRaw(Array(try JSONSerialization.data(withJSONObject: futureVersion)), id: "future")
        try await harness.publish(harness.envelope("still consuming"))

        try await eventually("the good message handled") { calls.all == ["still consuming"] }
        try await eventually("three parked") { try await harness.parkedCount() == 3 }
        let parked = try await DeadLetters.list(harness.queues, broker: harness.broker)
        let reasons = Dictionary(uniqueKeysWithValues: parked.map { ($0.messageID ?? "", $0.error) })
        #expect(reasons["not-json"]?.contains("malformed envelope") == true)
        #expect(reasons["bad-payload"]?.contains("missing field payload.text") == true)
        #expect(reasons["future"]?.contains("no handler for test.ping.v2") == true)
        #expect(parked.allSatisfy { $0.attempts <= 1 }, "malformed messages are not retried")
        running.cancel()
        await running.value
        try await harness.tearDown()
    }
}

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("on shutdown a consumer finishes the message in hand, acknowledges it, and loses none of the others")
    func finishesInFlightWork() async throws {
        let harness = try await DeliveryHarness()
        let started = Calls()
        let schema = harness.schema
        let consumer = try harness.consumer { routes in
            routes.on(Ping.self) { envelope, context in
                started.record(envelope.payload.text)
                try await Task.sleep(for: .milliseconds(400))  // slow work, in flight when shutdown begins
                _ = try await context.once { db in
                    try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [envelope.payload.text])
                }
            }
        }
        let group = ServiceGroup(services: [consumer], logger: TestStack.logger)
        let running = Task { try await group.run() }
        try await eventually("the consumer connected") { consumer.isConnected }
        for index in 0..<6 { try await harness.publish(harness.envelope("job \(index)")) }
        try await eventually("the first job started") { !started.all.isEmpty }
        await group.triggerGracefulShutdown()
        try await within(.seconds(20), "the consumer to stop") { try await running.value }

        let done = try await harness.effects()
        #expect(done.contains("job 0"), "the job in hand when shutdown began was finished")
        let queue = harness.queues.workQueue
        let waiting = try await AdminChannel.run(harness.broker) { channel in
            defer { channel.close() }
            return try channel.messageCount(queue: queue)
        }
        // Every job is either done (and acknowledged) or back in the queue: none lost, none twice.
        #expect(done.count + waiting == 6, "done \(done), waiting \(waiting)")
        #expect(Set(done).count == done.count)
        try await harness.tearDown()
    }
}

@Suite("Subscriptions")
struct SubscriptionTests {
    @Test("an event published before its consumer ever started waits in that consumer's queue")
    func eventBeforeConsumerStarts() async throws {
        let broker = try TestStack.broker()
        let prefix = TestStack.uniqueName("subs")
        // Any service's publisher declares every consumer's queue before publishing.
        let publisher = Publisher(
            configuration: broker, topology: ServiceQueues.subscriptionsTopology(prefix: prefix), logger: TestStack.logger)
        let cancelled = Envelope(
            tenantID: "acme", correlationID: UUID(), payload: ClassificationCancelled(meetingID: UUID(), meetingRevision: 1, reason: "test"))
        try await publisher.publish(
            OutgoingMessage(
                exchange: ServiceQueues.eventsExchange(prefix: prefix), routingKey: cancelled.type.routingKey,
                body: try MessageCoding.encode(cancelled), messageID: cancelled.id.uuidString))

        // prep-orchestrator starts only now.
        let queues = ServiceQueues(prefix: prefix, service: "prep-orchestrator")
        let consumer = Consumer(configuration: broker, queue: queues.workQueue, logger: TestStack.logger)
        let received = try await consumer.messages.take(1)
        #expect(try MessageCoding.decode(Envelope<ClassificationCancelled>.self, from: received[0].body).id == cancelled.id)
        await consumer.close()
        await publisher.close()
        let unrouted = try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            let count = try channel.messageCount(queue: ServiceQueues.unroutedQueue(prefix: prefix))
            for service in Subscriptions.byService.keys {
                let queues = ServiceQueues(prefix: prefix, service: service)
                try channel.deleteQueue(queues.workQueue)
                try channel.deleteQueue(queues.deadLetterQueue)
            }
            try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
            return count
        }
        #expect(unrouted == 0)
    }

    @Test("a service whose handlers disagree with Subscriptions refuses to start")
    func mismatchRefusesToStart() async throws {
        let harness = try await DeliveryHarness()
        var routes = EventRoutes()
        routes.on(MeetingClassified.self) { _, _ in }  // prep-orchestrator also consumes two more
        #expect(throws: SubscriptionMismatch.self) {
            try EventConsumer(
                queues: ServiceQueues(prefix: harness.schema, service: "prep-orchestrator"), routes: routes,
                broker: harness.broker, publisher: harness.publisher, pool: harness.pool, outbox: harness.outbox,
                logger: TestStack.logger)
        }
        try await harness.tearDown()
    }
}
