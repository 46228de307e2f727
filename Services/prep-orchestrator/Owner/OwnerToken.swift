import Crypto
import Foundation
import ObjectStore

/// The owner's task token: 32 random bytes, sent in the prep link and kept only as its SHA-256.
enum OwnerToken {
    static func make() -> (token: String, hash: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // base64url without padding, by byte rather than through NSString replacements.
        let token = String(
            decoding: Data(bytes).base64EncodedString().utf8.compactMap { byte -> UInt8? in
                switch byte {
                case UInt8(ascii: "+"): UInt8(ascii: "-")
                case UInt8(ascii: "/"): UInt8(ascii: "_")
                case UInt8(ascii: "="): nil
                default: byte
                }
            }, as: UTF8.self)
        return (token, hash(token))
    }

    /// The token in a prep request's link (`…/prep/{token}`).
    static func token(in message: OwnerMessage) -> String? {
        guard message.kind == .prepRequest, let url = message.links.first?.url, let range = url.range(of: "/prep/") else {
            return nil
        }
        return String(url[range.upperBound...])
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).lowercaseHex
    }
}
