import Foundation
import Synchronization

/// A signed-in operator: the id is the cookie's value, the CSRF token goes in every form.
public struct OperatorSession: Sendable {
    public var id: String
    public var csrfToken: String
    public var expiresAt: Date
}

/// Sessions in memory: a restart signs everyone out, which for a handful of operators is the
/// simplest safe choice (nothing to steal from a table). Time comes from `now`, so that tests
/// can expire a session without waiting.
public final class SessionStore: Sendable {
    private let sessions = Mutex<[String: OperatorSession]>([:])
    private let lifetime: Duration
    private let now: @Sendable () -> Date
    /// Bounds memory if someone signs in in a loop with a stolen token.
    private let capacity = 1000

    public init(lifetime: Duration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.now = now
    }

    public func create() -> OperatorSession {
        let now = now()
        let session = OperatorSession(
            id: randomToken(), csrfToken: randomToken(),
            expiresAt: now.addingTimeInterval(Double(lifetime.components.seconds)))
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresAt > now }
            if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
                sessions[oldest.key] = nil
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session with `id`, if any; an expired one is forgotten.
    public func session(_ id: String?) -> OperatorSession? {
        guard let id else { return nil }
        let now = now()
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expiresAt > now else {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    public func end(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }
}

/// 32 bytes from the system's cryptographic generator, as hex.
func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
}

/// Compares without stopping at the first difference, so that timing does not tell an attacker
/// how much of a guess was right. Only the length can show, and the token's length is no secret.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let left = Array(a.utf8)
    let right = Array(b.utf8)
    var difference = UInt8(left.count == right.count ? 0 : 1)
    for index in 0..<max(left.count, right.count) {
        let x = index < left.count ? left[index] : 0
        let y = index < right.count ? right[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}
