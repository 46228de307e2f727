import Foundation

/// The built service executables, run as the operator would run them.
public enum ServiceBinaries {
    public static let all = [
        "calendar-monitor", "classifier", "prep-orchestrator", "bot-gateway", "realtime-worker", "monitoring-worker",
    ]

    public static func path(_ name: String) throws -> String {
        let path = try TestStack.variable("ATTACHE_TEST_BIN_DIR") + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestStack.NotStarted(
                variable: "ATTACHE_TEST_BIN_DIR (no executable \(path): run ./scripts/test, which builds it)")
        }
        return path
    }

    public static func logPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).log").path
    }

    /// Starts a service with exactly `environment` (plus PATH and HOME).
    public static func start(_ name: String, environment: [String: String]) throws -> ChildProcess {
        var environment = environment
        let parent = ProcessInfo.processInfo.environment
        environment["PATH"] = parent["PATH"]
        environment["HOME"] = parent["HOME"]
        return try ChildProcess(try path(name), environment: environment, logPath: logPath(name))
    }
}
