import CCurl
import Dispatch

/// What every libcurl client in the package shares (HTTPClient here, SMTPClient in Mail).
package enum Curl {
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Before the first easy handle: `curl_global_init` is not thread-safe, and a lazy static
    /// runs it exactly once.
    package static func initialize() { _ = globalInit }

    /// Runs a blocking transfer on a serial dispatch queue of its own: serial queues get a thread
    /// of their own when all are busy, where a concurrent queue would share (and starve) the
    /// threads Swift's concurrency runs on.
    package static func perform<Outcome: Sendable>(label: String, _ transfer: @escaping @Sendable () -> Outcome) async
        -> Outcome
    {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: label).async { continuation.resume(returning: transfer()) }
        }
    }
}
