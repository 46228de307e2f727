import Synchronization

/// A latch that a fake waits at until the test opens it: a test that must see something happen
/// before the fake goes on ("the first delta arrives before the second is sent") holds the fake
/// here instead of betting on how long the machine takes. Once open it stays open.
public final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        /// Waits begun and not yet let through (by the opening or a cancellation).
        var waiting = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var isOpen: Bool { state.withLock { $0.isOpen } }

    /// How many tasks are held at the gate now.
    public var waiting: Int { state.withLock { $0.waiting } }

    public func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open; throws `CancellationError` if the waiting task is
    /// cancelled first (a fake's handler whose client went away).
    public func wait() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            state.waiting += 1
            return state.nextWaiter
        }
        defer { state.withLock { $0.waiting -= 1 } }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if state.isOpen { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
