import Foundation
import HTTPClient
import Shared
import Store
import TestSupport
import Testing
import Twilio

@testable import PrepOrchestrator

/// SMS through Twilio as the channel after Slack, against a local fake of Twilio's Messages API,
/// and Twilio's status reports as bot-gateway passes them on.
@Suite("SMS as the owner's channel")
struct SMSChannelTests {
    struct Down: OwnerChannel {
        var name = "slack"
        func deliver(_ message: OwnerMessage) async throws -> String? { throw ContextUnavailable("\(name) is down") }
    }

    static let directory = OwnerDirectory(
        folder: Bundle.module.url(forResource: "directory", withExtension: nil, subdirectory: "Fixtures")!)
    static let statusCallback = "https://gateway.example/webhooks/twilio/status"

    static func sms(
        _ twilio: FakeTwilio, token: String = FakeTwilio.authToken, directory: OwnerDirectory = directory, pool: PostgresPool
    ) -> SMSChannel {
        let client = TwilioClient(
            configuration: .init(baseURL: twilio.url, accountSID: FakeTwilio.accountSID, authToken: token, from: "+15555550199"),
            http: HTTPClient(retry: .none, logger: TestStack.logger), logger: TestStack.logger)
        return SMSChannel(client: client, directory: directory, pool: pool, statusCallback: statusCallback)
    }

    static func channels(_ twilio: FakeTwilio, token: String = FakeTwilio.authToken) -> (PostgresPool) -> [any OwnerChannel] {
        { pool in [Down(), sms(twilio, token: token, pool: pool), LocalChannel()] }
    }

    /// The channel that reached the owner with a step's message, and the ones that did not.
    static func delivery(_ prep: PrepHarness, of meeting: UUID, step: String = "send_prep_notification") async throws
        -> (channel: String?, notReached: String?, uncertain: String?)
    {
        try await prep.pool.withConnection { db in
            let row = try db.queryOne(
                """
                SELECT s.output->>'channel' AS channel, s.output->>'not_reached_by' AS not_reached,
                    s.output->>'uncertain' AS uncertain
                FROM prep.steps s JOIN prep.workflows w ON w.id = s.workflow_id WHERE w.meeting_id = $1 AND s.step = $2
                """, [meeting, step])
            return (
                try row?.optionalString("channel"), try row?.optionalString("not_reached"), try row?.optionalString("uncertain")
            )
        }
    }

    /// Twilio's report on `message`, as bot-gateway publishes it after checking its signature.
    static func report(
        _ status: String, errorCode: Int? = nil, for message: FakeTwilio.Sent, to prep: PrepHarness
    ) async throws {
        let query = try #require(message.statusCallback.flatMap { URLComponents(string: $0)?.queryItems })
        let envelope = Envelope(
            tenantID: "acme", correlationID: UUID(),
            payload: SMSStatusReceived(
                messageSID: message.sid, status: status, errorCode: errorCode, to: message.to,
                deliveryID: query.first { $0.name == "delivery" }?.value.flatMap(UUID.init(uuidString:))))
        try await DeliveryReports(wakeup: prep.wakeup).smsStatus(
            envelope, try prep.context(SMSStatusReceived.messageType, id: envelope.id))
    }

