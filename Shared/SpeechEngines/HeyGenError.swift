import Foundation

/// What went wrong talking to HeyGen's Streaming API. Descriptions say what to check; they never
/// contain the API key (HeyGen's own messages are cleaned of it too) nor a LiveKit token.
public enum HeyGenError: Error, Equatable, CustomStringConvertible {
    /// HeyGen refused the API key: HTTP 401, or one of its codes for bad credentials.
    case unauthorized(status: Int, code: Int?, message: String)
    /// The account already has as many streaming sessions open as its plan allows.
    case concurrencyLimit(code: Int?, message: String)
    /// The account's streaming credits or quota are used up.
    case quotaExhausted(status: Int, code: Int?, message: String)
    /// HeyGen does not have the session open for this request: it was stopped, or HeyGen closed
    /// it at its duration limit or after its idle timeout.
    case sessionGone(endpoint: String, sessionID: String, code: Int?, message: String)
    /// Any other refusal, with HeyGen's code and message.
    case rejected(endpoint: String, status: Int, code: Int?, message: String)
    /// A success answer without what the endpoint documents.
    case malformedResponse(endpoint: String, detail: String)
    case unreachable(endpoint: String, reason: String)
    /// The avatar session was closed before this request.
    case closed

    /// HeyGen's documented codes for a missing, invalid or expired credential (its Error
    /// Responses table): INVALID_CREDENTIALS, UNAUTHORIZED, ACCESS_TOKEN_EXPIRED, INVALID_ACCESS_TOKEN.
    static let credentialCodes: Set<Int> = [40009, 400112, 401056, 401057]

    /// Classifies a refusal from HeyGen's JSON error body (`{"code": …, "message": …}`, or the
    /// same inside `"error"`). HeyGen does not document a code for the concurrent-session limit,
    /// so that one is told by its message ("Concurrent limit reached, …").
    init(status: Int, body: [UInt8], endpoint: String, sessionID: String?, apiKey: String) {
        let (code, raw) = Self.codeAndMessage(body)
        let message = Self.cleaned(raw ?? "no message", removing: apiKey)
        let lowered = message.lowercased()
        if status == 401 || code.map(Self.credentialCodes.contains) == true {
            self = .unauthorized(status: status, code: code, message: message)
        } else if lowered.contains("concurrent") {
            self = .concurrencyLimit(code: code, message: message)
        } else if status == 402 || lowered.contains("quota") || lowered.contains("credit") {
            self = .quotaExhausted(status: status, code: code, message: message)
        } else if let sessionID, status == 400 || status == 404, lowered.contains("session") {
            self = .sessionGone(endpoint: endpoint, sessionID: sessionID, code: code, message: message)
        } else {
            self = .rejected(endpoint: endpoint, status: status, code: code, message: message)
        }
    }

    public var description: String {
        switch self {
        case let .unauthorized(status, code, message):
            "HeyGen rejected the API key (HTTP \(status)\(Self.detail(code, message))): check that the configured HeyGen "
                + "API key is current and that the account's plan includes the Streaming API"
        case let .concurrencyLimit(code, message):
            "HeyGen refused a new streaming session: the account has as many sessions open as its plan allows"
                + "\(Self.detail(code, message)); stop sessions left open (POST /v1/streaming.stop) or wait for their idle "
                + "timeout, or raise the plan's limit. A session rotation needs one free session for a moment"
        case let .quotaExhausted(status, code, message):
            "HeyGen refused the request (HTTP \(status)\(Self.detail(code, message))): the account's streaming credits "
                + "or quota are used up; add credits or wait for the quota to reset"
        case let .sessionGone(endpoint, sessionID, code, message):
            "HeyGen no longer has session \(sessionID) open for \(endpoint)\(Self.detail(code, message)): it was stopped, "
                + "or HeyGen closed it at its duration limit or after its idle timeout; open a new session"
        case let .rejected(endpoint, status, code, message):
            "HeyGen refused \(endpoint) (HTTP \(status)\(Self.detail(code, message)))"
                + Self.advice(endpoint: endpoint, status: status)
        case let .malformedResponse(endpoint, detail):
            "HeyGen's answer to \(endpoint) could not be read: \(detail)"
        case let .unreachable(endpoint, reason):
            "could not reach HeyGen for \(endpoint): \(reason); check the network and the configured base URL"
        case .closed:
            "the HeyGen avatar session is closed: open a new session for the next call"
        }
    }

    private static func detail(_ code: Int?, _ message: String) -> String {
        (code.map { ", code \($0)" } ?? "") + ": \(message)"
    }

    private static func advice(endpoint: String, status: Int) -> String {
        if status >= 500 { return "; HeyGen had an internal error, try again shortly" }
        if endpoint == HeyGenEndpoint.newSession.rawValue {
            return "; check the avatar ID (it must be an Interactive Avatar), the voice ID and the other session settings"
        }
        return ""
    }

    private static func codeAndMessage(_ body: [UInt8]) -> (Int?, String?) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return (nil, text.isEmpty ? nil : text)
        }
        let fields = object["error"] as? [String: Any] ?? object
        let code = (fields["code"] as? Int) ?? (fields["code"] as? String).flatMap { Int($0) }
        let message = (fields["message"] as? String) ?? (object["error"] as? String)
        return (code, message)
    }

    /// HeyGen's message, short enough for a log line, and without the key should HeyGen echo it.
    static func cleaned(_ message: String, removing apiKey: String) -> String {
        let safe = apiKey.isEmpty ? message : message.replacingOccurrences(of: apiKey, with: "[redacted]")
        return String(safe.prefix(300))
    }
}
