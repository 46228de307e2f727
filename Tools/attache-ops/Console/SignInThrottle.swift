import Foundation
import Hummingbird
import Synchronization

/// The console's request context: Hummingbird's basic one plus the client's address, which the
/// sign-in throttle counts failures by.
public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address; behind a reverse proxy, the proxy's.
    public let clientAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Slows down guessing the operator token: after `limit` wrong tokens from one address within
/// `window`, every sign-in from that address (even with the right token, so that a guess cannot
/// be confirmed) is answered 429 until the oldest of those failures is older than the window.
/// A successful sign-in forgets the address's failures. Time comes from `now`, so that tests
/// can pass the window without waiting.
public final class SignInThrottle: Sendable {
    public static let defaultLimit = 10
    public static let defaultWindow: TimeInterval = 60

    private let failures = Mutex<[String: [Date]]>([:])
    private let limit: Int
    private let window: TimeInterval
    private let now: @Sendable () -> Date
    /// Bounds memory when failures come from very many addresses: the stalest are dropped.
    private let capacity = 10_000

    public init(
        limit: Int = SignInThrottle.defaultLimit, window: TimeInterval = SignInThrottle.defaultWindow,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.limit = limit
        self.window = window
        self.now = now
    }

    /// nil when `address` may try to sign in; otherwise the whole seconds until it may.
    public func retryAfter(_ address: String) -> Int? {
        let now = now()
        return failures.withLock { failures in
            let recent = (failures[address] ?? []).filter { now.timeIntervalSince($0) < window }
            failures[address] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
        }
    }

    public func failed(_ address: String) {
        let now = now()
        let window = window
        failures.withLock { failures in
            if failures[address] == nil, failures.count >= capacity {
                failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
                if failures.count >= capacity,
                    let stalest = failures.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })
                {
                    failures[stalest.key] = nil
                }
            }
            failures[address, default: []].append(now)
        }
    }

    public func succeeded(_ address: String) { _ = failures.withLock { $0.removeValue(forKey: address) } }
}
