import Bus
import Delivery
import Foundation
import ServiceLifecycle
import Shared
import Store
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

/// A throwaway service: its own schema, its own bus prefix, quick retries. Tests get one from
/// `withDeliveryHarness`, which stops its consumers and removes its schema and queues afterwards.
final class DeliveryHarness: Sendable {
    let broker: AMQPConfiguration
    let pool: PostgresPool
    let schema: String
    let queues: ServiceQueues
    let publisher: Publisher
    let outbox: Outbox
    private let running = Mutex<[Task<Void, Never>]>([])
    private let observers = Mutex<[Consumer]>([])

    init(retryDelays: [Duration] = [.milliseconds(100), .milliseconds(200)], databaseURL: String? = nil) async throws {
        broker = try TestStack.broker()
        pool = PostgresPool(url: try databaseURL ?? TestStack.databaseURL(), size: 3)
        schema = TestStack.uniqueName("delivery")
        queues = ServiceQueues(prefix: schema, service: "svc", retryDelays: retryDelays)
        publisher = Publisher(
            configuration: broker, topology: ServiceQueues.eventsTopology(prefix: schema), logger: TestStack.logger)
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
            prefetch: 10, maxAttempts: maxAttempts, outageCheckInterval: .milliseconds(100), logger: TestStack.logger)
    }

    /// Runs the outbox relay until the test ends.
    func startRelay() async throws {
        let relay = OutboxRelay(
            outbox: outbox, pool: pool, publisher: publisher, exchange: queues.eventsExchange,
            pollInterval: .milliseconds(100), logger: TestStack.logger)
        running.withLock { $0.append(Task { try? await relay.run() }) }
    }

    /// Collects what is published with `routingKey`, from a queue of the test's own.
    func observe(routingKey: String) async throws -> MessageCollector {
        let queue = queues.prefix + ".observer"
        let watch = Consumer(
            configuration: broker, queue: queue,
            topology: ServiceQueues.eventsTopology(prefix: schema)
                + Topology(
                    queues: [.quorum(queue)],
                    bindings: [.init(queue: queue, exchange: queues.eventsExchange, routingKey: routingKey)]),
            logger: TestStack.logger)
        observers.withLock { $0.append(watch) }
        try await eventually("observer bound") { watch.isConnected }
        return MessageCollector(watch.messages)
    }

    /// Runs a consumer until the test ends, once its queues exist.
    func start(_ consumer: EventConsumer) async throws {
        let task = Task { await consumer.run() }
        running.withLock { $0.append(task) }
        try await eventually("the consumer connected") { consumer.isConnected }
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
        for task in running.withLock({ $0 }) {
            task.cancel()
            await task.value
        }
        for observer in observers.withLock({ $0 }) { await observer.close() }
        await publisher.close()
        let schema = schema
        _ = try await pool.withConnection { try $0.execute("DROP SCHEMA \(schema) CASCADE") }
        let queues = queues
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            for queue in [
                queues.workQueue, queues.deadLetterQueue, ServiceQueues.unroutedQueue(prefix: queues.prefix),
                queues.prefix + ".observer",
            ]
                + queues.retryDelays.indices.map({ queues.retryQueue(forRetry: $0 + 1) })
            {
                try channel.deleteQueue(queue)
            }
        }
    }
}

func withDeliveryHarness<T>(
    retryDelays: [Duration] = [.milliseconds(100), .milliseconds(200)], databaseURL: String? = nil,
    _ body: (DeliveryHarness) async throws -> T
) async throws -> T {
    try await using(
        try await DeliveryHarness(retryDelays: retryDelays, databaseURL: databaseURL), tearDown: { try await $0.tearDown() },
        body)
}

@Suite("Delivery guarantees")
struct DeliveryTests {
    @Test("a message delivered twice has its effect once")
    func duplicateHasEffectOnce() async throws {
        try await withDeliveryHarness { harness in
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
            try await harness.start(consumer)
            let duplicated = harness.envelope("once", id: UUID())
            try await harness.publish(duplicated)
            try await harness.publish(duplicated)
            try await harness.publish(harness.envelope("other"))
            try await eventually("three deliveries") { calls.all.count == 3 }
            #expect(try await harness.effects() == ["once", "other"])
        }
    }

