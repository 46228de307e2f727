import Foundation
import Mail
import TestSupport
import Testing

/// The SMTP client against the stack's real SMTP server (aiosmtpd: STARTTLS with a self-signed
/// certificate, AUTH after it, `unknown…` recipients refused with 550, `busy…` deferred with 451).
@Suite("SMTP client")
struct SMTPClientTests {
    func client(
        password: String? = nil, caFile: Bool = true, url: String? = nil, envelopeSender: String? = "bounces@attache.test"
    ) throws -> SMTPClient {
        let smtp = try TestStack.smtp()
        return SMTPClient(
            configuration: SMTPConfiguration(
                url: url ?? smtp.url, startTLS: .required, username: smtp.user, password: password ?? smtp.password,
                caFile: caFile ? smtp.caFile : nil, envelopeSender: envelopeSender),
            logger: TestStack.logger)
    }

    @Test(
        "a message sent with STARTTLS, AUTH and the test CA arrives byte for byte in each recipient's Maildir, and reads back whole"
    )
    func deliversWhole() async throws {
        try await withMailboxes(["owner", "assistant"]) { boxes async throws in
            let message = MailFixtures.message(to: boxes.map { MailAddress($0.address) })
            try await client().send(message)

            let rendered = try message.rendered()
            for box in boxes {
                let delivered = try box.delivered()
                try #require(delivered.count == 1)
                let mail = delivered[0]
                #expect(mail.header("Return-Path") == "<bounces@attache.test>")
                #expect(Array(mail.raw.dropFirst(mail.serverPrefixLength)) == rendered)
                #expect(mail.header("Message-ID") == "<prep-7f3c2a9e-notify@attache.local>")
                #expect(
                    mail.header("List-Unsubscribe")
                        == "<mailto:unsubscribe@attache.test?subject=unsubscribe>, <https://attache.test/unsubscribe/7f3c2a9e>")
                #expect(mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
                #expect(decodeEncodedWords(try #require(mail.header("Subject"))) == message.subject)
                #expect(decodeEncodedWords(try #require(mail.header("From"))) == "Attaché <attache@attache.test>")

                let parts = try mail.parts()
                try #require(parts.count == 2)
                #expect(parts[0].contentType == "text/plain; charset=utf-8")
                #expect(parts[1].contentType == "text/html; charset=utf-8")
                #expect(parts[0].text == message.textBody.replacingOccurrences(of: "\n", with: "\r\n"))
                #expect(parts[1].text == message.htmlBody.replacingOccurrences(of: "\n", with: "\r\n"))
                #expect(parts[0].text.contains(MailFixtures.longURL))
            }
        }
    }

    @Test("an unknown recipient fails the whole send with a permanent 550 in the server's words, and nobody gets the message")
    func unknownRecipient() async throws {
        try await withMailboxes(["owner", "unknown"]) { boxes async throws in
            let error = await #expect(throws: SMTPError.self) {
                try await client().send(MailFixtures.message(to: boxes.map { MailAddress($0.address) }))
            }
            #expect(
                error == .rejected(code: 550, reply: "550 5.1.1 <\(boxes[1].address)>: Recipient address rejected: User unknown"))
            #expect(error?.isPermanent == true)
            #expect(try boxes[0].delivered().isEmpty)
        }
    }

    @Test("a busy recipient defers the send with 451, which is not permanent")
    func busyRecipient() async throws {
        try await withMailboxes(["busy"]) { boxes async throws in
            let error = await #expect(throws: SMTPError.self) {
                try await client().send(MailFixtures.message(to: [MailAddress(boxes[0].address)]))
            }
            #expect(error == .deferred(code: 451, reply: "451 4.3.0 Try again later"))
            #expect(error?.isPermanent == false)
        }
    }

    @Test("a wrong password is an authentication failure, and nothing is delivered")
    func wrongPassword() async throws {
        try await withMailboxes(["owner"]) { boxes async throws in
            await #expect(throws: SMTPError.authenticationFailed) {
                try await client(password: "not-the-password").send(MailFixtures.message(to: [MailAddress(boxes[0].address)]))
            }
            #expect(try boxes[0].delivered().isEmpty)
        }
    }

    @Test("without the test CA the server's certificate is not trusted, which is permanent")
    func untrustedCertificate() async throws {
        try await withMailboxes(["owner"]) { boxes async throws in
            let error = await #expect(throws: SMTPError.self) {
                try await client(caFile: false).send(MailFixtures.message(to: [MailAddress(boxes[0].address)]))
            }
            guard case .tlsFailed = error else {
                Issue.record("expected tlsFailed, got \(String(describing: error))")
                return
            }
            #expect(error?.isPermanent == true)
            #expect(try boxes[0].delivered().isEmpty)
        }
    }

    @Test("a port nobody listens on is unreachable, which is not permanent")
    func closedPort() async throws {
        let error = await #expect(throws: SMTPError.self) {
            try await client(url: "smtp://127.0.0.1:1").send(MailFixtures.message(to: [MailAddress("owner@attache.test")]))
        }
        guard case .unreachable = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(error?.isPermanent == false)
    }

    @Test("a line break in the subject, a display name, an address or the envelope sender is refused before connecting")
    func headerInjection() async throws {
        // Nothing listens on port 1: had the client connected, the error would be `unreachable`.
        let client = try client(url: "smtp://127.0.0.1:1")
        var message = MailFixtures.message(to: [MailAddress("owner@attache.test")])
        message.subject = "Prep ready\r\nBcc: everyone@example.com"
        await #expect(throws: MailMessageError.lineBreak(field: "Subject")) { try await client.send(message) }

        message = MailFixtures.message(to: [MailAddress("owner@attache.test", displayName: "Alex\nBcc: x@example.com")])
        await #expect(throws: MailMessageError.lineBreak(field: "To")) { try await client.send(message) }

        message = MailFixtures.message(to: [MailAddress("owner@attache.test\r\nRCPT TO:<x@example.com>")])
        await #expect(throws: MailMessageError.lineBreak(field: "To")) { try await client.send(message) }

        let sender = try self.client(url: "smtp://127.0.0.1:1", envelopeSender: "bounces@attache.test\r\nRSET")
        await #expect(throws: MailMessageError.lineBreak(field: "envelope sender")) {
            try await sender.send(MailFixtures.message(to: [MailAddress("owner@attache.test")]))
        }
    }
}

