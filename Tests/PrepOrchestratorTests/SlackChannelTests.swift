import Foundation
import HTTPClient
import LanguageModel
import Shared
import Slack
import TestSupport
import Testing

@testable import PrepOrchestrator

/// Slack as the owner's first channel, against a local fake of Slack's Web API; the local
/// channel behind it.
@Suite("Slack as the owner's channel")
struct SlackChannelTests {
    static func channels(_ fake: FakeSlack, token: String? = nil, baseURL: String? = nil) -> [any OwnerChannel] {
        let client = SlackClient(
            configuration: .init(
                baseURL: baseURL ?? fake.baseURL, botToken: token ?? fake.configuration.botToken, channelBurst: 10),
            http: HTTPClient(retry: .none, logger: TestStack.logger), logger: TestStack.logger)
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

    @Test("an owner not in Slack, a token Slack refuses, or Slack down: the message reaches the owner locally, recorded")
    func fallsBackToLocal() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let down = "http://127.0.0.1:\(try freePort())/api"
        for channels in [
            Self.channels(fake), Self.channels(fake, token: "xoxb-not-the-right-one"), Self.channels(fake, baseURL: down),
        ] {
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

    /// The owner's side of the conversation, fed as the consumer would feed it.
    struct Owner {
        let prep: PrepHarness
        let fake: FakeSlack
        let conversation: SlackConversation
        let user: String

        init(_ prep: PrepHarness, _ fake: FakeSlack, user: String, model: (any ChatModel)? = nil) {
            self.prep = prep
            self.fake = fake
            self.user = user
            conversation = SlackConversation(
                client: SlackClient(
                    configuration: .init(baseURL: fake.baseURL, botToken: fake.configuration.botToken, channelBurst: 50),
                    logger: TestStack.logger),
                pool: prep.pool, wakeup: prep.wakeup,
                followUps: model.map { AnswerFollowUp(model: $0, logger: TestStack.logger) }, logger: TestStack.logger)
        }

        var dm: String { fake.directMessage(with: user) ?? "D-none" }
        /// What the app said in the DM, oldest first.
        var said: [String] { fake.messages(in: dm).compactMap(\.text) }

        func click(_ action: String, on workflow: UUID, by clicker: String? = nil) async throws {
            let request = try #require(fake.messages(in: dm).first)
            let envelope = Envelope(
                tenantID: "acme", correlationID: workflow,
                payload: SlackActionReceived(
                    user: clicker ?? user, channel: dm, messageTS: request.ts, actionID: action,
                    value: workflow.uuidString.lowercased(), actionTS: "\(Date().timeIntervalSince1970)"))
            try await conversation.clicked(envelope, try prep.context(SlackActionReceived.messageType, id: envelope.id))
        }

        func reply(_ text: String) async throws {
            let envelope = Envelope(
                tenantID: "acme", correlationID: UUID(),
                payload: SlackMessageReceived(eventID: UUID().uuidString, user: user, channel: dm, text: text, ts: "1.0"))
            try await conversation.replied(envelope, try prep.context(SlackMessageReceived.messageType, id: envelope.id))
        }
    }

    static func workflow(of meeting: UUID, _ prep: PrepHarness) async throws -> UUID {
        try await prep.pool.withConnection { db in
            try db.queryOne("SELECT id FROM prep.workflows WHERE meeting_id = $1", [meeting])!.uuid("id")
        }
    }

    /// A meeting classified and its owner asked in Slack; `body` plays the owner.
    func withOwnerAsked(
        model: (any ChatModel)? = nil, _ body: (PrepHarness, FakeSlack, Owner, UUID, MeetingClassified) async throws -> Void
    ) async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let user = fake.addUser(email: "alex@example.com")
        try await withPrep(channels: Self.channels(fake)) { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let workflow = try await Self.workflow(of: classified.meeting.meetingID, prep)
            try await body(prep, fake, Owner(prep, fake, user: user, model: model), workflow, classified)
        }
    }

    @Test("Start prep: the questions come one at a time in the DM, a reply answers each, and the last brings the materials")
    func answersInSlack() async throws {
        try await withOwnerAsked { prep, fake, owner, workflow, classified in

            try await owner.click(SlackChannel.Action.startPrep, on: workflow)
            #expect(fake.messages(in: owner.dm).first?.updates == 1, "the prep request now says prep started")
            #expect(owner.said.last?.hasPrefix("Question 1 of 3: ") == true)
            try await owner.click(SlackChannel.Action.startPrep, on: workflow)
            #expect(owner.said.last?.hasPrefix("Question 1 of 3: ") == true, "a second click asks the same question again")
            try await owner.reply("Announce the Q1 reorg")
            #expect(owner.said.last?.hasPrefix("Question 2 of 3: ") == true)
            // The owner answers the last question on the prep page meanwhile: Slack skips it.
            let recorded = try #require(try await prep.notifications(of: classified.meeting.meetingID).first)
            let page = try #require(PrepHarness.link("Start prep", in: recorded.text))
            #expect(try await prep.post(page, form: ["answer_2": "Two hires start in January", "action": "save"]).status == 200)
            try await owner.reply("skip")
            #expect(owner.said.last == "Great! Generating your materials…")
            try await owner.reply("one more thing")
            #expect(owner.said.last == "There is no preparation waiting for your answers right now.")

            try await prep.settle()
            let steps = try await prep.steps(of: classified.meeting.meetingID)
            #expect(steps["wait_for_owner"] == "done: the owner answered")
            #expect(steps["send_materials"] == "done")
            let answers = try await prep.pool.withConnection { db in try PrepSteps.answers(workflow, on: db) }
            #expect(answers.map(\.answer) == ["Announce the Q1 reorg", nil, "Two hires start in January"])
            #expect(answers.map(\.skipped) == [false, true, false])
            #expect(owner.said.last?.hasPrefix("Your materials for ") == true)
            // Two hours before the meeting (brought forward): the reminder, with fresh links.
            _ = try await prep.pool.withConnection { db in
                try db.execute(
                    "UPDATE prep.steps SET due_at = now() WHERE step = 'send_reminder' AND workflow_id = $1", [workflow])
            }
            try await prep.settle()
            #expect(owner.said.last?.hasPrefix("Starting soon: ") == true)
            #expect(fake.messages(in: owner.dm).last?.blocks?.contains(#""Agenda""#) == true)
        }
    }

    @Test("someone else's click, Not this time, and a reply after the wait ended each get an accurate answer")
    func refusalsInSlack() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let user = fake.addUser(email: "alex@example.com")
        let stranger = fake.addUser(email: "sam@example.com")
        try await withPrep(channels: Self.channels(fake)) { prep in
            let declined = classification()
            let expiring = classification()
            for meeting in [declined, expiring] { try await prep.classify(meeting) }
            try await prep.settle()
            let owner = Owner(prep, fake, user: user)

            let first = try await Self.workflow(of: declined.meeting.meetingID, prep)
            try await owner.click(SlackChannel.Action.startPrep, on: first, by: stranger)
            #expect(fake.messages.last?.text?.contains("belongs to the meeting's organiser") == true)
            try await owner.click(SlackChannel.Action.notThisTime, on: first)
            #expect(owner.said.last?.hasPrefix("Understood") == true)
            try await owner.click(SlackChannel.Action.startPrep, on: first)
            #expect(owner.said.last?.contains("time to answer has passed") == true)
            try await prep.settle()
            #expect(try await prep.steps(of: declined.meeting.meetingID)["send_materials"] == "done")
            let caveat = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT content::text AS c FROM prep.materials WHERE workflow_id = $1", [first])!.string("c")
            }
            #expect(caveat.contains("the owner chose not to prepare this time"))

            let second = try await Self.workflow(of: expiring.meeting.meetingID, prep)
            try await owner.click(SlackChannel.Action.startPrep, on: second)
            #expect(owner.said.last?.hasPrefix("Question 1 of 3: ") == true)
            _ = try await prep.pool.withConnection { db in
                try db.execute(
                    "UPDATE prep.owner_tokens SET expires_at = now() - interval '1 second' WHERE workflow_id = $1", [second])
            }
            try await owner.reply("Too late?")
            #expect(owner.said.last?.contains("time to answer has passed") == true)
            let answers = try await prep.pool.withConnection { db in try PrepSteps.answers(second, on: db) }
            #expect(answers.isEmpty)
        }
    }

    /// A model that finds an answer vague when it is two words or fewer, and records what it was asked.
    final class Judge: ChatModel {
        let name = "judge"
        let asked = Counter()

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
            asked.increment()
            let answer = request.messages.last?.content.components(separatedBy: "Answer: ").last ?? ""
            let vague = answer.split(separator: " ").count <= 2
            let json = #"{"specific": \#(!vague), "follow_up": "\#(vague ? "Which part of it matters most this week?" : "")"}"#
            return AsyncThrowingStream { continuation in
                continuation.yield(json)
                continuation.finish()
            }
        }
    }

    @Test("with a model, a vague answer gets one follow-up, whose reply completes it; a clear one goes straight on")
    func followUpInSlack() async throws {
        let judge = Judge()
        try await withOwnerAsked(model: judge) { prep, _, owner, workflow, _ in

            try await owner.click(SlackChannel.Action.startPrep, on: workflow)
            try await owner.reply("The reorg")
            #expect(owner.said.last?.hasPrefix("Which part of it matters most this week?") == true)
            try await owner.reply("Who moves to which team")
            #expect(owner.said.last?.hasPrefix("Question 2 of 3: ") == true, "one follow-up per question, then on")
            try await owner.reply("Checkout v2 needs two more engineers")
            #expect(owner.said.last?.hasPrefix("Question 3 of 3: ") == true, "a specific answer gets no follow-up")
            try await owner.reply("Nope")
            #expect(owner.said.last?.hasPrefix("Which part") == true)
            try await owner.reply("skip")
            #expect(owner.said.last == "Great! Generating your materials…")

            let answers = try await prep.pool.withConnection { db in try PrepSteps.answers(workflow, on: db) }
            #expect(
                answers.map(\.answer) == ["The reorg Who moves to which team", "Checkout v2 needs two more engineers", "Nope"])
            #expect(judge.asked.value == 3, "the follow-up's reply and the skip are not judged")
        }
    }
}
