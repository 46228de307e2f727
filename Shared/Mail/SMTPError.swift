import CCurl

/// Why a message was not sent. `isPermanent` splits them: a permanent one needs someone to
/// change the message or the configuration; the others may go through later.
public enum SMTPError: Error, CustomStringConvertible, Equatable {
    /// A 5xx reply (550: no such recipient, 552: too large, 554: refused…): sending the same
    /// message again gets the same answer.
    case rejected(code: Int, reply: String)
    /// A 4xx reply (421, 450, 451, 452…): the server asks to be tried again later.
    case deferred(code: Int, reply: String)
    /// The username and password were refused (535).
    case authenticationFailed
    /// STARTTLS is required and the server did not offer it.
    case tlsUnavailable
    /// The TLS handshake failed, most often because the server's certificate is not trusted.
    case tlsFailed(String)
    /// No connection, or it broke off before the server replied: DNS, refused, reset, timed out.
    case unreachable(String)
    case invalidURL(String)
    /// Anything else libcurl reported, in its words.
    case failed(String)

    public var isPermanent: Bool {
        switch self {
        case .rejected, .authenticationFailed, .tlsUnavailable, .tlsFailed, .invalidURL: true
        case .deferred, .unreachable, .failed: false
        }
    }

    public var description: String {
        switch self {
        case .rejected(let code, let reply):
            "the SMTP server refused the message for good (\(code)): \(reply); sending it again will not help"
        case .deferred(let code, let reply):
            "the SMTP server deferred the message (\(code)): \(reply); sending it again later, with backoff, may work"
        case .authenticationFailed: "the SMTP server refused the username and password (535): check the SMTP credentials"
        case .tlsUnavailable:
            "the SMTP server does not offer STARTTLS, which the configuration requires: use its smtps:// port if it has one"
        case .tlsFailed(let detail):
            "TLS with the SMTP server failed: \(detail); a server with a private CA needs that CA's certificate as the CA file"
        case .unreachable(let detail): "the SMTP server could not be reached: \(detail); try again later"
        case .invalidURL(let url): "\(url) is not an smtp:// or smtps:// URL"
        case .failed(let detail): "sending over SMTP failed: \(detail)"
        }
    }

    /// From how a transfer ended: libcurl's code, the server's last reply code (0 if none) and
    /// text, and libcurl's message.
    init(curl code: CURLcode, replyCode: Int, reply: String?, message: String) {
        switch code {
        case CURLE_LOGIN_DENIED: self = .authenticationFailed
        case CURLE_USE_SSL_FAILED: self = .tlsUnavailable
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM:
            self = .tlsFailed(message)
        case _ where (400..<500).contains(replyCode): self = .deferred(code: replyCode, reply: reply ?? message)
        case _ where (500..<600).contains(replyCode): self = .rejected(code: replyCode, reply: reply ?? message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
            CURLE_GOT_NOTHING:
            self = .unreachable(message)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: self = .invalidURL(message)
        default: self = .failed(message)
        }
    }
}
