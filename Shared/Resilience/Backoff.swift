import Foundation

/// Exponential backoff with full jitter, so that many clients retrying after the same outage do
/// not reconnect in lockstep.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The upper bound of the delay before retry number `attempt` (1 for the first retry).
    public func ceiling(forAttempt attempt: Int) -> Duration {
        let exponent = Double(max(0, attempt - 1))
        let seconds = min(
            initial.secondsValue * pow(multiplier, exponent), maximum.secondsValue)
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// A random delay between half the ceiling and the ceiling: jittered, but never zero.
    public func delay(forAttempt attempt: Int) -> Duration {
        let ceiling = ceiling(forAttempt: attempt).secondsValue
        return .nanoseconds(Int64(Double.random(in: (ceiling / 2)...ceiling) * 1e9))
    }
}

extension Duration {
    public var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
