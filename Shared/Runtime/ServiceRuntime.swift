import Bus
import Delivery
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Prometheus
import Resilience
import ServiceLifecycle
import Store
import Telemetry

/// What every service is made of: a database pool with its schema migrated, a confirming
/// publisher, an outbox and its relay, consumers for its queue, and an HTTP server for
/// operations (and, for bot-gateway, webhooks). `run` starts them in a `ServiceGroup` that
/// shuts down gracefully on SIGTERM or SIGINT: consumers stop taking work and finish what they
/// hold, the relay publishes what was committed, connections close.
public struct ServiceRuntime: Sendable {
    public let configuration: CommonConfiguration
    public let logger: Logger
    public let pool: PostgresPool
    public let publisher: Publisher
    public let outbox: Outbox
    public let queues: ServiceQueues
    public let readiness = Readiness()
    let registry: PrometheusCollectorRegistry

    /// Connects, waits for the database (it may start after us), and applies migrations.
    public static func start(
        _ configuration: CommonConfiguration, schema: String, migrations: [Migration], logger: Logger
    ) async throws -> ServiceRuntime {
        let pool = PostgresPool(url: configuration.databaseURL, size: configuration.databasePoolSize)
        try await waitForDatabase(pool, logger: logger)
        try await Migrator.migrate(pool, schema: schema, migrations: DeliveryMigrations.all + migrations, logger: logger)
        // All consumers' queues, not only this service's: see `Subscriptions`.
        let publisher = Publisher(
            configuration: configuration.broker,
            topology: ServiceQueues.subscriptionsTopology(prefix: configuration.busPrefix), name: "publisher",
            logger: logger)
        let runtime = ServiceRuntime(
            configuration: configuration, logger: logger, pool: pool, publisher: publisher,
            outbox: try Outbox(schema: schema),
            queues: ServiceQueues(
                prefix: configuration.busPrefix, service: configuration.service, retryDelays: configuration.retryDelays),
            registry: MetricsBootstrap.registry)
        runtime.readiness.add("database") { await pool.isReachable() }
        runtime.readiness.add("broker") { publisher.isConnected }
        return runtime
    }

    /// Handles `routes` from this service's queue, with `services` (loops, timers, a scheduler)
    /// beside it and the operations server, until shutdown. `http` lets a service add its own
    /// endpoints to that server, and `server` lets it accept more than HTTP/1 requests on it
    /// (WebSocket upgrades). The publisher is closed however the run ends.
    public func run(
        handling routes: EventRoutes, with services: [any Service] = [], server: HTTPServerBuilder = .http1(),
        http: (Router<BasicRequestContext>) -> Void = { _ in }
    ) async throws {
        do {
            let consumers = try (0..<configuration.consumers).map { _ in try consumer(routes) }
            try await runGroup(consumers: consumers, services: services, server: server, http: http)
        } catch {
            await publisher.close()
            throw error
        }
        await publisher.close()
        logger.info("stopped")
    }

    private func consumer(_ routes: EventRoutes) throws -> EventConsumer {
        let consumer = try EventConsumer(
            queues: queues, routes: routes, broker: configuration.broker, publisher: publisher, pool: pool, outbox: outbox,
            prefetch: configuration.prefetch, maxAttempts: configuration.maxAttempts, logger: logger)
        readiness.add("consumer") { consumer.isConnected && !consumer.isPaused }
        return consumer
    }

    private func runGroup(
        consumers: [EventConsumer], services: [any Service], server: HTTPServerBuilder,
        http: (Router<BasicRequestContext>) -> Void
    ) async throws {
        let router = Router()
        if Telemetry.isTracing { router.add(middleware: RequestTracingMiddleware()) }
        OperationsRoutes.add(to: router, readiness: readiness, registry: registry)
        http(router)
        let server = Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: configuration.service),
            logger: logger)
        let relay = OutboxRelay(
            outbox: outbox, pool: pool, publisher: publisher, exchange: queues.eventsExchange, logger: logger)
        // Started in order and shut down in reverse: first readiness turns false, then the
        // consumer stops taking work, then the service's own loops stop, then the relay
        // publishes what they committed, and the HTTP server goes last.
        // The trace exporter, when there is one, first: it stops last and flushes everyone's spans.
        let ordered: [any Service] =
            (TracingBootstrap.service.map { [$0] } ?? []) + [server, relay] + services + consumers
            + [ReadinessOnShutdown(readiness: readiness)]
        var groupConfiguration = ServiceGroupConfiguration(
            services: ordered.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        logger.info(
            "started",
            metadata: ["http": "\(configuration.httpHost):\(configuration.httpPort)", "broker": "\(configuration.broker)"])
        try await ServiceGroup(configuration: groupConfiguration).run()
    }

    private static func waitForDatabase(_ pool: PostgresPool, logger: Logger) async throws {
        let backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        let deadline = ContinuousClock.now + .seconds(120)
        var attempt = 1
        while true {
            do {
                _ = try await pool.withConnection { try $0.execute("SELECT 1") }
                return
            } catch  where ContinuousClock.now < deadline {
                logger.warning("database not reachable yet; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: backoff.delay(forAttempt: attempt))
                attempt += 1
            }
        }
    }
}

/// Turns readiness off as soon as shutdown begins, so that load balancers stop sending work
/// before the service stops accepting it.
struct ReadinessOnShutdown: Service {
    let readiness: Readiness

    func run() async throws {
        try? await gracefulShutdown()
        readiness.markStopping()
    }
}