    @Test("Slack down: the prep request is texted to the owner's number, short, with the prep page link")
    func textedWhenSlackIsDown() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withPrep(channelsOn: Self.channels(twilio)) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let sent = try #require(twilio.sent.first)
            #expect(sent.to == "+15555550100" && sent.from == "+15555550199")
            #expect(sent.body.hasPrefix("Time to prepare “Platform staff meeting”"))
            #expect(sent.body.contains("Start prep: http://") && sent.body.contains("/prep/"))
            #expect(sent.body.count <= 306, "two segments at most")
            #expect(sent.statusCallback?.hasPrefix(Self.statusCallback + "?delivery=") == true, "Twilio reports back")
            let delivery = try await Self.delivery(prep, of: classified.meeting.meetingID)
            #expect(delivery.channel == "sms")
            #expect(delivery.notReached == "slack: slack is down")
        }
    }

    @Test("an owner who replied STOP is reached locally, is not texted again, and the operator sees why")
    func stopRespected() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        twilio.optOut("+15555550100")
        try await withPrep(channelsOn: Self.channels(twilio)) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let meeting = classified.meeting.meetingID
            let prepRequest = try await Self.delivery(prep, of: meeting)
            #expect(prepRequest.channel == "local")
            #expect(prepRequest.notReached?.contains("sms: the recipient replied STOP (error 21610)") == true)
            // The owner does not answer; the materials follow, and SMS is not tried for them.
            _ = try await prep.pool.withConnection { db in
                try db.execute("UPDATE prep.steps SET due_at = now() WHERE step = 'wait_for_owner'")
            }
            try await prep.settle()
            let materials = try await Self.delivery(prep, of: meeting, step: "send_materials")
            #expect(materials.channel == "local")
            #expect(
                materials.notReached?.contains("sms: +15555550100 replied STOP (Twilio error 21610) on ") == true,
                "\(materials.notReached ?? "")")
            #expect(twilio.attempts == 1, "Twilio is asked once, for the first message")
            let shown = try await OperatorCommandTests().attacheOps("show \(meeting)", database: prep.pool.url)
            #expect(shown.output.contains("not reached by slack: slack is down; sms: "), "\(shown.output)")
            #expect(shown.output.contains("message   prep via local"), "\(shown.output)")
        }
        #expect(twilio.sent.isEmpty)
    }

    @Test("credentials Twilio refuses: the owner is reached locally, and the record names the setting to check")
    func refusedToken() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withPrep(channelsOn: Self.channels(twilio, token: "wrong")) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let delivery = try await Self.delivery(prep, of: classified.meeting.meetingID)
            #expect(delivery.channel == "local")
            #expect(delivery.notReached?.contains("ATTACHE_TWILIO_AUTH_TOKEN") == true, "\(delivery.notReached ?? "")")
        }
        #expect(twilio.sent.isEmpty)
    }

    @Test("a text Twilio reports undelivered goes on to the next channel, once, whatever the reports that follow")
    func undeliveredMovesOn() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withPrep(channelsOn: Self.channels(twilio)) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let meeting = classified.meeting.meetingID
            #expect(try await prep.notifications(of: meeting).count == 1)
            let text = try #require(twilio.sent.first)
            try await Self.report("undelivered", errorCode: 30003, for: text, to: prep)
            try await prep.settle()
            try await Self.report("undelivered", errorCode: 30003, for: text, to: prep)  // Twilio again
            try await Self.report("failed", errorCode: 30008, for: text, to: prep)
            try await prep.settle()
            #expect(try await prep.deliveries(of: meeting) == ["prep via sms", "prep via local"])
            #expect(twilio.sent.count == 1, "not texted again")
            let shown = try await OperatorCommandTests().attacheOps("show \(meeting)", database: prep.pool.url)
            #expect(shown.output.contains("continue_delivery"), "\(shown.output)")
            #expect(
                shown.output.contains(
                    "not reached by slack: slack is down; sms: Twilio reported the text undelivered (error 30003)"),
                "\(shown.output)")
            #expect(shown.output.contains("prep         sent via local"), "\(shown.output)")
        }
    }

    @Test("a recipient whose text failed with 21610 (STOP) is remembered, and a delivered text stays delivered")
    func reportsRemembered() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withPrep(channelsOn: Self.channels(twilio)) { prep in
            try await prep.classify(classification())
            try await prep.settle()
            let text = try #require(twilio.sent.first)
            try await Self.report("delivered", for: text, to: prep)
            let state = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT state FROM prep.deliveries")?.string("state")
            }
            #expect(state == "delivered")
            let other = try await withPrep(channelsOn: Self.channels(twilio)) { second in
                try await second.classify(classification())
                try await second.settle()
                let text = try #require(twilio.sent.last)
                try await Self.report("undelivered", errorCode: 21610, for: text, to: second)
                return try await SMSChannel.optOut(of: text.to, tenant: "acme", on: second.pool)
            }
            #expect(other?.reason == SMSChannel.stopReason)
        }
    }

    /// Runs the steps, but every run of `crashing` dies before its completion commits.
    struct CrashingBeforeCommit: StepRunner {
        struct Crash: Error {}
        let steps: PrepSteps
        let crashing: StepName
        func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion {
            let completion = try await steps.run(step, of: workflow)
            if step.name == crashing { throw Crash() }
            return completion
        }
    }

    @Test("a restart mid-chain sends nothing twice: the step run again finds the text sent and keeps its link")
    func restartMidChain() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        for stoppedWhileSending in [false, true] {
            try await withPrep(channelsOn: Self.channels(twilio)) { prep in
                let before = twilio.sent.count
                let crashing = WorkflowEngine(
                    pool: prep.pool, outbox: prep.outbox,
                    steps: CrashingBeforeCommit(steps: prep.steps, crashing: .sendPrepNotification), wakeup: prep.wakeup,
                    logger: TestStack.logger)
                let classified = classification()
                try await prep.classify(classified)
                while twilio.sent.count == before { _ = try await crashing.runDueSteps() }
                try await prep.pool.withConnection { db in
                    // The restarted service: the retry is due now; and, in the second case, the
                    // first run died while Twilio had the request.
                    try db.execute("UPDATE prep.steps SET due_at = now() WHERE step = 'send_prep_notification'")
                    if stoppedWhileSending { try db.execute("UPDATE prep.deliveries SET state = 'sending'") }
                }
                try await prep.settle()
                #expect(twilio.sent.count == before + 1, "not texted twice")
                let meeting = classified.meeting.meetingID
                let delivery = try await Self.delivery(prep, of: meeting)
                #expect(delivery.channel == "sms")
                #expect((delivery.uncertain != nil) == stoppedWhileSending)
                let notes = try await prep.notifications(of: meeting)
                #expect(notes.count == 1)
                // The link texted by the first run is the one that works.
                let link = try #require(twilio.sent.last?.body.components(separatedBy: "Start prep: ").last)
                #expect(try await prep.get(link).status == 200)
                #expect(notes.first?.text.contains(link) == true)
            }
        }
    }

    @Test("an owner the directory has no number for is not texted")
    func noNumber() async throws {
        #expect(try Self.directory.phone(of: "ALEX@example.com", tenant: "acme") == "+15555550100")
        #expect(try Self.directory.phone(of: "nobody@example.com", tenant: "acme") == nil)
        #expect(try Self.directory.phone(of: "alex@example.com", tenant: "no-such-tenant") == nil)
        #expect(throws: OwnerDirectory.Unreadable.self) { try Self.directory.phone(of: "a@b.c", tenant: "../etc") }
    }
}
