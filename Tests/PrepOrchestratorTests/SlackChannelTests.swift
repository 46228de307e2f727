import Foundation
import Slack
import TestSupport
import Testing

@testable import PrepOrchestrator

/// Slack as the owner's first channel, against a local fake of Slack's Web API; the local
/// channel behind it.
@Suite("Slack as the owner's channel")
struct SlackChannelTests {
    static func channels(_ fake: FakeSlack, token: String? = nil) -> [any OwnerChannel] {
        let client = SlackClient(
            configuration: .init(baseURL: fake.baseURL, botToken: token ?? fake.configuration.botToken, channelBurst: 10),
            logger: TestStack.logger)
        return [SlackChannel(client: client), LocalChannel()]
    }

    /// Which channel reached the owner with each message, in order.
    static func deliveries(_ prep: PrepHarness, of meeting: UUID) async throws -> [String] {
        try await prep.pool.withConnection { db in
            try db.query(
                """
                SELECT n.kind || ' via ' || n.channel AS delivery FROM prep.notifications n
                JOIN prep.workflows w ON w.id = n.workflow_id WHERE w.meeting_id = $1 ORDER BY n.created_at
                """, [meeting]
            ).map { try $0.string("delivery") }
        }
    }

    @Test("the owner's DM gets the prep request with Start prep and Not this time, valued by the workflow, then the materials")
    func conversationInSlack() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let owner = fake.addUser(email: "alex@example.com")
        try await withPrep(channels: Self.channels(fake)) { prep in
            let classified = classification(title: "Platform <!channel> & staff meeting")
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()

            let dm = try #require(fake.directMessage(with: owner))
            let asked = try #require(fake.messages(in: dm).first)
            let blocks = try #require(asked.blocks)
            let workflow = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT id FROM prep.workflows WHERE meeting_id = $1", [meeting])!.uuid("id")
            }
            #expect(blocks.contains(#""action_id":"prep_start""#) && blocks.contains(#""style":"primary""#))
            #expect(blocks.contains(#""action_id":"prep_decline""#))
            #expect(blocks.contains(#""value":"\#(workflow.uuidString.lowercased())""#), "the buttons name the workflow")
            #expect(blocks.contains("Budget: Compute: +$45K over plan"))
            #expect(blocks.contains("Platform &lt;!channel&gt; &amp; staff meeting"), "the title is text, not Slack markup")
            #expect(!blocks.contains("<!channel>"))
            // The same prep page the message records, for an owner who prefers it.
            let recorded = try #require(try await prep.notifications(of: meeting).first)
            let page = try #require(PrepHarness.link("Start prep", in: recorded.text))
            #expect(blocks.replacingOccurrences(of: "\\/", with: "/").contains(#""url":"\#(page)""#))

            #expect(try await prep.post(page, form: ["answer_0": "Announce the reorg", "action": "finish"]).status == 200)
            try await prep.settle()
            let materials = try #require(fake.messages(in: dm).last?.blocks)
            for label in ["Agenda", "Question bank", "Notes template"] { #expect(materials.contains(#""\#(label)""#)) }
            #expect(try await Self.deliveries(prep, of: meeting) == ["prep via slack", "materials via slack"])
        }
    }

    @Test("an owner not in Slack, or a token Slack refuses: the message reaches the owner locally, and that is recorded")
    func fallsBackToLocal() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        for channels in [Self.channels(fake), Self.channels(fake, token: "xoxb-not-the-right-one")] {
            try await withPrep(channels: channels) { prep in
                let classified = classification()
                try await prep.classify(classified)
                try await prep.settle()
                #expect(try await Self.deliveries(prep, of: classified.meeting.meetingID) == ["prep via local"])
            }
        }
        #expect(fake.messages.isEmpty)
        #expect(fake.calls(to: "users.lookupByEmail").map(\.error) == ["users_not_found", "invalid_auth"])
    }
}