    @Test("messages that arrive together go to the batch handler at once, and each has its effect once")
    func batchHandler() async throws {
        try await withBatchingConsumer { harness, batches, _ in
            let twice = harness.envelope("d")
            for envelope in [harness.envelope("b"), harness.envelope("c"), twice, twice, harness.envelope("e")] {
                try await harness.publish(envelope)
            }
            try await batches.release(harness)
            try await eventually("every message handled") { try await harness.effects() == ["a", "b", "c", "d", "e"] }
            #expect(batches.sizes.contains { $0 > 1 }, "batch sizes: \(batches.sizes)")
        }
    }

    @Test("a batch whose handler fails is handled one by one: the bad message is parked, the others take effect")
    func batchFallsBackToOneByOne() async throws {
        try await withBatchingConsumer { harness, batches, calls in
            for text in ["b", "bad", "c"] { try await harness.publish(harness.envelope(text)) }
            try await batches.release(harness)
            try await eventually("the good messages handled") { try await harness.effects() == ["a", "b", "c"] }
            try await eventually("the bad one parked") { try await harness.parkedCount() == 1 }
            #expect(batches.sizes.contains { $0 > 1 }, "batch sizes: \(batches.sizes)")
            #expect(calls.all.filter { $0 == "single bad" }.count == 1)
        }
    }

