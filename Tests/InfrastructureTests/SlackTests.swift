import Foundation
import HTTPClient
import Slack
import TestSupport
import Testing

/// The Slack client against a fake of Slack's Web API, and Slack's request signatures.
@Suite("Slack Web API client and request signatures")
struct SlackTests {
    func client(
        _ fake: FakeSlack, token: String? = nil, retry: RetryPolicy = RetryPolicy(maxAttempts: 3),
        messagesPerSecondPerChannel: Double = 1, channelBurst: Int = 2
    ) -> SlackClient {
        SlackClient(
            configuration: .init(
                baseURL: fake.baseURL, botToken: token ?? fake.configuration.botToken,
                messagesPerSecondPerChannel: messagesPerSecondPerChannel, channelBurst: channelBurst),
            http: HTTPClient(retry: retry, logger: TestStack.logger), logger: TestStack.logger)
    }

    /// Blocks as the fake keeps them: JSON with sorted keys.
    func canonical(_ blocks: [[String: Any]]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: blocks, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("auth.test tells the bot's workspace, user and bot ID")
    func identity() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let identity = try await client(fake).authTest()
        #expect(
            identity
                == SlackIdentity(
                    team: "Attaché Test", teamID: "T0FAKE0001", user: "attache", userID: "U0FAKEBOT1", botID: "B0FAKEBOT1",
                    url: "https://attache-test.slack.com/"))
        #expect(fake.calls.map(\.method) == ["auth.test"])
    }

    @Test("a direct message is opened by e-mail, a message with buttons posted in it as Block Kit has them, then updated")
    func directMessageWithButtons() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        // A "+" decodes as a space in a form unless it is encoded.
        let owner = fake.addUser(email: "ada.lovelace+attache@example.com")
        let slack = client(fake)

        let user = try await slack.lookupUser(email: "ada.lovelace+attache@example.com")
        #expect(user == owner)
        let channel = try await slack.openDirectMessage(user: user)
        #expect(channel == fake.directMessage(with: owner))
        #expect(try await slack.openDirectMessage(user: user) == channel, "the same channel each time")

        let posted = try await slack.postMessage(
            channel: channel, text: "Board review at 10:00: shall I prepare?",
            blocks: [
                .section(mrkdwn: "*Board review* starts at 10:00. Shall I prepare?"),
                .actions([
                    .init(text: "Start prep", actionID: "prep.start", value: "meeting-42", style: .primary),
                    .init(text: "Not this time", actionID: "prep.decline", value: "meeting-42"),
                ]),
                .context(mrkdwn: ["Attaché · about five minutes"]),
            ])
        #expect(posted.channel == channel)
        let message = try #require(fake.messages(in: channel).first)
        #expect(message.ts == posted.ts)
        #expect(message.text == "Board review at 10:00: shall I prepare?")
        let question: [[String: Any]] = [
            ["type": "section", "text": ["type": "mrkdwn", "text": "*Board review* starts at 10:00. Shall I prepare?"]],
            [
                "type": "actions",
                "elements": [
                    [
                        "type": "button", "text": ["type": "plain_text", "text": "Start prep"], "action_id": "prep.start",
                        "value": "meeting-42", "style": "primary",
                    ],
                    [
                        "type": "button", "text": ["type": "plain_text", "text": "Not this time"], "action_id": "prep.decline",
                        "value": "meeting-42",
                    ],
                ],
            ],
            ["type": "context", "elements": [["type": "mrkdwn", "text": "Attaché · about five minutes"]]],
        ]
        #expect(message.blocks == (try canonical(question)))

        try await slack.updateMessage(
            channel: channel, ts: posted.ts, text: "Your prep for Board review is ready.",
            blocks: [
                .section(mrkdwn: "Your prep for *Board review* is ready."),
                .actions([.init(text: "Open the brief", actionID: "prep.open", url: "https://attache.example/b/42")]),
            ])
        let messages = fake.messages(in: channel)
        #expect(messages.count == 1)
        #expect(messages.first?.updates == 1)
        #expect(messages.first?.text == "Your prep for Board review is ready.")
        let ready: [[String: Any]] = [
            ["type": "section", "text": ["type": "mrkdwn", "text": "Your prep for *Board review* is ready."]],
            [
                "type": "actions",
                "elements": [
                    [
                        "type": "button", "text": ["type": "plain_text", "text": "Open the brief"], "action_id": "prep.open",
                        "url": "https://attache.example/b/42",
                    ]
                ],
            ],
        ]
        #expect(messages.first?.blocks == (try canonical(ready)))

        #expect(
            fake.calls.map(\.method) == [
                "users.lookupByEmail", "conversations.open", "conversations.open", "chat.postMessage", "chat.update",
            ])
        #expect(fake.calls.allSatisfy { $0.status == 200 && $0.error == nil })
        #expect(
            fake.calls(to: "chat.postMessage").map(\.contentType) == ["application/json; charset=utf-8"],
            "Slack warns about JSON without a charset")
    }

    @Test("a wrong or missing token is invalidAuth, and the error never shows the token")
    func invalidToken() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let token = "xoxb-1111-2222-notTheBotsTokenAtAll"
        let wrong = await #expect(throws: SlackError.self) { try await client(fake, token: token).authTest() }
        #expect(wrong == .invalidAuth(method: "auth.test", error: "invalid_auth"))
        #expect(!"\(try #require(wrong))".contains("notTheBotsTokenAtAll"))
        #expect(!"\(client(fake, token: token).configuration)".contains("notTheBotsTokenAtAll"))

        let missing = await #expect(throws: SlackError.self) { try await client(fake, token: "").lookupUser(email: "a@b.c") }
        #expect(missing == .invalidAuth(method: "users.lookupByEmail", error: "not_authed"))
    }

    @Test("an unknown e-mail address is userNotFound, and an unknown channel channelNotFound")
    func notFound() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let slack = client(fake)
        let user = await #expect(throws: SlackError.self) { try await slack.lookupUser(email: "nobody+x@example.com") }
        #expect(user == .userNotFound("nobody+x@example.com"))
        #expect(fake.calls(to: "users.lookupByEmail").map(\.error) == ["users_not_found"])

        let channel = await #expect(throws: SlackError.self) {
            try await slack.postMessage(channel: "C0NOSUCH1", text: "hello")
        }
        #expect(channel == .channelNotFound("C0NOSUCH1"))
    }

    @Test("a 429 is waited out as Retry-After asks, and the call then succeeds")
    func rateLimitWaitedOut() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let slack = client(fake)
        let channel = try await slack.openDirectMessage(user: fake.addUser(email: "ada@example.com"))
        fake.rateLimitNext(1)
        let posted = try await slack.postMessage(channel: channel, text: "Prep is ready")
        #expect(fake.calls(to: "chat.postMessage").map(\.status) == [429, 200])
        #expect(fake.messages.map(\.ts) == [posted.ts], "posted once")
    }

    @Test("429s past the retries are rateLimited, with the wait Slack asked for")
    func rateLimitExhausted() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        fake.rateLimitNext(5)
        let error = await #expect(throws: SlackError.self) {
            try await client(fake, retry: RetryPolicy(maxAttempts: 2)).authTest()
        }
        #expect(error == .rateLimited(method: "auth.test", retryAfter: .seconds(1)))
        #expect(fake.calls.map(\.status) == [429, 429])
    }

    @Test("messages to one channel are paced: a second one waits, while another channel's goes at once")
    func pacedPerChannel() async throws {
        let fake = try await FakeSlack()
        defer { fake.stop() }
        // One message every 1000 s: the second to a channel cannot go while the test runs.
        let slack = client(fake, messagesPerSecondPerChannel: 0.001, channelBurst: 1)
        let ada = try await slack.openDirectMessage(user: fake.addUser(email: "ada@example.com"))
        let bob = try await slack.openDirectMessage(user: fake.addUser(email: "bob@example.com"))

        _ = try await slack.postMessage(channel: ada, text: "first to Ada")
        let second = Task { try await slack.postMessage(channel: ada, text: "second to Ada") }
        // Held behind Ada's, Bob's would wait 1000 s: the limit turns that into a failure, far
        // beyond what a healthy run takes.
        _ = try await Task { try await slack.postMessage(channel: bob, text: "first to Bob") }
            .value("Bob's message, which Ada's pace must not hold up")
        #expect(fake.messages.map(\.text) == ["first to Ada", "first to Bob"])

        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(fake.calls(to: "chat.postMessage").count == 2, "the held message was never sent")
    }

    // Slack's worked example (https://api.slack.com/authentication/verifying-requests-from-slack).
    static let documentedSecret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let documentedTimestamp = "1531420618"
    static let documentedBody = Array(
        ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            + "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            + "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            + "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c").utf8)
    static let documentedSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

    @Test("Slack's documented example verifies, and signing reproduces its signature")
    func documentedSignature() throws {
        let signedAt = Date(timeIntervalSince1970: 1_531_420_618)
        try SlackSignature.verify(
            body: Self.documentedBody, timestamp: Self.documentedTimestamp, signature: Self.documentedSignature,
            secret: Self.documentedSecret, now: signedAt.addingTimeInterval(300))
        #expect(
            SlackSignature.sign(body: Self.documentedBody, timestamp: Self.documentedTimestamp, secret: Self.documentedSecret)
                == Self.documentedSignature)
    }

    @Test("a changed body, a wrong secret, a missing header, and a stale or malformed timestamp are each refused")
    func signatureRefusals() throws {
        let secret = "0123456789abcdef0123456789abcdef"
        let body = Array(#"payload={"type":"block_actions","actions":[{"action_id":"prep.start"}]}"#.utf8)
        let timestamp = "1700000000"
        let signedAt = Date(timeIntervalSince1970: 1_700_000_000)
        let signature = SlackSignature.sign(body: body, timestamp: timestamp, secret: secret)
        func verify(
            body: [UInt8] = body, timestamp: String? = timestamp, signature: String? = signature, secret: String = secret,
            now: Date = signedAt
        ) throws(SlackSignatureError) {
            try SlackSignature.verify(body: body, timestamp: timestamp, signature: signature, secret: secret, now: now)
        }

        try verify()
        try verify(now: signedAt.addingTimeInterval(300))
        try verify(now: signedAt.addingTimeInterval(-300))
        #expect(throws: SlackSignatureError.signatureMismatch) { try verify(body: body + Array(" ".utf8)) }
        #expect(throws: SlackSignatureError.signatureMismatch) { try verify(secret: "fedcba9876543210fedcba9876543210") }
        #expect(throws: SlackSignatureError.signatureMismatch) {
            try verify(signature: SlackSignature.sign(body: body, timestamp: "1700000001", secret: secret))
        }
        #expect(throws: SlackSignatureError.missingTimestamp) { try verify(timestamp: nil) }
        #expect(throws: SlackSignatureError.missingSignature) { try verify(signature: nil) }
        #expect(throws: SlackSignatureError.staleTimestamp(skew: 301)) { try verify(now: signedAt.addingTimeInterval(301)) }
        #expect(throws: SlackSignatureError.staleTimestamp(skew: -301)) { try verify(now: signedAt.addingTimeInterval(-301)) }
        #expect(throws: SlackSignatureError.malformedTimestamp) { try verify(timestamp: "+1700000000") }
        #expect(throws: SlackSignatureError.malformedTimestamp) { try verify(timestamp: "") }
        #expect(throws: SlackSignatureError.malformedSignature) { try verify(signature: "v1=" + signature.dropFirst(3)) }
        #expect(throws: SlackSignatureError.malformedSignature) {
            try verify(signature: "v0=" + signature.dropFirst(3).uppercased())
        }
        #expect(throws: SlackSignatureError.malformedSignature) { try verify(signature: String(signature.dropLast())) }
    }
}
