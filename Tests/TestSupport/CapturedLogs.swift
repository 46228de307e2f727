import Logging
import Synchronization

/// Keeps every log line, to check what code writes to its logs (secrets must not be there).
public final class CapturedLogs: Sendable {
    public let lines = Mutex<[String]>([])

    public init() {}

    /// Everything logged so far, a line per event.
    public var all: String { lines.withLock { $0.joined(separator: "\n") } }

    public var logger: Logger {
        var logger = Logger(label: "captured") { _ in Handler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            logs.lines.withLock { $0.append("\(event.message) \(metadata.merging(event.metadata ?? [:]) { $1 })") }
        }
    }
}
