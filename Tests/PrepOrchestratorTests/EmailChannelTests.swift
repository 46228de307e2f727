import Crypto
import Foundation
import Hummingbird
import Mail
import Shared
import Store
import TestSupport
import Testing

@testable import PrepOrchestrator

/// E-mail as the owner's channel, over SMTP to the test stack's real server (STARTTLS, AUTH):
/// after an SMS Twilio reports undelivered, and with the server's own refusals.
@Suite("E-mail as the owner's channel")
struct EmailChannelTests {
    /// The owner of `meeting`'s preparation, on the stack's SMTP server, with a phone in a
    /// directory of their own; e-mail through a client of the stack's server.
    struct Owner {
        let mailbox: TestMailbox
        let directory: OwnerDirectory
        let unsubscribe: EmailUnsubscribe

        func email(clock: @escaping @Sendable () -> Date = { Date() }) throws -> EmailChannel {
            let smtp = try TestStack.smtp()
            return EmailChannel(
                client: SMTPClient(
                    configuration: SMTPConfiguration(
                        url: smtp.url, startTLS: .required, username: smtp.user, password: smtp.password, caFile: smtp.caFile),
                    logger: TestStack.logger),
                from: MailAddress("prep@attache.test", displayName: "Attaché"), unsubscribe: unsubscribe, clock: clock)
        }

        func classified() -> MeetingClassified {
            var classified = classification()
            classified.meeting.organizer = Participant(email: mailbox.address, name: "Alex Rivera")
            return classified
        }
    }

    /// A fresh mailbox (`prefix-…@attache.test`), a directory giving it a phone, and unsubscribe
    /// links served by a server of their own on the test's database.
    func withOwner(_ prefix: String = "owner", pool: PostgresPool, _ body: (Owner) async throws -> Void) async throws {
        try await withMailboxes([prefix]) { boxes in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try "owners:\n  - email: \(boxes[0].address)\n    phone: \"+15555550123\"\n".write(
                to: folder.appendingPathComponent("acme.yaml"), atomically: true, encoding: .utf8)
            let key = SymmetricKey(size: .bits256)
            let routes = EmailUnsubscribe(baseURL: "", key: key, pool: pool)
            let server = try await FakeServer { router, _ in routes.register(on: router) }
            defer { server.stop() }
            try await body(
                Owner(
                    mailbox: boxes[0], directory: OwnerDirectory(folder: folder),
                    unsubscribe: EmailUnsubscribe(baseURL: server.url, key: key, pool: pool)))
        }
    }

