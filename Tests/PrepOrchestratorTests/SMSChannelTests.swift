import Foundation
import HTTPClient
import TestSupport
import Testing
import Twilio

@testable import PrepOrchestrator

/// SMS through Twilio as the channel after Slack, against a local fake of Twilio's Messages API.
@Suite("SMS as the owner's channel")
struct SMSChannelTests {
    struct Down: OwnerChannel {
        var name: String { "slack" }
        func deliver(_ message: OwnerMessage) async throws { throw ContextUnavailable("Slack is down") }
    }

    static let directory = OwnerDirectory(
        folder: Bundle.module.url(forResource: "directory", withExtension: nil, subdirectory: "Fixtures")!)

    static func channels(_ twilio: FakeTwilio, token: String = FakeTwilio.authToken) -> [any OwnerChannel] {
        let client = TwilioClient(
            configuration: .init(baseURL: twilio.url, accountSID: FakeTwilio.accountSID, authToken: token, from: "+15555550199"),
            http: HTTPClient(retry: .none, logger: TestStack.logger), logger: TestStack.logger)
        return [Down(), SMSChannel(client: client, directory: directory), LocalChannel()]
    }

    /// The channel that reached the owner with the prep request, and the ones that did not.
    static func delivery(_ prep: PrepHarness, of meeting: UUID) async throws -> (channel: String, notReached: String?) {
        try await prep.pool.withConnection { db in
            let row = try db.queryOne(
                """
                SELECT s.output->>'channel' AS channel, s.output->>'not_reached_by' AS not_reached FROM prep.steps s
                JOIN prep.workflows w ON w.id = s.workflow_id WHERE w.meeting_id = $1 AND s.step = 'send_prep_notification'
                """, [meeting])!
            return (try row.string("channel"), try row.optionalString("not_reached"))
        }
    }

    @Test("Slack down: the prep request is texted to the owner's number, short, with the prep page link")
    func textedWhenSlackIsDown() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withPrep(channels: Self.channels(twilio)) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let sent = try #require(twilio.sent.first)
            #expect(sent.to == "+15555550100" && sent.from == "+15555550199")
            #expect(sent.body.hasPrefix("Time to prepare “Platform staff meeting”"))
            #expect(sent.body.contains("Start prep: http://") && sent.body.contains("/prep/"))
            #expect(sent.body.count <= 306, "two segments at most")
            let delivery = try await Self.delivery(prep, of: classified.meeting.meetingID)
            #expect(delivery.channel == "sms")
            #expect(delivery.notReached == "slack: Slack is down")
        }
    }

    @Test("an owner who replied STOP, or a refused token, is reached locally, and the record says why SMS did not")
    func stopRespected() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        twilio.optOut("+15555550100")
        for (channels, reason) in [
            (Self.channels(twilio), "replied STOP"), (Self.channels(twilio, token: "wrong"), "ATTACHE_TWILIO_AUTH_TOKEN"),
        ] {
            try await withPrep(channels: channels) { prep in
                let classified = classification()
                try await prep.classify(classified)
                try await prep.settle()
                let delivery = try await Self.delivery(prep, of: classified.meeting.meetingID)
                #expect(delivery.channel == "local")
                let shown = try await OperatorCommandTests().attacheOps(
                    "show \(classified.meeting.meetingID)", database: prep.pool.url)
                #expect(shown.output.contains("not reached by slack: Slack is down; sms: "), "\(shown.output)")
                #expect(shown.output.contains("message   prep via local"), "\(shown.output)")
                #expect(
                    delivery.notReached?.contains("sms: ") == true && delivery.notReached?.contains(reason) == true,
                    "\(delivery.notReached ?? "")")
            }
        }
        #expect(twilio.sent.isEmpty)
    }

    @Test("an owner the directory has no number for is not texted")
    func noNumber() async throws {
        #expect(try Self.directory.phone(of: "ALEX@example.com", tenant: "acme") == "+15555550100")
        #expect(try Self.directory.phone(of: "nobody@example.com", tenant: "acme") == nil)
        #expect(try Self.directory.phone(of: "alex@example.com", tenant: "no-such-tenant") == nil)
        #expect(throws: OwnerDirectory.Unreadable.self) { try Self.directory.phone(of: "a@b.c", tenant: "../etc") }
    }
}