    @Test(
        "messages whose handlers share a transaction and arrive together commit in one; one that fails is undone alone and handled by itself; each takes effect once, and what waits for the commit runs after it"
    )
    func sharedTransaction() async throws {
        try await withDeliveryHarness { harness in
            let (gate, calls, schema, failures) = (Gate(), Calls(), harness.schema, Calls())
            struct Flaky: Error {}
            let consumer = try harness.consumer { routes in
                routes.on(Ping.self, batching: .sharedTransaction) { envelope, context in
                    let text = envelope.payload.text
                    if text == "a" { try await gate.wait() }
                    let failing = text == "flaky" && !failures.all.contains(text)
                    if failing { failures.record(text) }
                    let transaction = try await context.once { db -> Int in
                        // Written before failing: undoing the failure must undo this too.
                        try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [text])
                        if failing { throw Flaky() }
                        if text == "bad" { throw PermanentFailure("bad ping") }
                        return try db.queryOne("SELECT txid_current() AS id")!.int("id")
                    }
                    if let transaction { calls.record("handled \(text) in \(transaction)") }
                    context.afterCommit { calls.record("after \(text)") }
                }
            }
            try await harness.start(consumer)
            try await harness.publish(harness.envelope("a"))
            try await eventually("a held at the gate") { gate.waiting == 1 }
            let twice = harness.envelope("d")
            for envelope in ["b", "flaky", "c", "bad", "e"].map({ harness.envelope($0) }) + [twice, twice] {
                try await harness.publish(envelope)
            }
            try await Batches.drained(harness)
            gate.open()

            try await eventually("every good message handled") {
                try await harness.effects() == ["a", "b", "c", "d", "e", "flaky"]
            }
            try await eventually("the bad one parked") { try await harness.parkedCount() == 1 }
            let handled = calls.all.filter { $0.hasPrefix("handled ") }
            let transactions = Dictionary(grouping: handled) { $0.split(separator: " ").last! }
            #expect(transactions.values.contains { $0.count > 1 }, "handled together: \(handled)")
            #expect(handled.filter { $0.hasPrefix("handled d ") }.count == 1, "a duplicate takes effect once")
            #expect(
                !transactions.values.contains { $0.contains { $0.hasPrefix("handled flaky ") } && $0.count > 1 },
                "the failed message was handled again by itself")
            // What waits for the commit runs once every handler of the transaction is done.
            for (transaction, members) in transactions where members.count > 1 {
                let texts = members.map { $0.split(separator: " ")[1] }
                let lastHandled = calls.all.lastIndex { $0.hasSuffix(" in \(transaction)") }!
                for text in texts {
                    let after = try #require(calls.all.firstIndex(of: "after \(text)"))
                    #expect(after > lastHandled, "after \(text) ran before its transaction's last handler")
                }
            }
        }
    }

    @Test("an outbox event is published only once its transaction commits, and never after a rollback")
    func outboxPublishesOnlyCommitted() async throws {
        try await withDeliveryHarness { harness in
            let observed = try await harness.observe(routingKey: "test.ping")
            try await harness.startRelay()
            let outbox = harness.outbox
            func published(_ count: Int) async throws -> [UUID] {
                try await observed.wait(for: count).map { try MessageCoding.decode(Envelope<Ping>.self, from: $0.body).id }
            }

            struct Abandon: Error {}
            let rolledBack = harness.envelope("rolled back")
            await #expect(throws: Abandon.self) {
                try await outbox.transaction(harness.pool) { db in
                    try outbox.append(rolledBack, on: db)
                    throw Abandon()
                }
            }

            // A transaction still open while a later one commits: the relay sends the later one
            // and leaves the open one's event until its COMMIT.
            let slow = harness.envelope("slow commit")
            let inserted = Atomic(false)
            let release = DispatchSemaphore(value: 0)
            let committing = Task {
                try await outbox.transaction(harness.pool) { db in
                    try outbox.append(slow, on: db)
                    inserted.store(true, ordering: .relaxed)
                    release.wait()  // on the connection's own queue, not the cooperative pool
                }
            }
            try await eventually("the slow transaction's event written") { inserted.load(ordering: .relaxed) }
            let fast = harness.envelope("fast commit")
            try await outbox.transaction(harness.pool) { db in try outbox.append(fast, on: db) }
            #expect(try await published(1) == [fast.id], "an event was published before its transaction committed")
            release.signal()
            try await committing.value
            #expect(try await published(2) == [fast.id, slow.id])
            #expect(observed.messages[1].messageID == slow.id.uuidString.lowercased())

            // A last event, to know the relay has passed everything before it: the rolled-back
            // event never existed.
            let last = harness.envelope("last")
            try await outbox.transaction(harness.pool) { db in try outbox.append(last, on: db) }
            #expect(try await published(3) == [fast.id, slow.id, last.id], "the rolled-back event was published")
            let schema = harness.schema
            try await eventually("the outbox emptied") {
                try await harness.pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM \(schema).outbox")!.int("n") }
                    == 0
            }
        }
    }

    @Test("a handler that keeps failing is retried, then parked with its error; replay brings it back")
    func failingHandlerIsParkedAndReplayed() async throws {
        try await withDeliveryHarness { harness in
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
            try await harness.start(consumer)
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
        }
    }

    @Test("during a database outage the consumer pauses instead of spending attempts, and parks nothing")
    func databaseOutagePauses() async throws {
        try await TestStack.withChaosDatabase { server in
            try await withDeliveryHarness(databaseURL: server) { harness in
                let attempts = Calls()
                let schema = harness.schema
                let consumer = try harness.consumer(maxAttempts: 2) { routes in
                    routes.on(Ping.self) { envelope, context in
                        attempts.record("\(envelope.payload.text) after \(context.previousFailures) failures")
                        _ = try await context.once { db in
                            try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [envelope.payload.text])
                        }
                    }
                }
                try await harness.start(consumer)
                try await TestStack.chaos("stop-postgresql")
                try await using((), tearDown: { _ in try await TestStack.chaos("start-postgresql") }) { _ in
                    for text in ["one", "two", "three"] { try await harness.publish(harness.envelope(text)) }
                    try await eventually("the consumer paused") { consumer.isPaused }
                    // Without the pause, both attempts (100 and 200 ms apart) would be spent by now.
                    try await Task.sleep(for: .seconds(1))
                    #expect(consumer.isPaused)
                    #expect(try await harness.parkedCount() == 0)
                }
                try await eventually("every message handled once the database is back") {
                    try await harness.effects() == ["one", "three", "two"]
                }
                #expect(!consumer.isPaused)
                #expect(try await harness.parkedCount() == 0)
                #expect(
                    Set(attempts.all).allSatisfy { $0.hasSuffix("after 0 failures") }, "no attempt was counted: \(attempts.all)")
            }
        }
    }

    @Test("malformed messages are parked at once with the reason, and the consumer keeps consuming")
    func malformedIsParkedAtOnce() async throws {
        try await withDeliveryHarness { harness in
            let calls = Calls()
            let consumer = try harness.consumer(maxAttempts: 5) { routes in
                routes.on(Ping.self) { envelope, _ in calls.record(envelope.payload.text) }
            }
            try await harness.start(consumer)
            try await harness.publishRaw(Array("this is not json".utf8), id: "not-json")
            var missingField =
                try JSONSerialization.jsonObject(with: Data(MessageCoding.encode(harness.envelope("x")))) as! [String: Any]
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
        }
    }
}

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("on shutdown a consumer finishes the message in hand, acknowledges it, and loses none of the others")
    func finishesInFlightWork() async throws {
        try await withDeliveryHarness { harness in
            let started = Calls()
            let shutdownBegan = Atomic(false)
            let schema = harness.schema
            let consumer = try harness.consumer { routes in
                routes.on(Ping.self) { envelope, context in
                    started.record(envelope.payload.text)
                    // The first job is still in hand when shutdown begins.
                    while !shutdownBegan.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
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
            shutdownBegan.store(true, ordering: .relaxed)
            try await within("the consumer to stop") { try await running.value }

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
        }
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
        try await using(
            publisher,
            tearDown: { publisher in
                await publisher.close()
                try await AdminChannel.run(broker) { channel in
                    defer { channel.close() }
                    for service in Subscriptions.byService.keys {
                        let queues = ServiceQueues(prefix: prefix, service: service)
                        try channel.deleteQueue(queues.workQueue)
                        try channel.deleteQueue(queues.deadLetterQueue)
                    }
                    try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
                }
            }
        ) { publisher in
            let cancelled = Envelope(
                tenantID: "acme", correlationID: UUID(),
                payload: ClassificationCancelled(meetingID: UUID(), meetingRevision: 1, reason: "test"))
            try await publisher.publish(
                OutgoingMessage(
                    exchange: ServiceQueues.eventsExchange(prefix: prefix), routingKey: cancelled.type.routingKey,
                    body: try MessageCoding.encode(cancelled), messageID: cancelled.id.uuidString))

            // prep-orchestrator starts only now.
            let queues = ServiceQueues(prefix: prefix, service: "prep-orchestrator")
            let consumer = Consumer(configuration: broker, queue: queues.workQueue, logger: TestStack.logger)
            let received = try await using(consumer, tearDown: { await $0.close() }) { try await $0.messages.take(1) }
            #expect(try MessageCoding.decode(Envelope<ClassificationCancelled>.self, from: received[0].body).id == cancelled.id)
            let unrouted = try await AdminChannel.run(broker) { channel in
                defer { channel.close() }
                return try channel.messageCount(queue: ServiceQueues.unroutedQueue(prefix: prefix))
            }
            #expect(unrouted == 0)
        }
    }

    @Test("an event nobody subscribes to waits in the unrouted queue, which keeps only the newest 10 000")
    func unroutedIsBounded() async throws {
        let broker = try TestStack.broker()
        let prefix = TestStack.uniqueName("unrouted")
        let publisher = Publisher(
            configuration: broker, topology: ServiceQueues.eventsTopology(prefix: prefix), logger: TestStack.logger)
        let unrouted = ServiceQueues.unroutedQueue(prefix: prefix)
        try await using(
            publisher,
            tearDown: { publisher in
                await publisher.close()
                try await AdminChannel.run(broker) { channel in
                    defer { channel.close() }
                    try channel.deleteQueue(unrouted)
                }
            }
        ) { publisher in
            let limit = Int(ServiceQueues.unroutedLimits.length)
            let messages = (0..<(limit + 50)).map {
                OutgoingMessage(
                    exchange: ServiceQueues.eventsExchange(prefix: prefix), routingKey: "nobody.listens",
                    body: Array("{}".utf8), messageID: "\($0)")
            }
            for chunk in stride(from: 0, to: messages.count, by: 500) {
                try await publisher.publish(Array(messages[chunk..<min(chunk + 500, messages.count)]))
            }
            let (count, oldest) = try await AdminChannel.run(broker) { channel in
                defer { channel.close() }
                return (try channel.messageCount(queue: unrouted), try channel.get(queue: unrouted)?.messageID)
            }
            #expect(count == limit)
            #expect(oldest == "50", "the oldest 50 were dropped, the newest kept")
        }
    }

    @Test("a service whose handlers disagree with Subscriptions refuses to start")
    func mismatchRefusesToStart() async throws {
        try await withDeliveryHarness { harness in
            var routes = EventRoutes()
            routes.on(MeetingClassified.self) { _, _ in }  // prep-orchestrator also consumes two more
            #expect(throws: SubscriptionMismatch.self) {
                try EventConsumer(
                    queues: ServiceQueues(prefix: harness.schema, service: "prep-orchestrator"), routes: routes,
                    broker: harness.broker, publisher: harness.publisher, pool: harness.pool, outbox: harness.outbox,
                    logger: TestStack.logger)
            }
        }
    }
}

