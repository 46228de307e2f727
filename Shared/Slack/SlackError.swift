/// Why a Slack Web API call failed, in terms an operator can act on. No case holds the token, so
/// every description may be logged.
public enum SlackError: Error, CustomStringConvertible, Equatable {
    /// The token was refused: `invalid_auth`, `not_authed`, `account_inactive`, `token_revoked`
    /// (`error` says which).
    case invalidAuth(method: String, error: String)
    /// No user with this e-mail address (or user ID) that the app can see.
    case userNotFound(String)
    /// No channel with this ID that the app can see.
    case channelNotFound(String)
    /// HTTP 429 (or `ratelimited`) still after the HTTP client's retries, or with a wait longer
    /// than it would make; `retryAfter` is the wait Slack asked for, if it said.
    case rateLimited(method: String, retryAfter: Duration?)
    /// The app was not granted a scope the method needs.
    case missingScope(method: String, needed: String?)
    /// Any other `ok: false` answer; `error` is Slack's code (such as `not_in_channel`).
    case other(method: String, error: String)
    /// An HTTP status other than 2xx or 429.
    case unexpectedStatus(method: String, status: Int)
    /// A 2xx answer that is not the Web API's JSON.
    case malformedResponse(method: String, detail: String)

    /// The error for an `ok: false` answer with Slack's `error` code; `subject` is what the call
    /// was about (the e-mail address, user or channel), for the cases that name it.
    init(method: String, error: String, needed: String?, subject: String) {
        switch error {
        case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired":
            self = .invalidAuth(method: method, error: error)
        case "users_not_found", "user_not_found": self = .userNotFound(subject)
        case "channel_not_found": self = .channelNotFound(subject)
        case "ratelimited": self = .rateLimited(method: method, retryAfter: nil)
        case "missing_scope": self = .missingScope(method: method, needed: needed)
        default: self = .other(method: method, error: error)
        }
    }

    public var description: String {
        switch self {
        case let .invalidAuth(method, error):
            "Slack refused the bot token on \(method) (\(error)): set the workspace's current bot token (xoxb-…), "
                + "and reinstall the Slack app if it was removed or its token revoked"
        case .userNotFound(let who):
            "Slack has no user \(who) that the app can see: check that the person uses this address in the workspace "
                + "(looking users up by e-mail needs the users:read.email scope)"
        case .channelNotFound(let channel):
            "Slack has no channel \(channel) that the app can see: use a channel ID (C…, or D… from conversations.open), "
                + "and invite the app to a private channel"
        case let .rateLimited(method, retryAfter):
            "Slack rate-limited \(method)\(retryAfter.map { " and asked to wait \($0.components.seconds) s" } ?? ""): "
                + "send it again later, and fewer messages at once"
        case let .missingScope(method, needed):
            "the Slack app lacks the scope \(needed ?? "(not named)") that \(method) needs: add it under "
                + "OAuth & Permissions and reinstall the app"
        case let .other(method, error):
            "Slack \(method) failed: \(error) (see the method's errors in Slack's Web API reference)"
        case let .unexpectedStatus(method, status):
            "Slack answered \(method) with HTTP \(status): try again later, and check the API base URL if it lasts"
        case let .malformedResponse(method, detail):
            "Slack's answer to \(method) is not the Web API's JSON (\(detail)): check the API base URL"
        }
    }
}
