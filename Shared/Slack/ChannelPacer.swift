import Resilience
import Synchronization

/// A rate limiter per channel, made when a channel is first written to: Slack allows about one
/// message a second in a channel (chat.postMessage's special tier), and holding messages back
/// here is cheaper than having them refused with 429. One channel's waits never hold up
/// another's. Limiters are kept for the life of the pacer: the channels are the owners' direct
/// messages, a bounded set.
final class ChannelPacer: Sendable {
    private let rate: Double
    private let burst: Int
    private let limiters = Mutex<[String: RateLimiter]>([:])

    init(perSecond rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    /// Waits until `channel` may take another message. Cancelling the waiting task ends the
    /// wait with `CancellationError`.
    func pace(_ channel: String) async throws {
        let limiter = limiters.withLock { limiters in
            if let limiter = limiters[channel] { return limiter }
            let limiter = RateLimiter(perSecond: rate, burst: burst)
            limiters[channel] = limiter
            return limiter
        }
        try await limiter.acquire()
    }
}