@Suite("SMTP message rendering")
struct SMTPMessageTests {
    @Test("the same message renders to the same bytes: non-ASCII subject in encoded words, lines within 78 octets, CRLF only")
    func rendersDeterministically() throws {
        let message = MailFixtures.message(to: [
            MailAddress("owner@attache.test", displayName: "Alex Rivera"), MailAddress("assistant@attache.test"),
        ])
        let bytes = try message.rendered()
        #expect(try message.rendered() == bytes)

        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { !$0.contains("\r") && !$0.contains("\n") })
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        #expect(lines.contains("Date: Thu, 21 Nov 2024 06:17:18 +0000"))
        #expect(lines.contains("To: \"Alex Rivera\" <owner@attache.test>, assistant@attache.test"))
        #expect(lines.contains("MIME-Version: 1.0"))
        let subject = try #require(lines.firstIndex { $0.hasPrefix("Subject: ") })
        #expect(lines[subject].hasPrefix("Subject: =?utf-8?B?"))
        #expect(lines[subject + 1].hasPrefix(" =?utf-8?B?"))  // a long subject folds between encoded words

        // The boundary follows the Message-ID, nothing else.
        var later = message
        later.date = message.date.addingTimeInterval(3600)
        let boundary = try #require(lines.first { $0.hasPrefix("Content-Type: multipart/alternative") })
        #expect(String(decoding: try later.rendered(), as: UTF8.self).contains(boundary))
        var other = message
        other.messageID = "<another@attache.local>"
        #expect(!String(decoding: try other.rendered(), as: UTF8.self).contains(boundary))
    }

    @Test("quoted-printable breaks long lines with soft breaks, escapes = and trailing spaces, and decodes back exactly")
    func quotedPrintable() throws {
        let message = MailFixtures.message(to: [MailAddress("owner@attache.test")])
        let mail = DeliveredMail(raw: try message.rendered(), serverPrefixLength: 0)
        let plain = try #require(try mail.parts().first)
        #expect(plain.encoded.contains("=3D"))
        #expect(plain.encoded.contains("=\r\n"))
        #expect(plain.encoded.contains("stay.  =20\r\n"))
        #expect(plain.encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(plain.text == message.textBody.replacingOccurrences(of: "\n", with: "\r\n"))
    }
}

enum MailFixtures {
    static let longURL =
        "https://attache.test/prep/7f3c2a9e-5b1d-4c8e-9a6f-2d4b8c1e0f3a?token=Zm9vYmFyYmF6cXV4&answer=yes&next=%2Fagenda%3Dfull"

    static func message(to recipients: [MailAddress]) -> MailMessage {
        MailMessage(
            from: MailAddress("attache@attache.test", displayName: "Attaché"), to: recipients,
            subject: "Préparez « Weekly staff meeting » : l’ordre du jour et deux questions avant 10 h",
            textBody: [
                "Bonjour Alex,", "",
                "Your prep for “Weekly staff meeting” is ready; open it here: \(longURL) and answer the two questions.",
                ".A line that starts with a dot, and = signs: a=b, 50% = half.", ".", "Trailing spaces stay.   ", "Merci !",
            ].joined(separator: "\n"),
            htmlBody: "<p>Bonjour Alex,</p>\n<p>Your prep is ready: <a href=\"\(longURL)\">open it</a>.</p>\n",
            messageID: "<prep-7f3c2a9e-notify@attache.local>",
            listUnsubscribe: [
                URL(string: "mailto:unsubscribe@attache.test?subject=unsubscribe")!,
                URL(string: "https://attache.test/unsubscribe/7f3c2a9e")!,
            ],
            date: Date(timeIntervalSince1970: 1_732_169_838))
    }
}
