import Foundation
import Mail
import Runtime

/// An e-mail to the owner over SMTP: plain text and HTML (escaped as the materials are), the
/// delivery's id as its Message-ID, and a `List-Unsubscribe` link (one click, RFC 8058) that
/// records the owner's wish in `prep.opt_outs`. A 5xx reply (no such mailbox) moves the chain on;
/// a 4xx or an unreachable server is tried again with the step's backoff.
struct EmailChannel: OwnerChannel {
    let client: SMTPClient
    let from: MailAddress
    let unsubscribe: EmailUnsubscribe
    var clock: @Sendable () -> Date = { Date() }
    var name: String { "email" }

    struct Unsubscribed: Error, CustomStringConvertible {
        var address: String
        var since: Date
        var description: String { "\(address) unsubscribed from e-mail on \(since.formatted(.iso8601)); not e-mailed" }
    }

    func deliver(_ message: OwnerMessage) async throws -> String? {
        if let since = try await unsubscribe.optedOut(message.recipient, tenant: message.tenant) {
            throw Unsubscribed(address: message.recipient, since: since)
        }
        let id = (message.deliveryID ?? UUID()).uuidString.lowercased()
        let mail = MailMessage(
            from: from, to: [MailAddress(message.recipient)], subject: message.headline, textBody: Self.text(message),
            htmlBody: Self.html(message), messageID: "<\(id)@attache>",
            listUnsubscribe: [unsubscribe.link(for: message.recipient, tenant: message.tenant)], date: clock())
        do {
            try await client.send(mail)
        } catch let error as SMTPError where !error.isPermanent {
            throw DeferredDelivery(description: "\(error)")
        }
        return nil
    }

    static func text(_ message: OwnerMessage) -> String {
        message.text + "\n\n-- \nFrom Attaché, your meeting assistant. To stop these e-mails, use the unsubscribe link."
    }

    static func html(_ message: OwnerMessage) -> String {
        let e = HTMLEscaping.escape
        var body = "<p><strong>\(e(message.headline))</strong></p>\n"
        if !message.lines.isEmpty { body += "<p>" + message.lines.map(e).joined(separator: "<br>\n") + "</p>\n" }
        if !message.links.isEmpty {
            body += "<ul>\n" + message.links.map { "<li><a href=\"\(e($0.url))\">\(e($0.label))</a></li>\n" }.joined() + "</ul>\n"
        }
        return "<!doctype html>\n<html><body>\n\(body)</body></html>\n"
    }
}
