import Synchronization

/// A token bucket: on average `rate` acquisitions per second, in bursts of up to `burst`.
/// Waiters are served in the order they reserve, each sleeping until its token is due.
public final class RateLimiter: Sendable {
    private struct State {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    public let rate: Double
    public let burst: Double
    private let state: Mutex<State>

    public init(perSecond rate: Double, burst: Int) {
        precondition(rate > 0 && burst > 0, "a rate limiter needs a positive rate and burst")
        self.rate = rate
        self.burst = Double(burst)
        state = Mutex(State(tokens: Double(burst), updated: .now))
    }

    /// Takes a token, waiting until one is available.
    public func acquire() async throws {
        let wait = reserve()
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// Takes a token now, possibly going into debt, and returns how long to wait until the
    /// debt is paid: reserving first keeps waiters in order without a queue.
    func reserve(now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in
            let elapsed = max(0, (now - state.updated).secondsValue)
            state.tokens = min(burst, state.tokens + elapsed * rate)
            state.updated = now
            state.tokens -= 1
            return state.tokens >= 0 ? .zero : .nanoseconds(Int64(-state.tokens / rate * 1e9))
        }
    }
}
