import Crypto
import Foundation
import ObjectStore

/// Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
/// `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 under the app's signing secret of
/// `v0:<X-Slack-Request-Timestamp>:<raw body>`. A timestamp more than five minutes from now is
/// refused, so that a captured request cannot be replayed later.
public enum SlackSignature {
    /// How far a request's timestamp may be from now, either way.
    public static let allowedSkew = 300

    /// Accepts a request only if it is signed with `secret` and was signed within
    /// `allowedSkew` seconds of `now`. `body` must be the bytes as received, before any parsing.
    public static func verify(body: [UInt8], timestamp: String?, signature: String?, secret: String, now: Date)
        throws(SlackSignatureError)
    {
        guard let timestamp else { throw .missingTimestamp }
        guard let signature else { throw .missingSignature }
        // Int alone would take a sign too.
        guard timestamp.utf8.allSatisfy(isDigit), let seconds = Int(timestamp) else { throw .malformedTimestamp }
        let skew = Int(now.timeIntervalSince1970.rounded(.down)) - seconds
        guard abs(skew) <= allowedSkew else { throw .staleTimestamp(skew: skew) }
        let prefix = Array("\(version)=".utf8)
        let given = Array(signature.utf8)
        guard given.starts(with: prefix), given.count == prefix.count + 2 * SHA256.byteCount,
            given.dropFirst(prefix.count).allSatisfy({ isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else { throw .malformedSignature }
        let expected = Array(sign(body: body, timestamp: timestamp, secret: secret).utf8)
        // Every byte is compared whatever the first difference, so the time taken tells an
        // attacker nothing about how much of a forged signature is right.
        var difference: UInt8 = 0
        for (a, b) in zip(given, expected) { difference |= a ^ b }
        guard difference == 0 else { throw .signatureMismatch }
    }

    /// The `X-Slack-Signature` value for `body` sent at `timestamp`, as Slack computes it: for
    /// fakes and tests that play Slack.
    public static func sign(body: [UInt8], timestamp: String, secret: String) -> String {
        "\(version)=" + HMAC<SHA256>.authenticationCode(for: signed(body, timestamp), using: key(secret)).lowercaseHex
    }

    private static let version = "v0"

    private static func key(_ secret: String) -> SymmetricKey { SymmetricKey(data: Array(secret.utf8)) }

    private static func signed(_ body: [UInt8], _ timestamp: String) -> [UInt8] {
        Array("\(version):\(timestamp):".utf8) + body
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
