import Foundation

/// What went wrong talking to ElevenLabs, over the WebSocket or over HTTP. Descriptions say what
/// to check; they never contain the key (ElevenLabs' own messages are cleaned of it too).
public enum ElevenLabsError: Error, Equatable, CustomStringConvertible {
    /// The WebSocket upgrade was refused; `status` is the HTTP status ElevenLabs gives these credentials.
    case handshakeRefused(status: Int?)
    case unreachable(baseURL: String, reason: String)
    /// ElevenLabs ended the stream with an error (message) or a close code before the audio was complete.
    case rejected(code: Int?, reason: String, error: String?)
    case connectionLost(String)
    /// HTTP 401 for the key itself (invalid, revoked, or without text-to-speech permission).
    case unauthorized(code: String?, message: String)
    case quotaExceeded(message: String)
    /// HTTP 429 because the account has as many requests in progress as its plan allows.
    case tooManyConcurrentRequests(message: String)
    /// HTTP 429 for the request rate, or ElevenLabs being busy.
    case rateLimited(code: String?, message: String)
    /// Any other refusal of an HTTP request, with ElevenLabs' code and message.
    case refused(status: Int, code: String?, message: String)
    /// A success answer whose body is not what the endpoint documents.
    case malformedStream(String)

    /// The setting that holds the key, named so that whoever reads the error knows what to change.
    static let apiKeySetting = "ATTACHE_ELEVENLABS_API_KEY"

    init(_ ending: WebSocketConnection.Ending, serverError: ElevenLabsMessages.ServerError?) {
        switch ending {
        case let .closed(code, reason):
            // After an error message, a 1000 is the server answering our own close: not news.
            let code = serverError != nil && code == 1000 ? nil : code
            self = .rejected(code: code, reason: serverError?.message ?? reason, error: serverError?.error)
        case let .dropped(reason):
            if let serverError {
                self = .rejected(code: nil, reason: serverError.message, error: serverError.error)
            } else {
                self = .connectionLost(reason)
            }
        }
    }

    /// Classifies a refusal of an HTTP request from its status and ElevenLabs' error body,
    /// `{"detail": {"code" (or the legacy "status"): …, "message": …}}`, or for a 422 the list
    /// of validation errors (`{"detail": [{"loc": […], "msg": …}]}`).
    init(status: Int, body: [UInt8], apiKey: String) {
        let (code, raw) = Self.codeAndMessage(body)
        let safe = apiKey.isEmpty ? raw : raw.replacingOccurrences(of: apiKey, with: "[API key]")
        let message = String(safe.prefix(300))
        switch (status, code) {
        case (_, "quota_exceeded"?): self = .quotaExceeded(message: message)
        case (401, _): self = .unauthorized(code: code, message: message)
        case (429, "concurrent_limit_exceeded"?), (429, "too_many_concurrent_requests"?):
            self = .tooManyConcurrentRequests(message: message)
        case (429, _): self = .rateLimited(code: code, message: message)
        default: self = .refused(status: status, code: code, message: message)
        }
    }

    public var description: String {
        switch self {
        case .handshakeRefused(status: 401?):
            "ElevenLabs rejected the API key (HTTP 401): check that the configured xi-api-key is current"
        case let .handshakeRefused(status: status?):
            "ElevenLabs refused the WebSocket upgrade (HTTP \(status)): check the voice ID, the model ID and the output format"
        case .handshakeRefused(status: nil):
            "ElevenLabs refused the WebSocket upgrade and did not say why: check the API key, the voice ID and the base URL"
        case let .unreachable(baseURL, reason):
            "could not reach ElevenLabs at \(baseURL): \(reason); check the network and the base URL"
        case let .rejected(code, reason, error):
            "ElevenLabs ended the synthesis" + (code.map { " with close code \($0)" } ?? "") + ": \(reason)"
                + (error.map { " [\($0)]" } ?? "") + Self.advice(code: code, reason: reason + " " + (error ?? ""))
        case let .connectionLost(reason):
            "the connection to ElevenLabs was lost before the audio was complete: \(reason)"
        case let .unauthorized(code, message):
            "ElevenLabs rejected the API key (HTTP 401\(Self.detail(code, message))): set \(Self.apiKeySetting) to a current "
                + "ElevenLabs API key that is allowed to use text to speech"
        case let .quotaExceeded(message):
            "ElevenLabs refused the synthesis: the account's character quota is used up (\(message)); "
                + "upgrade the plan, allow usage-based billing, or wait for the quota to reset"
        case let .tooManyConcurrentRequests(message):
            "ElevenLabs refused the synthesis (HTTP 429: \(message)): the account already has as many requests in progress as "
                + "its plan allows; fewer calls at once, or a plan with more concurrency, makes room"
        case let .rateLimited(code, message):
            "ElevenLabs is rate limiting this account or is busy (HTTP 429\(Self.detail(code, message))); "
                + "it passes by itself: if it lasts, lower the request rate or ask ElevenLabs about the account's limits"
        case let .refused(status, code, message):
            "ElevenLabs refused the synthesis (HTTP \(status)\(Self.detail(code, message)))" + Self.advice(status: status)
        case let .malformedStream(detail):
            "ElevenLabs' audio stream could not be read: \(detail); check that the base URL points at ElevenLabs' API"
        }
    }

    private static func advice(code: Int?, reason: String) -> String {
        let reason = reason.lowercased()
        if reason.contains("api key") || reason.contains("api_key") || reason.contains("unauthorized") {
            return "; check that the configured xi-api-key is current"
        }
        if reason.contains("quota") || reason.contains("credits") {
            return "; the account's character quota is used up: upgrade the plan or wait for the quota to reset"
        }
        if code == 1008 { return "; ElevenLabs closes with 1008 for a bad key, an exhausted quota or a malformed message" }
        return ""
    }

    private static func advice(status: Int) -> String {
        if status >= 500 { return "; ElevenLabs had an internal error, try again shortly" }
        if [400, 404, 422].contains(status) {
            return "; check the voice ID (ATTACHE_ELEVENLABS_VOICE_ID), the model ID and the voice settings"
        }
        return ""
    }

    private static func detail(_ code: String?, _ message: String) -> String {
        (code.map { ", \($0)" } ?? "") + ": \(message)"
    }

    private static func codeAndMessage(_ body: [UInt8]) -> (code: String?, message: String) {
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return (nil, text.isEmpty ? "no message" : text)
        }
        switch object["detail"] {
        case let detail as [String: Any]:
            let code = (detail["code"] as? String) ?? (detail["status"] as? String)
            return (code, (detail["message"] as? String) ?? text)
        case let errors as [[String: Any]]:
            let messages = errors.map { error in
                let location = (error["loc"] as? [Any])?.map { "\($0)" }.joined(separator: ".")
                return (location.map { "\($0): " } ?? "") + ((error["msg"] as? String) ?? "invalid")
            }
            return ("validation_error", messages.joined(separator: "; "))
        case let message as String:
            return (nil, message)
        default:
            return (nil, text.isEmpty ? "no message" : text)
        }
    }
}
