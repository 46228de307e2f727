/// Why Twilio did not take a message, from its error body (`code`, `message`, `more_info`).
public enum TwilioError: Error, CustomStringConvertible, Equatable {
    /// 20003: the account SID and auth token do not authenticate.
    case unauthenticated
    /// 21211 (and 21614): the number cannot receive SMS as written.
    case invalidNumber(String)
    /// 21610: the recipient replied STOP; Twilio will not deliver to them until they reply START.
    case optedOut
    /// 429 after the client's retries.
    case rateLimited(retryAfter: Duration?)
    case other(status: Int, code: Int?, message: String)
    case malformedResponse(String)

    struct Body: Decodable {
        var code: Int?
        var message: String?
    }

    init(status: Int, body: Body?, retryAfter: Duration?) {
        switch (status, body?.code) {
        case (429, _): self = .rateLimited(retryAfter: retryAfter)
        case (_, 20003), (401, _): self = .unauthenticated
        case (_, 21211), (_, 21614): self = .invalidNumber(body?.message ?? "")
        case (_, 21610): self = .optedOut
        default: self = .other(status: status, code: body?.code, message: body?.message ?? "")
        }
    }

    /// Whether sending again later could work (a rate limit, Twilio unavailable); the others need
    /// someone to change something.
    public var isTransient: Bool {
        switch self {
        case .rateLimited: true
        case .other(let status, _, _): status >= 500
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unauthenticated:
            "Twilio refused the credentials (error 20003): check ATTACHE_TWILIO_ACCOUNT_SID and ATTACHE_TWILIO_AUTH_TOKEN"
        case .invalidNumber(let message): "Twilio cannot text this number (error 21211): \(message)"
        case .optedOut: "the recipient replied STOP (error 21610): they are not texted until they reply START"
        case .rateLimited(let after):
            "Twilio is rate limiting (429)" + (after.map { "; it asked to wait \($0.secondsValue) s" } ?? "")
        case .other(let status, let code, let message):
            "Twilio answered \(status)" + (code.map { " with error \($0)" } ?? "") + (message.isEmpty ? "" : ": \(message)")
        case .malformedResponse(let detail): "Twilio's answer could not be read: \(detail)"
        }
    }
}
