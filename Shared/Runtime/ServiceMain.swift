import Foundation
import Logging

/// The entry point every service's `main.swift` calls. Reads the environment once, installs
/// logging and metrics, and turns startup failures into a message and an exit status:
/// 78 (EX_CONFIG) for configuration an operator must fix, 1 for anything else.
public enum ServiceMain {
    public static func run(
        _ service: String, _ body: @Sendable (Environment, Logger) async throws -> Void
    ) async -> Never {
        let environment = Environment()
        let level = Logger.Level(rawValue: environment.string("ATTACHE_LOG_LEVEL", default: "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
        _ = MetricsBootstrap.registry
        let logger = Logger(label: service)
        do {
            try await body(environment, logger)
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
