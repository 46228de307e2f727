import Bus
import Foundation
import Logging

/// Settings every service reads. Service-specific settings live in each service's own
/// configuration struct, which embeds this one.
public struct CommonConfiguration: Sendable {
    public var service: String
    public var broker: AMQPConfiguration
    public var databaseURL: String
    public var databasePoolSize: Int
    /// Prefix of every exchange and queue name, so that several stacks can share a broker.
    public var busPrefix: String
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var prefetch: UInt16
    /// Consumers of the service's queue in this process, each handling one message at a time:
    /// more than one lets a replica work through a burst side by side (the handlers keep their
    /// guarantees with competing consumers, as across replicas).
    public var consumers: Int
    public var maxAttempts: Int
    public var retryDelays: [Duration]
    public var shutdownTimeout: Duration
    /// Span export, from the standard OTEL_* variables: off unless they ask for it.
    public var tracing: TracingConfiguration

    init(service: String, defaultHTTPPort: Int, environment env: Environment) throws(ConfigurationError) {
        self.service = service
        let heartbeat = try env.integer("ATTACHE_AMQP_HEARTBEAT_SECONDS", default: 30, in: 0...600)
        do {
            // One URL, or the nodes of a cluster separated by commas (tried in turn).
            broker = try AMQPConfiguration(
                urls: env.string("ATTACHE_AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/"), heartbeatSeconds: heartbeat)
        } catch {
            throw ConfigurationError(setting: "ATTACHE_AMQP_URL", problem: "is invalid: \(error.problem)")
        }
        databaseURL = env.string("ATTACHE_DATABASE_URL", default: "postgresql://postgres@127.0.0.1:5432/attache")
        guard let scheme = URLComponents(string: databaseURL)?.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw ConfigurationError(
                setting: "ATTACHE_DATABASE_URL", problem: "must be a postgresql://user@host:port/database URL")
        }
        databasePoolSize = try env.integer("ATTACHE_DATABASE_POOL_SIZE", default: 4, in: 1...64)
        busPrefix = env.string("ATTACHE_BUS_PREFIX", default: "attache")
        guard busPrefix.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ConfigurationError(setting: "ATTACHE_BUS_PREFIX", problem: "may hold only letters, digits, '-', '_' and '.'")
        }
        httpHost = env.string("ATTACHE_HTTP_HOST", default: "127.0.0.1")
        httpPort = try env.integer("ATTACHE_HTTP_PORT", default: defaultHTTPPort, in: 0...65535)
        let level = env.string("ATTACHE_LOG_LEVEL", default: "info")
        guard let logLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigurationError(
                setting: "ATTACHE_LOG_LEVEL", problem: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        prefetch = UInt16(try env.integer("ATTACHE_PREFETCH", default: 20, in: 1...1000))
        consumers = try env.integer("ATTACHE_CONSUMERS", default: 1, in: 1...32)
        maxAttempts = try env.integer("ATTACHE_MAX_ATTEMPTS", default: 5, in: 1...100)
        retryDelays = try env.milliseconds(
            "ATTACHE_RETRY_DELAYS_MS", default: [.seconds(1), .seconds(5), .seconds(30), .seconds(120)])
        shutdownTimeout = try env.seconds("ATTACHE_SHUTDOWN_TIMEOUT_SECONDS", default: 25, in: 1...600)
        tracing = try TracingConfiguration(service: service, environment: env)
    }
}
