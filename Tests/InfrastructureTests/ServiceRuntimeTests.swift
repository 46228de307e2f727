import Bus
import Delivery
import Foundation
import Runtime
import ServiceLifecycle
import Shared
import Store
import TestSupport
import Testing

/// A service of the tests' own, on the test servers, with a schema and bus prefix no other test uses.
private struct ProbeConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("runtime-probe", defaultHTTPPort: 0)
    var common: CommonConfiguration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
    }
}

/// Starts a runtime for `body` and removes its schema and queues afterwards, whatever happens.
private func withRuntime<T>(_ body: (ServiceRuntime) async throws -> T) async throws -> T {
    let prefix = TestStack.uniqueName("runtime")
    let configuration = try ProbeConfiguration(
        Environment([
            "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"),
            "ATTACHE_DATABASE_URL": try TestStack.databaseURL(), "ATTACHE_BUS_PREFIX": prefix,
            "ATTACHE_HTTP_PORT": "0",
        ]))
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: prefix, migrations: [], logger: TestStack.logger)
    return try await using(
        runtime,
        tearDown: { runtime in
            await runtime.publisher.close()
            _ = try await runtime.pool.withConnection { try $0.execute("DROP SCHEMA \(prefix) CASCADE") }
            try await AdminChannel.run(configuration.common.broker) { channel in
                defer { channel.close() }
                for service in Subscriptions.byService.keys.sorted() + [ProbeConfiguration.identity.name] {
                    let queues = ServiceQueues(prefix: prefix, service: service, retryDelays: configuration.common.retryDelays)
                    for queue in [queues.workQueue, queues.deadLetterQueue]
                        + queues.retryDelays.indices.map({ queues.retryQueue(forRetry: $0 + 1) })
                    {
                        try channel.deleteQueue(queue)
                    }
                }
                try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
            }
        }, body)
}

private struct RuntimePing: EventPayload {
    static let messageType = MessageType("test.runtime-ping", version: 1)
    var text: String
}

/// Runs a service's `ServiceRuntime.run` as a service of an outer group, so that a test can
/// shut it down gracefully as SIGTERM would.
private struct RuntimeRun: Service {
    let runtime: ServiceRuntime
    let routes: EventRoutes
    let services: [any Service]

    func run() async throws { try await runtime.run(handling: routes, with: services) }
}

@Suite("Service runtime")
struct ServiceRuntimeTests {
    struct Broken: Error {}

    struct FailsAtOnce: Service {
        func run() async throws { throw Broken() }
    }

    @Test("a service that fails ends the run with its error, and the publisher is closed")
    func failureClosesThePublisher() async throws {
        try await withRuntime { runtime in
            var routes = EventRoutes()
            routes.on(RuntimePing.self) { _, _ in }
            await #expect(throws: Broken.self) { try await runtime.run(handling: routes, with: [FailsAtOnce()]) }
            let message = OutgoingMessage(
                exchange: runtime.queues.eventsExchange, routingKey: "test.runtime-ping", body: [], messageID: "after")
            await #expect(throws: BusError.closed) { try await runtime.publisher.publish(message) }
        }
    }

    /// A service's own loop that, asked to stop, commits one last event (as a scheduler finishing
    /// its sync would).
    struct LastWords: Service {
        let runtime: ServiceRuntime

        func run() async throws {
            try? await gracefulShutdown()
            let outbox = runtime.outbox
            let last = Envelope(tenantID: "acme", correlationID: UUID(), payload: RuntimePing(text: "last words"))
            try await outbox.transaction(runtime.pool) { db in try outbox.append(last, on: db) }
        }
    }

    @Test("on shutdown the consumer stops before the service's own loops, and the relay publishes what they commit last")
    func shutdownOrder() async throws {
        try await withRuntime { runtime in
            let handled = Counter()
            var routes = EventRoutes()
            routes.on(RuntimePing.self) { _, _ in handled.increment() }
            let group = ServiceGroup(
                services: [RuntimeRun(runtime: runtime, routes: routes, services: [LastWords(runtime: runtime)])],
                logger: TestStack.logger)
            let running = Task { try await group.run() }
            try await eventually("the runtime ready") { await runtime.readiness.failing().isEmpty }
            await group.triggerGracefulShutdown()
            try await within("the runtime to stop") { try await running.value }

            // Published by the relay after the loop stopped, and not consumed: the consumer had stopped first.
            let queue = runtime.queues.workQueue
            try await eventually("the last event in the queue") {
                try await AdminChannel.run(runtime.configuration.broker) { channel in
                    defer { channel.close() }
                    return try channel.messageCount(queue: queue) == 1
                }
            }
            #expect(handled.value == 0)
        }
    }
}
