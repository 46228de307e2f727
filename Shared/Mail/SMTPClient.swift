import CCurl
import Foundation
import HTTPClient
import Logging

public struct SMTPConfiguration: Sendable, CustomStringConvertible {
    /// Whether to upgrade an `smtp://` connection with STARTTLS. `smtps://` is TLS from the
    /// first byte, whatever this says.
    public enum StartTLS: Sendable {
        /// Fail with `SMTPError.tlsUnavailable` if the server does not offer it.
        case required
        /// Use it when offered, send in the clear when not: for a relay on a trusted network.
        case opportunistic
        case off
    }

    /// `smtp://host:587` (STARTTLS) or `smtps://host:465` (implicit TLS). A path names the client
    /// in EHLO (`smtp://host:587/attache.example.com`).
    public var url: String
    public var startTLS: StartTLS
    /// With a username, the client authenticates (AUTH) if the server offers it: after STARTTLS,
    /// or in the clear when `startTLS` allows that and the server does not offer STARTTLS.
    public var username: String?
    public var password: String?
    /// PEM certificates to trust instead of the system's, for a server with a private CA.
    public var caFile: String?
    /// The envelope's MAIL FROM, where bounces go; the message's From address if nil.
    public var envelopeSender: String?
    /// For the whole transfer, connection included.
    public var timeout: Duration

    public init(
        url: String, startTLS: StartTLS = .required, username: String? = nil, password: String? = nil, caFile: String? = nil,
        envelopeSender: String? = nil, timeout: Duration = .seconds(60)
    ) {
        self.url = url
        self.startTLS = startTLS
        self.username = username
        self.password = password
        self.caFile = caFile
        self.envelopeSender = envelopeSender
        self.timeout = timeout
    }

    /// Without the password, so that a configuration can be logged.
    public var description: String {
        "SMTP at \(redactedURL(url)), STARTTLS \(startTLS)" + (username.map { ", as \($0)" } ?? "")
    }
}

/// Sends e-mail to one SMTP server over libcurl: one connection per message, every recipient
/// accepted or nothing sent. It does not retry: a deferred (4xx) or unreachable server is the
/// caller's to retry with backoff, and the message's stable Message-ID makes a resend after a
/// lost reply recognisable as the same message.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let logger: Logger

    public init(configuration: SMTPConfiguration, logger: Logger) {
        Curl.initialize()
        self.configuration = configuration
        self.logger = logger
    }

    /// Renders `message` and sends it to every address in `to`. Throws `MailMessageError` before
    /// connecting if the message cannot be rendered, `SMTPError` if it was not sent. A cancelled
    /// task's send still runs until it ends or times out.
    public func send(_ message: MailMessage) async throws {
        let content = try message.rendered()
        let sender = configuration.envelopeSender ?? message.from.address
        try MailMessage.validate(MailAddress(sender), field: "envelope sender")
        let scheme = URLComponents(string: configuration.url)?.scheme?.lowercased()
        guard scheme == "smtp" || scheme == "smtps" else { throw SMTPError.invalidURL(redactedURL(configuration.url)) }

        let transfer = SMTPTransfer.Input(
            configuration: configuration, sender: sender, recipients: message.to.map(\.address), content: content)
        let started = ContinuousClock.now
        let outcome = await Curl.perform(label: "smtp-transfer") { SMTPTransfer(transfer).run() }
        var metadata: Logger.Metadata = [
            "url": "\(redactedURL(configuration.url))", "message_id": "\(message.messageID)",
            "recipients": "\(message.to.count)", "elapsed": "\(ContinuousClock.now - started)",
        ]
        if case .failure(let error) = outcome { metadata["error"] = "\(error)" }
        logger.debug("smtp", metadata: metadata)
        try outcome.get()
    }
}

/// One libcurl SMTP transfer, used on one thread from start to finish.
private final class SMTPTransfer {
    struct Input: Sendable {
        var configuration: SMTPConfiguration
        var sender: String
        var recipients: [String]
        var content: [UInt8]
    }

    private let input: Input
    private var offset = 0
    /// The server's reply lines, which libcurl hands to the header callback.
    private var replies: [String] = []

    init(_ input: Input) { self.input = input }

    func run() -> Result<Void, SMTPError> {
        guard let handle = curl_easy_init() else { return .failure(.failed("libcurl could not make a handle")) }
        var recipientList: UnsafeMutablePointer<curl_slist>? = nil
        for recipient in input.recipients { recipientList = curl_slist_append(recipientList, "<\(recipient)>") }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // The callbacks, the list and the buffer are used until the handle is cleaned up, which
        // may still talk to the server (QUIT).
        return withExtendedLifetime(self) {
            errorBuffer.withUnsafeMutableBufferPointer { errorBuffer in
                defer {
                    curl_easy_cleanup(handle)
                    curl_slist_free_all(recipientList)
                }
                configure(handle, recipients: recipientList, errorBuffer: errorBuffer.baseAddress)
                let code = curl_easy_perform(handle)
                guard code != CURLE_OK else { return .success(()) }
                var replyCode = 0
                attache_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &replyCode)
                let detail = String(cString: errorBuffer.baseAddress!)
                let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
                return .failure(SMTPError(curl: code, replyCode: replyCode, reply: reply(coded: replyCode), message: message))
            }
        }
    }

    private func configure(
        _ handle: UnsafeMutableRawPointer, recipients: UnsafeMutablePointer<curl_slist>?,
        errorBuffer: UnsafeMutablePointer<CChar>?
    ) {
        let configuration = input.configuration
        let timeout = configuration.timeout.components
        let milliseconds = Int(timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000)
        attache_curl_set_string(handle, CURLOPT_URL, configuration.url)
        attache_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        attache_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
        attache_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 10_000))
        let tls =
            switch configuration.startTLS {
            case .required: CURLUSESSL_ALL
            case .opportunistic: CURLUSESSL_TRY
            case .off: CURLUSESSL_NONE
            }
        attache_curl_set_long(handle, CURLOPT_USE_SSL, Int(tls.rawValue))
        if let username = configuration.username { attache_curl_set_string(handle, CURLOPT_USERNAME, username) }
        if let password = configuration.password { attache_curl_set_string(handle, CURLOPT_PASSWORD, password) }
        if let caFile = configuration.caFile { attache_curl_set_string(handle, CURLOPT_CAINFO, caFile) }
        attache_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(input.sender)>")
        attache_curl_set_list(handle, CURLOPT_MAIL_RCPT, recipients)
        // One refused recipient fails the whole send, rather than the others getting it alone.
        attache_curl_set_mail_rcpt_allowfails(handle, 0)
        attache_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        attache_curl_set_long(handle, CURLOPT_UPLOAD, 1)
        attache_curl_set_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(input.content.count))

        let context = Unmanaged.passUnretained(self).toOpaque()
        attache_curl_set_callback(handle, CURLOPT_READFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<SMTPTransfer>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
        }
        attache_curl_set_pointer(handle, CURLOPT_READDATA, context)
        attache_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
            Unmanaged<SMTPTransfer>.fromOpaque(context).takeUnretainedValue().replies.append(
                line.trimmingCharacters(in: .whitespacesAndNewlines))
            return size * count
        }
        attache_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
    }

    private func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, input.content.count - offset)
        input.content.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }

    /// The server's own words for the reply libcurl reports, e.g. "550 5.1.1 <…>: … User unknown".
    private func reply(coded code: Int) -> String? {
        guard code > 0 else { return nil }
        return replies.last { $0.hasPrefix("\(code) ") || $0.hasPrefix("\(code)-") || $0 == "\(code)" }
    }
}
