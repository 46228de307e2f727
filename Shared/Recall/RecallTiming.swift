import Synchronization

/// The clock the client reads and sleeps on: the system's, or a test's that moves only when told.
public struct RecallTiming: Sendable {
    public var now: @Sendable () -> ContinuousClock.Instant
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.now = now
        self.sleep = sleep
    }

    public static let system = RecallTiming(now: { .now }, sleep: { try await Task.sleep(for: $0) })
}

/// At most `limit` acquisitions in any `window` (Recall's create-bot limit is 120 a minute per
/// workspace). A sliding window rather than a token bucket: a bucket of 120 refilling at 2/s lets
/// 240 through in the first minute, which Recall would answer with 429s.
public final class SlidingWindowLimiter: Sendable {
    public let limit: Int
    public let window: Duration
    private let timing: RecallTiming
    /// When each of the last acquisitions happens (some possibly in the future: reserved by a
    /// waiter), oldest first.
    private let slots = Mutex<[ContinuousClock.Instant]>([])

    public init(limit: Int, window: Duration, timing: RecallTiming = .system) {
        precondition(limit > 0 && window > .zero, "a limiter needs a positive limit and window")
        self.limit = limit
        self.window = window
        self.timing = timing
    }

    /// Waits until one more acquisition fits in the window. Waiters are served in the order they
    /// reserved; a cancelled waiter's slot stays spent.
    public func acquire() async throws {
        let now = timing.now()
        let slot = slots.withLock { slots in
            while let first = slots.first, first + window <= now { slots.removeFirst() }
            let slot = slots.count < limit ? now : max(now, slots[slots.count - limit] + window)
            slots.append(slot)
            return slot
        }
        if slot > now { try await timing.sleep(slot - now) }
    }
}
