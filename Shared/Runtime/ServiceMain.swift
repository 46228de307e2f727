import Foundation
import Logging

/// A service's configuration: its identity (named once, here) and the settings every service
/// shares, read together from the environment at start.
public protocol ServiceConfiguration: Sendable {
    static var identity: ServiceIdentity { get }
    var common: CommonConfiguration { get }
    init(_ environment: Environment) throws(ConfigurationError)
}

/// A service's name (in logs, queues and the HTTP server) and the port it listens on unless
/// ATTACHE_HTTP_PORT says otherwise.
public struct ServiceIdentity: Sendable {
    public var name: String
    public var defaultHTTPPort: Int

    public init(_ name: String, defaultHTTPPort: Int) {
        self.name = name
        self.defaultHTTPPort = defaultHTTPPort
    }
}

extension CommonConfiguration {
    /// The shared settings of the service `C` names.
    public init<C: ServiceConfiguration>(for _: C.Type, _ environment: Environment) throws(ConfigurationError) {
        try self.init(service: C.identity.name, defaultHTTPPort: C.identity.defaultHTTPPort, environment: environment)
    }
}

/// The entry point every service's `main.swift` calls. Reads the configuration once, installs
/// logging at its level, metrics and (when OTEL_* asks for it) the trace exporter, and turns startup failures into a message and an exit
/// status: 78 (EX_CONFIG) for configuration an operator must fix, 1 for anything else.
public enum ServiceMain {
    public static func run<C: ServiceConfiguration>(
        _: C.Type, _ body: @Sendable (C, Logger) async throws -> Void
    ) async -> Never {
        let service = C.identity.name
        let configuration: C
        do {
            configuration = try C(Environment())
        } catch {
            FileHandle.standardError.write(Data("\(service): configuration error: \(error)\n".utf8))
            exit(78)
        }
        let level = configuration.common.logLevel
        LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
        _ = MetricsBootstrap.registry
        let logger = Logger(label: service)
        do {
            try TracingBootstrap.bootstrap(configuration.common.tracing, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("\(service): configuration error: OTEL_* tracing: \(error)\n".utf8))
            exit(78)
        }
        do {
            try await body(configuration, logger)
            exit(0)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(service): configuration error: \(error)\n".utf8))
            exit(78)
        } catch {
            logger.critical("stopped by an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
