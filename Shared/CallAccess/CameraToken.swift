import Crypto
import Foundation

/// A camera webpage's credential for one call: the bot's browser gets it inside the camera URL,
/// and the realtime worker lets only its bearer load the page, learn where the call lives and
/// open the call's media connection. It is an HMAC-SHA256, under a key the minting and the
/// checking services share, of the meeting id and an expiry; the token carries the expiry and
/// the MAC (base64url, no padding), so nothing needs storing to check it.
public struct CameraToken: Sendable {
    /// Tokens made with the shortest key the services accept, and anything longer.
    public static let minimumKeyBytes = 32

    /// The key given in configuration (base64 of at least `minimumKeyBytes` random bytes), or
    /// nil when it is not one.
    public static func key(base64: String) -> SymmetricKey? {
        guard let bytes = Data(base64Encoded: base64), bytes.count >= minimumKeyBytes else { return nil }
        return SymmetricKey(data: bytes)
    }

    /// A token that `verify` accepts for `meeting` until `expiresAt`.
    public static func mint(meeting: UUID, expiresAt: Date, key: SymmetricKey) -> String {
        let expiry = UInt64(max(0, expiresAt.timeIntervalSince1970.rounded(.down)))
        let mac = HMAC<SHA256>.authenticationCode(for: signed(meeting: meeting, expiry: expiry), using: key)
        return base64URL(bigEndianBytes(expiry) + Array(mac))
    }

    /// Accepts `token` only if it was minted with `key` for `meeting` and has not expired at `now`.
    public static func verify(_ token: String?, meeting: UUID, now: Date, key: SymmetricKey) throws(CameraTokenError) {
        guard let token, !token.isEmpty else { throw .missing }
        // Only the one spelling `mint` makes: base64 leaves spare bits in the last character,
        // which would otherwise give every token a few accepted variants.
        guard let bytes = bytes(base64URL: token), bytes.count == 8 + SHA256.byteCount, base64URL(bytes) == token else {
            throw .malformed
        }
        let expiry = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // Checked before the expiry, so that an expired token says nothing about whether it was ever valid.
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                Data(bytes[8...]), authenticating: signed(meeting: meeting, expiry: expiry), using: key)
        else { throw .invalid }
        guard Double(expiry) > now.timeIntervalSince1970 else { throw .expired }
    }

    /// What the MAC covers: a purpose label (so that the key's MACs for anything else never pass
    /// as camera tokens), the meeting and the expiry.
    private static func signed(meeting: UUID, expiry: UInt64) -> Data {
        Data("attache-camera-v1\n\(meeting.uuidString.lowercased())\n\(expiry)".utf8)
    }

    private static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - $0))) }
    }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private static func bytes(base64URL text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}

/// Why a camera token was refused. The page is told only 401 or 403, never which of these.
public enum CameraTokenError: Error, Equatable, CustomStringConvertible {
    /// No token at all.
    case missing
    /// Not a token's shape (not base64url, wrong length).
    case malformed
    /// Not minted with this key for this meeting (a different meeting, tampered, another key).
    case invalid
    /// Genuine, but past its expiry.
    case expired

    public var description: String {
        switch self {
        case .missing: "no camera token (the camera URL's `token` query parameter)"
        case .malformed: "the camera token is not a token (base64url of an expiry and a MAC)"
        case .invalid: "the camera token was not minted for this meeting with this key (ATTACHE_CAMERA_TOKEN_KEY)"
        case .expired: "the camera token has expired (the meeting's planned end plus the grace has passed)"
        }
    }
}