/// The batch handler's calls, and a gate that holds the first message ("a") in its handler so
/// that the next ones pile up and arrive together.
final class Batches: Sendable {
    let gate = Gate()
    private let calls = Mutex<[Int]>([])
    func record(_ size: Int) { calls.withLock { $0.append(size) } }
    var sizes: [Int] { calls.withLock { $0 } }

    /// Lets "a" finish once everything published since is out of the broker's queue (delivered
    /// to the consumer, waiting behind "a").
    func release(_ harness: DeliveryHarness) async throws {
        try await Self.drained(harness)
        gate.open()
    }

    /// Waits until the broker has handed every published message to the consumer.
    static func drained(_ harness: DeliveryHarness) async throws {
        let queue = harness.queues.workQueue
        let broker = harness.broker
        try await eventually("the messages delivered to the consumer") {
            try await AdminChannel.run(broker) { channel in
                defer { channel.close() }
                return try channel.messageCount(queue: queue)
            } == 0
        }
    }
}

/// A consumer of pings with a batch handler, already holding "a" at its gate: a batch is
/// refused whole if it holds "bad", which the one-by-one handler parks.
private func withBatchingConsumer(_ body: (DeliveryHarness, Batches, Calls) async throws -> Void) async throws {
    try await withDeliveryHarness { harness in
        let (batches, calls, schema) = (Batches(), Calls(), harness.schema)
        struct Refused: Error {}
        let consumer = try harness.consumer { routes in
            routes.on(
                Ping.self,
                { envelope, context in
                    calls.record("single \(envelope.payload.text)")
                    if envelope.payload.text == "a" { try await batches.gate.wait() }
                    if envelope.payload.text == "bad" { throw PermanentFailure("bad ping") }
                    _ = try await context.once { db in
                        try db.execute("INSERT INTO \(schema).effects VALUES ($1)", [envelope.payload.text])
                    }
                },
                batched: { envelopes, context in
                    batches.record(envelopes.count)
                    if envelopes.contains(where: { $0.payload.text == "bad" }) { throw Refused() }
                    _ = try await context.once { db, fresh in
                        var writes = BatchedWrites()
                        for envelope in envelopes where fresh.contains(envelope.id) {
                            writes.add(
                                "INSERT INTO \(schema).effects SELECT * FROM unnest($1::text[])", [envelope.payload.text])
                        }
                        try writes.execute(on: db)
                    }
                })
        }
        try await harness.start(consumer)
        try await harness.publish(harness.envelope("a"))
        try await eventually("a held at the gate") { batches.gate.waiting == 1 }
        try await body(harness, batches, calls)
    }
}
