import Synchronization

/// When the next token is due: `firstToken` after the start, then `idle` after each token.
final class TokenDeadline: Sendable {
    private struct State {
        var due: ContinuousClock.Instant
        var allowed: Duration
    }
    private let state: Mutex<State>
    private let idle: Duration

    init(firstToken: Duration, idle: Duration) {
        state = Mutex(State(due: .now + firstToken, allowed: firstToken))
        self.idle = idle
    }

    func tokenArrived() {
        state.withLock { $0 = State(due: .now + idle, allowed: idle) }
    }

    /// Returns the allowance that ran out, once the deadline passes with no token; throws
    /// `CancellationError` if cancelled first.
    func expiry() async throws -> Duration {
        while true {
            let (due, allowed) = state.withLock { ($0.due, $0.allowed) }
            if ContinuousClock.now >= due { return allowed }
            // A token arriving while this sleeps moves the deadline to `idle` after it, which
            // may come before `due`: waking within `idle` of now never misses it (and a tiny
            // `idle` must not make this spin).
            try await Task.sleep(until: min(due, .now + max(idle, .milliseconds(5))), clock: .continuous)
        }
    }
}