    @Test("Slack down, the text undelivered: the prep request arrives by e-mail, whole, and its link opens the prep page")
    func undeliveredTextThenEmail() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
            try await withOwner(pool: pool) { owner in
                let chain: [any OwnerChannel] = [
                    SMSChannelTests.Down(), SMSChannelTests.sms(twilio, directory: owner.directory, pool: pool),
                    try owner.email(), LocalChannel(),
                ]
                let prep = try await PrepHarness(pool: pool, channels: chain, directory: owner.directory)
                defer { prep.stop() }
                let classified = owner.classified()
                try await prep.classify(classified)
                try await prep.settle()
                #expect(try owner.mailbox.delivered().isEmpty, "the text went out; no e-mail yet")
                let text = try #require(twilio.sent.first)
                #expect(text.to == "+15555550123")
                try await SMSChannelTests.report("undelivered", errorCode: 30003, for: text, to: prep)
                try await prep.settle()

                let mails = try owner.mailbox.delivered()
                #expect(mails.count == 1)
                let mail = try #require(mails.first)
                #expect(decodeEncodedWords(mail.header("Subject") ?? "").hasPrefix("Time to prepare “Platform staff meeting”"))
                let delivery = try await pool.withConnection { db in try db.queryOne("SELECT id FROM prep.deliveries")?.uuid("id")
                }
                #expect(mail.header("Message-ID") == "<\(try #require(delivery).uuidString.lowercased())@attache>")
                #expect(mail.header("List-Unsubscribe")?.contains("/unsubscribe/email?") == true)
                let parts = try mail.parts()
                #expect(parts.map(\.contentType) == ["text/plain; charset=utf-8", "text/html; charset=utf-8"])
                let plain = parts[0].text.replacingOccurrences(of: "\r\n", with: "\n")
                let link = try #require(PrepHarness.link("Start prep", in: plain))
                #expect(parts[1].text.contains("<a href=\"\(link)\">Start prep</a>"))
                #expect(try await prep.get(link).status == 200, "the link in the e-mail opens the prep page")
                #expect(try await prep.deliveries(of: classified.meeting.meetingID) == ["prep via sms", "prep via email"])
                #expect(twilio.sent.count == 1)
            }
        }
    }

    @Test("an unknown recipient's 550 moves the chain on to the next channel, and the record says why")
    func unknownRecipient() async throws {
        try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
            try await withOwner("unknown", pool: pool) { owner in
                let prep = try await PrepHarness(pool: pool, channels: [try owner.email(), LocalChannel()])
                defer { prep.stop() }
                let classified = owner.classified()
                try await prep.classify(classified)
                try await prep.settle()
                let delivery = try await SMSChannelTests.delivery(prep, of: classified.meeting.meetingID)
                #expect(delivery.channel == "local")
                #expect(
                    delivery.notReached?.hasPrefix("email: the SMTP server refused the message for good (550)") == true,
                    "\(delivery.notReached ?? "")")
                #expect(try owner.mailbox.delivered().isEmpty)
            }
        }
    }

    @Test("a 4xx is tried again by the step's backoff; the last attempt moves on, and nothing was sent twice")
    func deferredThenMovesOn() async throws {
        try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
            try await withOwner("busy", pool: pool) { owner in
                let prep = try await PrepHarness(pool: pool, channels: [try owner.email(), LocalChannel()])
                defer { prep.stop() }
                let classified = owner.classified()
                try await prep.classify(classified)
                let attempts = WorkflowDefinition.retry(.sendPrepNotification).attempts
                // The backoff is jittered from zero up, so a retry may come due within one settle:
                // each round checks what the step is waiting for, not how many tries it took.
                for _ in 1...attempts {
                    try await prep.settle()
                    let step = try #require(
                        try await pool.withConnection { db in
                            try db.queryOne(
                                "SELECT state, last_error, attempts FROM prep.steps WHERE step = 'send_prep_notification'")
                        })
                    guard try step.string("state") == "pending" else { break }
                    #expect(try step.optionalString("last_error")?.contains("deferred the message (451)") == true)
                    #expect(try step.int("attempts") < attempts, "tried again only while attempts remain")
                    // The backoff's wait, passed.
                    _ = try await pool.withConnection { db in
                        try db.execute("UPDATE prep.steps SET due_at = now() WHERE step = 'send_prep_notification'")
                    }
                }
                let tries = try await pool.withConnection { db in
                    try db.queryOne("SELECT attempts FROM prep.steps WHERE step = 'send_prep_notification'")!.int("attempts")
                }
                #expect(tries == attempts, "every attempt was a 451, the last one moved on")
                let delivery = try await SMSChannelTests.delivery(prep, of: classified.meeting.meetingID)
                #expect(delivery.channel == "local")
                #expect(delivery.notReached?.contains("email: the SMTP server deferred the message (451)") == true)
                #expect(try await prep.deliveries(of: classified.meeting.meetingID) == ["prep via local"])
            }
        }
    }

    @Test(
        "the unsubscribe link: a GET only asks, a POST (one click) records it, the next message is not e-mailed; a forged link is refused"
    )
    func unsubscribe() async throws {
        try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
            try await withOwner(pool: pool) { owner in
                let prep = try await PrepHarness(pool: pool, channels: [try owner.email(), LocalChannel()])
                defer { prep.stop() }
                let classified = owner.classified()
                try await prep.classify(classified)
                try await prep.settle()
                let mail = try #require(try owner.mailbox.delivered().first)
                let header = try #require(mail.header("List-Unsubscribe"))
                let link = String(try #require(header.split(separator: "<").last?.split(separator: ">").first))

                let forged = link.replacingOccurrences(of: "address=", with: "address=someone-else")
                #expect(try await prep.post(forged, form: ["List-Unsubscribe": "One-Click"]).status == 403)
                #expect(try await prep.get(link).status == 200)
                #expect(
                    try await owner.unsubscribe.optedOut(owner.mailbox.address, tenant: "acme") == nil, "a GET changes nothing")
                #expect(try await prep.post(link, form: ["List-Unsubscribe": "One-Click"]).status == 200)
                #expect(try await owner.unsubscribe.optedOut(owner.mailbox.address, tenant: "acme") != nil)

                _ = try await pool.withConnection { db in
                    try db.execute("UPDATE prep.steps SET due_at = now() WHERE step = 'wait_for_owner'")
                }
                try await prep.settle()
                let materials = try await SMSChannelTests.delivery(prep, of: classified.meeting.meetingID, step: "send_materials")
                #expect(materials.channel == "local")
                #expect(materials.notReached?.contains("unsubscribed from e-mail") == true, "\(materials.notReached ?? "")")
                #expect(try owner.mailbox.delivered().count == 1)
            }
        }
    }
}
