import Foundation

public struct OutboundRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var timeout: Duration

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// A POST of `value` as JSON.
    public static func json<T: Encodable>(
        _ method: String = "POST", url: String, _ value: T, headers: [(name: String, value: String)] = [],
        encoder: JSONEncoder = JSONEncoder()
    ) throws -> OutboundRequest {
        OutboundRequest(
            method: method, url: url, headers: headers + [("Content-Type", "application/json")],
            body: Array(try encoder.encode(value)))
    }

    /// Whether repeating the request cannot duplicate an effect (RFC 9110 §9.2.2).
    var isIdempotent: Bool { ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method.uppercased()) }
}

public struct OutboundResponse: Sendable {
    public var status: Int
    /// Header names in lower case; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// How long the server asked the client to wait (`Retry-After`), if it said.
    public func retryAfter(now: Date = Date()) -> Duration? { HTTPClient.retryAfter(headers["retry-after"], now: now) }
    public var text: String { String(decoding: body, as: UTF8.self) }

    public func decode<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(body))
    }
}

public enum HTTPClientError: Error, CustomStringConvertible {
    case invalidURL(String)
    case transport(url: String, code: Int, message: String)
    case timedOut(url: String, after: Duration)
    case unexpectedStatus(url: String, status: Int, body: String)

    /// The failure's kind, for span attributes (`error.type`).
    public var kind: String {
        switch self {
        case .invalidURL: "invalid_url"
        case .transport(_, let code, _): "curl_\(code)"
        case .timedOut: "timeout"
        case .unexpectedStatus(_, let status, _): String(status)
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let url): "\(url) is not a valid http(s) URL"
        case .transport(let url, let code, let message): "request to \(url) failed: \(message) (curl error \(code))"
        case .timedOut(let url, let after): "request to \(url) timed out after \(after)"
        case .unexpectedStatus(let url, let status, let body): "\(url) answered \(status): \(body)"
        }
    }
}

/// Retries transient failures, waiting as long as `Retry-After` asks when it says: 429 and 503
/// for any request (the server refused it without acting on it); 502, 504, connection errors
/// and timeouts only for idempotent requests (the origin may have acted on a POST).
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maximumDelay: Duration
    /// A `Retry-After` longer than this is not waited for: the error is returned instead.
    public var longestRetryAfter: Duration
    public var retryableStatuses: Set<Int>

    public init(
        maxAttempts: Int = 4, initialDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(10),
        longestRetryAfter: Duration = .seconds(120), retryableStatuses: Set<Int> = [429, 502, 503, 504]
    ) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.longestRetryAfter = longestRetryAfter
        self.retryableStatuses = retryableStatuses
    }

    public static let none = RetryPolicy(maxAttempts: 1)
}

/// A URL fit for logs: scheme, host and port only. Secrets travel in user info, in query
/// strings, and in paths too (a calendar's "secret address" is …/private-<token>/basic.ics).
public func redactedURL(_ url: String) -> String {
    guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
        return "(invalid URL)"
    }
    return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")/…"
}

extension HTTPClient {
    /// Parses `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    public static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Int(value) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSince(now) * 1000)))
    }
}

/// `application/x-www-form-urlencoded`, as the vendors' APIs read it: unreserved ASCII stays,
/// everything else is percent-encoded.
public enum FormEncoding {
    public static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// `name=value&…` in the order given.
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// The fields of a form body in the order sent (`+` is a space); a field without `=` has an
    /// empty value.
    public static func decode(_ body: String) -> [(String, String)] {
        body.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
