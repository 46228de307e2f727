import Crypto
import Foundation

/// A workspace verification secret (`whsec_` + base64 key), and the Standard Webhooks signature
/// Recall.ai (through Svix) puts on webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">` (https://docs.recall.ai/docs/authenticating-requests-from-recallai).
/// The same scheme as bot-gateway's `WebhookSecret`, public here for other services and fakes.
/// Its description never shows the key.
public struct RecallWebhookSecret: Sendable, CustomStringConvertible {
    private let key: SymmetricKey

    public init?(_ text: String) {
        guard text.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(text.dropFirst(6))), !bytes.isEmpty else {
            return nil
        }
        key = SymmetricKey(data: bytes)
    }

    public var description: String { "whsec_***" }

    public func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        "v1," + Data(HMAC<SHA256>.authenticationCode(for: Self.content(id, timestamp, body), using: key)).base64EncodedString()
    }

    /// Whether one of the space-separated `v1,…` entries (several during a key rotation) signs
    /// this message, and the timestamp is within `tolerance` of `now` (older is a replay).
    /// Compared in constant time.
    public func isValid(
        id: String, timestamp: String, signatures: String, body: [UInt8], now: Date = Date(), tolerance: TimeInterval = 300
    ) -> Bool {
        guard let seconds = Int(timestamp), abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { return false }
        let content = Self.content(id, seconds, body)
        return signatures.split(separator: " ").contains { entry in
            guard entry.hasPrefix("v1,"), let code = Data(base64Encoded: String(entry.dropFirst(3))) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: content, using: key)
        }
    }

    private static func content(_ id: String, _ timestamp: Int, _ body: [UInt8]) -> Data {
        Data("\(id).\(timestamp).".utf8) + Data(body)
    }
}
