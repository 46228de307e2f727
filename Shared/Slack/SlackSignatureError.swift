/// Why a request said to be from Slack was refused. Each reason is told apart, so that a
/// refusal in the logs points at its cause: a proxy dropping headers, a clock off, a replay, a
/// wrong signing secret or a body changed on the way.
public enum SlackSignatureError: Error, CustomStringConvertible, Equatable {
    case missingTimestamp
    case missingSignature
    /// `X-Slack-Request-Timestamp` is not whole Unix seconds.
    case malformedTimestamp
    /// The timestamp is more than the allowed skew from now (`skew` seconds, negative in the future).
    case staleTimestamp(skew: Int)
    /// `X-Slack-Signature` is not `v0=` and 64 lower-case hexadecimal digits.
    case malformedSignature
    /// The signature is not the body's under the signing secret.
    case signatureMismatch

    public var description: String {
        switch self {
        case .missingTimestamp: "the request has no X-Slack-Request-Timestamp header: it is not from Slack, or a proxy dropped it"
        case .missingSignature: "the request has no X-Slack-Signature header: it is not from Slack, or a proxy dropped it"
        case .malformedTimestamp: "X-Slack-Request-Timestamp is not a Unix time in seconds"
        case .staleTimestamp(let skew):
            "the request was signed \(abs(skew)) s \(skew < 0 ? "ahead of" : "before") this server's clock, more than the "
                + "5 minutes allowed: a replay, or this server's clock is wrong"
        case .malformedSignature: "X-Slack-Signature is not v0= followed by 64 lower-case hexadecimal digits"
        case .signatureMismatch:
            "X-Slack-Signature does not match the body: check the signing secret (not the bot token), and that the body "
                + "is checked exactly as received"
        }
    }
}
