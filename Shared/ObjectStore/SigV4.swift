import Crypto
import Foundation

/// AWS Signature Version 4 for S3 (and S3-compatible stores): signed headers for requests,
/// and presigned URLs for GETs that anyone holding the URL may make until it expires.
struct SigV4: Sendable {
    let accessKey: String
    let secretKey: String
    let region: String
    var service = "s3"

    static let algorithm = "AWS4-HMAC-SHA256"
    static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers that sign `method url` with `body`: `x-amz-date`, `x-amz-content-sha256` and
    /// `Authorization`.
    func headers(method: String, url: URL, body: [UInt8], at date: Date) -> [(name: String, value: String)] {
        let (amzDate, day) = Self.stamps(date)
        let payloadHash = Self.hex(SHA256.hash(data: body))
        let signed: [(String, String)] = [
            ("host", Self.host(url)), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate),
        ]
        let signedNames = signed.map(\.0).joined(separator: ";")
        let canonical = [
            method, Self.canonicalPath(url), Self.canonicalQuery(url),
            signed.map { "\($0.0):\($0.1)\n" }.joined(), signedNames, payloadHash,
        ].joined(separator: "\n")
        let signature = sign(canonical, amzDate: amzDate, day: day)
        return [
            ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
            (
                "Authorization",
                "\(Self.algorithm) Credential=\(accessKey)/\(scope(day)), SignedHeaders=\(signedNames), Signature=\(signature)"
            ),
        ]
    }

    /// `url` with the query that lets a GET through until `expires` after `date`.
    func presignedGET(_ url: URL, at date: Date, expires: Duration) -> URL {
        let (amzDate, day) = Self.stamps(date)
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        let query: [(String, String)] = [
            ("X-Amz-Algorithm", Self.algorithm), ("X-Amz-Credential", "\(accessKey)/\(scope(day))"), ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(Int(expires.components.seconds))), ("X-Amz-SignedHeaders", "host"),
        ]
        components.percentEncodedQuery = query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let unsigned = components.url!
        let canonical = [
            "GET", Self.canonicalPath(unsigned), Self.canonicalQuery(unsigned), "host:\(Self.host(unsigned))\n", "host",
            Self.unsignedPayload,
        ].joined(separator: "\n")
        components.percentEncodedQuery! += "&X-Amz-Signature=\(sign(canonical, amzDate: amzDate, day: day))"
        return components.url!
    }

    private func scope(_ day: String) -> String { "\(day)/\(region)/\(service)/aws4_request" }

    private func sign(_ canonicalRequest: String, amzDate: String, day: String) -> String {
        let toSign = [Self.algorithm, amzDate, scope(day), Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
    }

    static func stamps(_ date: Date) -> (amzDate: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d%02d%02d", parts.year!, parts.month!, parts.day!)
        return (day + String(format: "T%02d%02d%02dZ", parts.hour!, parts.minute!, parts.second!), day)
    }

    static func host(_ url: URL) -> String {
        let host = url.host ?? ""
        guard let port = url.port, !(url.scheme == "http" && port == 80), !(url.scheme == "https" && port == 443) else {
            return host
        }
        return "\(host):\(port)"
    }

    /// Each path segment encoded as S3 expects; an empty path is `/`.
    static func canonicalPath(_ url: URL) -> String {
        let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? ""
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { encode($0.removingPercentEncoding ?? String($0)) }.joined(separator: "/")
    }

    static func canonicalQuery(_ url: URL) -> String {
        guard let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQueryItems else { return "" }
        let pairs: [(name: String, value: String)] = items.map { item in
            (encode(item.name.removingPercentEncoding ?? item.name), encode(item.value?.removingPercentEncoding ?? ""))
        }
        let sorted = pairs.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// RFC 3986: everything but unreserved characters percent-encoded, in upper-case hex.
    static func encode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.append(Character(UnicodeScalar(byte)))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.lowercaseHex
    }
}
