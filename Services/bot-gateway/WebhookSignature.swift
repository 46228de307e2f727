import Crypto
import Foundation

/// A webhook signing secret in the Standard Webhooks form (`whsec_` + base64 key), as used by
/// Recall.ai (https://docs.recall.ai/docs/authenticating-requests-from-recallai). Its
/// description never shows the key.
struct WebhookSecret: Sendable, CustomStringConvertible {
    let key: SymmetricKey

    init?(_ text: String) {
        guard text.hasPrefix("whsec_"), let bytes = Data(base64Encoded: String(text.dropFirst(6))), !bytes.isEmpty else {
            return nil
        }
        key = SymmetricKey(data: bytes)
    }

    static func random() -> WebhookSecret {
        WebhookSecret("whsec_" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() })!
    }

    var description: String { "whsec_***" }

    /// The `webhook-signature` value for a message: `v1,` + base64(HMAC-SHA256(id.timestamp.body)).
    func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Self.signedContent(id: id, timestamp: timestamp, body: body), using: key)
        return "v1," + Data(code).base64EncodedString()
    }

    /// Checks the signature headers of a webhook. `signatures` may hold several space-separated
    /// `v1,…` entries (during a secret rotation); one valid entry is enough. Comparison is in
    /// constant time; timestamps further than `tolerance` from now are refused to stop replays.
    func verify(
        id: String?, timestamp: String?, signatures: String?, body: [UInt8], now: Date = Date(),
        tolerance: TimeInterval = 300
    ) throws(WebhookRejection) {
        guard let id, !id.isEmpty, let timestamp, let signatures else { throw .missingHeaders }
        guard let seconds = Int(timestamp) else { throw .badTimestamp }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { throw .staleTimestamp }
        let content = Self.signedContent(id: id, timestamp: seconds, body: body)
        for entry in signatures.split(separator: " ") where entry.hasPrefix("v1,") {
            guard let code = Data(base64Encoded: String(entry.dropFirst(3))) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: content, using: key) { return }
        }
        throw .badSignature
    }

    private static func signedContent(id: String, timestamp: Int, body: [UInt8]) -> Data {
        Data("\(id).\(timestamp).".utf8) + Data(body)
    }
}

enum WebhookRejection: Error, CustomStringConvertible {
    case missingHeaders, badTimestamp, staleTimestamp, badSignature

    var description: String {
        switch self {
        case .missingHeaders: "missing webhook-id, webhook-timestamp or webhook-signature header"
        case .badTimestamp: "webhook-timestamp is not a number of seconds"
        case .staleTimestamp: "webhook-timestamp is more than 5 minutes from now"
        case .badSignature: "no valid signature"
        }
    }
}
