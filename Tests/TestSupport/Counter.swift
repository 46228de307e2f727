import Synchronization

/// A count that tasks can share, for tests that count what happened concurrently.
public final class Counter: Sendable {
    private let count = Mutex(0)
    public init() {}
    public func increment() { count.withLock { $0 += 1 } }
    /// Counts one more and returns the new count.
    public func incrementing() -> Int {
        count.withLock {
            $0 += 1
            return $0
        }
    }
    public var value: Int { count.withLock { $0 } }
}
