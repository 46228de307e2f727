import Foundation

/// An address, with the name a mail program shows beside it.
public struct MailAddress: Sendable, Hashable {
    public var address: String
    public var displayName: String?

    public init(_ address: String, displayName: String? = nil) {
        self.address = address
        self.displayName = displayName
    }
}

/// One e-mail, as a plain-text and an HTML version of the same content.
public struct MailMessage: Sendable {
    public var from: MailAddress
    /// One or more; every one of them is also an envelope recipient.
    public var to: [MailAddress]
    public var subject: String
    public var textBody: String
    public var htmlBody: String
    /// `<unique@domain>`, chosen by the caller and the same on every try of one send: a message
    /// that went through although its reply was lost, then sent again, is recognisably one.
    public var messageID: String
    /// `mailto:` and `https:` URLs for the `List-Unsubscribe` header (RFC 2369); an `https:` one
    /// also announces one-click unsubscription (RFC 8058).
    public var listUnsubscribe: [URL]
    public var date: Date

    public init(
        from: MailAddress, to: [MailAddress], subject: String, textBody: String, htmlBody: String, messageID: String,
        listUnsubscribe: [URL] = [], date: Date
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.messageID = messageID
        self.listUnsubscribe = listUnsubscribe
        self.date = date
    }

    /// The message as RFC 5322 bytes with CRLF line endings, ready for SMTP's DATA: a
    /// `multipart/alternative` of the two bodies, each UTF-8 in quoted-printable. The same message
    /// always renders to the same bytes.
    public func rendered() throws -> [UInt8] {
        let messageID = try validatedMessageID()
        try Self.validate(from, field: "From")
        guard !to.isEmpty else { throw MailMessageError.noRecipients }
        for recipient in to { try Self.validate(recipient, field: "To") }
        try MIME.rejectLineBreaks(subject, field: "Subject")
        let unsubscribe = try listUnsubscribe.map { url in
            let text = url.absoluteString
            try MIME.rejectLineBreaks(text, field: "List-Unsubscribe")
            guard !text.contains(where: { $0 == "<" || $0 == ">" || $0 == "," || $0.isWhitespace }) else {
                throw MailMessageError.invalidUnsubscribeURL(text)
            }
            return text
        }

        // "=_" never occurs in quoted-printable text, so no body line can look like the boundary.
        let boundary = "=_attache_" + MIME.hexHash(messageID)
        var lines = [
            MIME.field("Date", [MIME.rfc5322Date(date)]),
            MIME.field("From", MIME.mailboxTokens(from)),
            MIME.field("To", MIME.commaSeparated(to.map(MIME.mailboxTokens))),
            MIME.field("Subject", MIME.unstructuredTokens(subject)),
            MIME.field("Message-ID", [messageID]),
        ]
        if !unsubscribe.isEmpty {
            lines.append(MIME.field("List-Unsubscribe", MIME.commaSeparated(unsubscribe.map { ["<\($0)>"] })))
            if listUnsubscribe.contains(where: { $0.scheme?.lowercased() == "https" }) {
                lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
            }
        }
        lines += ["MIME-Version: 1.0", "Content-Type: multipart/alternative; boundary=\"\(boundary)\"", ""]
        for (type, body) in [("text/plain", textBody), ("text/html", htmlBody)] {
            lines += [
                "--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
                MIME.quotedPrintable(body),
            ]
        }
        lines.append("--\(boundary)--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    private func validatedMessageID() throws -> String {
        try MIME.rejectLineBreaks(messageID, field: "Message-ID")
        let bare = messageID.hasPrefix("<") && messageID.hasSuffix(">") ? String(messageID.dropFirst().dropLast()) : messageID
        let parts = bare.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty }), bare.unicodeScalars.allSatisfy(MIME.isAddressScalar)
        else { throw MailMessageError.invalidMessageID(messageID) }
        return "<\(bare)>"
    }

    /// The address as SMTP and RFC 5322 take it without quoting: ASCII, one `@`, none of the
    /// characters that delimit addresses in a header.
    static func validate(_ mailbox: MailAddress, field: String) throws {
        try MIME.rejectLineBreaks(mailbox.address, field: field)
        if let name = mailbox.displayName { try MIME.rejectLineBreaks(name, field: field) }
        let parts = mailbox.address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty }), mailbox.address.unicodeScalars.allSatisfy(MIME.isAddressScalar)
        else { throw MailMessageError.invalidAddress(mailbox.address) }
    }
}

/// Why a message cannot be rendered; found before any connection is made.
public enum MailMessageError: Error, CustomStringConvertible, Equatable {
    /// A CR or LF in a header's value would end the header and start one of the sender's
    /// choosing (header injection).
    case lineBreak(field: String)
    case invalidAddress(String)
    case noRecipients
    case invalidMessageID(String)
    case invalidUnsubscribeURL(String)

    public var description: String {
        switch self {
        case .lineBreak(let field): "a line break in the \(field) field is refused: it would start another header"
        case .invalidAddress(let address):
            "“\(address)” is not an address this client sends to (ASCII local@domain, without spaces, quotes or brackets)"
        case .noRecipients: "a message needs at least one recipient"
        case .invalidMessageID(let id): "“\(id)” is not a Message-ID: it takes the form <unique@domain>"
        case .invalidUnsubscribeURL(let url): "“\(url)” cannot stand in List-Unsubscribe (spaces, commas or brackets)"
        }
    }
}
