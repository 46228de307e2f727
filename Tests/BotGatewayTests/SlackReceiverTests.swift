import Delivery
import Foundation
import HTTPClient
import Runtime
import Shared
import Slack
import Store
import TestSupport
import Testing

@testable import BotGateway

@Suite("Slack requests to the app (bot-gateway)")
struct SlackReceiverTests {
    static let secret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let now = Date(timeIntervalSince1970: 1_796_896_800)

    /// A receiver on a database of its own, whose clock reads `now`, and a way to send it
    /// requests signed as Slack signs them.
    struct Harness {
        let pool: PostgresPool
        let server: FakeServer
        let http = HTTPClient(retry: .none, logger: TestStack.logger)

        func send(
            _ path: String, _ body: String, contentType: String = "application/json", signedAt: Date = SlackReceiverTests.now,
            secret: String = SlackReceiverTests.secret, retry: Int? = nil
        ) async throws -> OutboundResponse {
            let timestamp = String(Int(signedAt.timeIntervalSince1970))
            var headers = [
                ("Content-Type", contentType), ("X-Slack-Request-Timestamp", timestamp),
                ("X-Slack-Signature", SlackSignature.sign(body: Array(body.utf8), timestamp: timestamp, secret: secret)),
            ]
            if let retry { headers.append(("X-Slack-Retry-Num", String(retry))) }
            return try await http.send(
                OutboundRequest(method: "POST", url: server.url + path, headers: headers, body: Array(body.utf8)))
        }

        func published() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query("SELECT body FROM gateway.outbox ORDER BY position").map { try $0.string("body") }
            }
        }
    }

    func withReceiver(_ body: (Harness) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let receiver = SlackReceiver(
                settings: try #require(
                    try SlackReceiver.Settings(Runtime.Environment(["ATTACHE_SLACK_SIGNING_SECRET": Self.secret]))),
                recorder: SlackStore(pool: pool, outbox: try Outbox(schema: GatewaySchema.name)), clock: { Self.now },
                logger: TestStack.logger)
            let server = try await FakeServer { router, _ in receiver.register(on: router) }
            defer { server.stop() }
            try await body(Harness(pool: pool, server: server))
        }
    }

    static func messageEvent(_ id: String, text: String, extra: String = "", channelType: String = "im") -> String {
        #"{"type":"event_callback","event_id":"\#(id)","team_id":"T1","event":{"type":"message","channel_type":"\#(channelType)","user":"U0OWNER","channel":"D0DM","text":"\#(text)","ts":"1796896800.000100"\#(extra)}}"#
    }

    @Test("the URL handshake is answered with its challenge; the owner's DM reaches the bus once, whatever Slack retries")
    func eventsOnce() async throws {
        try await withReceiver { harness in
            let handshake = try await harness.send(
                SlackReceiver.eventsPath,
                #"{"type":"url_verification","token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#)
            #expect(handshake.status == 200)
            #expect(handshake.text == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

            let answer = Self.messageEvent("Ev01", text: "Announce the reorg")
            #expect(try await harness.send(SlackReceiver.eventsPath, answer).status == 200)
            #expect(try await harness.send(SlackReceiver.eventsPath, answer, retry: 1).status == 200)
            // Ignored with a 200: the app's own message, an edit, a message in a channel.
            for ignored in [
                Self.messageEvent("Ev02", text: "Question 2 of 3", extra: #","bot_id":"B0APP""#),
                Self.messageEvent("Ev03", text: "edited", extra: #","subtype":"message_changed""#),
                Self.messageEvent("Ev04", text: "hello", channelType: "channel"),
            ] {
                #expect(try await harness.send(SlackReceiver.eventsPath, ignored).status == 200)
            }
            let published = try await harness.published()
            #expect(published.count == 1)
            let envelope = try MessageCoding.decode(Envelope<SlackMessageReceived>.self, from: Array(published[0].utf8))
            #expect(
                envelope.payload
                    == SlackMessageReceived(
                        eventID: "Ev01", user: "U0OWNER", channel: "D0DM", text: "Announce the reorg", ts: "1796896800.000100"))
        }
    }

    @Test("a button click reaches the bus once with who clicked, on which message, and the value it carried")
    func interactionOnce() async throws {
        try await withReceiver { harness in
            let payload =
                #"{"type":"block_actions","user":{"id":"U0OWNER"},"container":{"type":"message","channel_id":"D0DM","message_ts":"1796896700.000200"},"actions":[{"type":"button","action_id":"prep_start","value":"0f0e0d0c-0b0a-4908-8706-050403020100","action_ts":"1796896801.000300"}]}"#
            let form = "payload=" + payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            for _ in 0..<2 {
                let response = try await harness.send(
                    SlackReceiver.interactivityPath, form, contentType: "application/x-www-form-urlencoded")
                #expect(response.status == 200)
            }
            let published = try await harness.published()
            #expect(published.count == 1)
            let envelope = try MessageCoding.decode(Envelope<SlackActionReceived>.self, from: Array(published[0].utf8))
            #expect(
                envelope.payload
                    == SlackActionReceived(
                        user: "U0OWNER", channel: "D0DM", messageTS: "1796896700.000200", actionID: "prep_start",
                        value: "0f0e0d0c-0b0a-4908-8706-050403020100", actionTS: "1796896801.000300"))
        }
    }

    @Test("a forged signature or a stale timestamp gets 401 and nothing is read; an unreadable body gets 400")
    func refusals() async throws {
        try await withReceiver { harness in
            let answer = Self.messageEvent("Ev05", text: "hi")
            #expect(try await harness.send(SlackReceiver.eventsPath, answer, secret: "not-the-signing-secret").status == 401)
            let stale = Self.now.addingTimeInterval(-301)
            #expect(try await harness.send(SlackReceiver.eventsPath, answer, signedAt: stale).status == 401)
            let unsigned = try await harness.http.send(
                OutboundRequest(method: "POST", url: harness.server.url + SlackReceiver.eventsPath, body: Array(answer.utf8)))
            #expect(unsigned.status == 401)
            #expect(try await harness.send(SlackReceiver.eventsPath, "{not json").status == 400)
            #expect(
                try await harness.send(
                    SlackReceiver.interactivityPath, "nothing=here", contentType: "application/x-www-form-urlencoded"
                ).status
                    == 400)
            #expect(try await harness.published().isEmpty)
        }
    }
}
