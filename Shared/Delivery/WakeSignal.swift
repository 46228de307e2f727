import ServiceLifecycle
import Synchronization

/// "There may be work": many signals between two runs coalesce into one. A loop driven by it
/// runs at each signal and at least every `interval`, which covers work this process was not
/// told about (another replica's commit, a timer coming due).
public final class WakeSignal: Sendable {
    private let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let pending = Atomic(false)

    public init() {
        (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() {
        pending.store(true, ordering: .releasing)
        continuation.yield()
    }

    /// Whether a signal came since the last call (or since `body` last started): for a run that
    /// is still busy with earlier work and wants to know whether to look for more.
    public func takePending() -> Bool {
        pending.exchange(false, ordering: .acquiringAndReleasing)
    }

    /// Runs `body` at every wake-up until graceful shutdown or cancellation. One consumer only.
    public func run(every interval: Duration, _ body: () async -> Void) async {
        let ticker = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                wake()
            }
        }
        defer { ticker.cancel() }
        for await _ in signals.cancelOnGracefulShutdown() {
            _ = takePending()
            await body()
        }
    }
}
