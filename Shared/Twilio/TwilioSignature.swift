import Crypto
import Foundation

/// Twilio's webhook signing (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
/// `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed with the account's auth token, of the
/// full URL Twilio requested (query included) followed by every POST parameter, sorted by name,
/// as name and value with nothing between.
public enum TwilioSignature {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case missing
        case mismatch

        public var description: String {
            switch self {
            case .missing: "no X-Twilio-Signature header"
            case .mismatch: "X-Twilio-Signature does not match the request under the auth token"
            }
        }
    }

    /// Accepts the request only if `signature` is Twilio's for this URL and these parameters.
    public static func verify(url: String, parameters: [(String, String)], signature: String?, authToken: String)
        throws(Failure)
    {
        guard let signature, !signature.isEmpty else { throw .missing }
        let given = Array(signature.utf8)
        let expected = Array(sign(url: url, parameters: parameters, authToken: authToken).utf8)
        // Every byte is compared whatever the first difference: the time taken tells nothing.
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for (a, b) in zip(given, expected) { difference |= a ^ b }
        guard difference == 0 else { throw .mismatch }
    }

    /// The signature Twilio sends with this request: for fakes that play Twilio.
    public static func sign(url: String, parameters: [(String, String)], authToken: String) -> String {
        // Sorted by name, byte for byte, as Twilio's own helpers sort.
        let sorted = parameters.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let signed = url + sorted.map { $0.0 + $0.1 }.joined()
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(code).base64EncodedString()
    }
}
