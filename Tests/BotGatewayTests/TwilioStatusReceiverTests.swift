import Delivery
import Foundation
import HTTPClient
import Runtime
import Shared
import Store
import TestSupport
import Testing
import Twilio

@testable import BotGateway

@Suite("Twilio status callbacks (bot-gateway)")
struct TwilioStatusReceiverTests {
    /// Where Twilio reaches the gateway: a proxy in front of the test's server.
    static let publicURL = "https://gateway.example"
    static let delivery = UUID(uuidString: "6A0F3B1C-5E2D-4C7B-9A18-2F4D6E8B0C11")!

    struct Harness {
        let pool: PostgresPool
        let server: FakeServer

        func published() async throws -> [SMSStatusReceived] {
            try await pool.withConnection { db in
                try db.query("SELECT body FROM gateway.outbox ORDER BY position").map {
                    try MessageCoding.decoder().decode(Envelope<SMSStatusReceived>.self, from: Data(try $0.string("body").utf8))
                        .payload
                }
            }
        }

        /// A callback as someone other than Twilio might send it.
        func post(query: String, fields: [(String, String)], signature: String?) async throws -> Int {
            var headers = [("Content-Type", "application/x-www-form-urlencoded")]
            if let signature { headers.append(("X-Twilio-Signature", signature)) }
            return try await HTTPClient(retry: .none, logger: TestStack.logger).send(
                OutboundRequest(
                    method: "POST", url: server.url + TwilioStatusReceiver.path + query, headers: headers,
                    body: Array(FormEncoding.encode(fields).utf8))
            ).status
        }
    }

    func withReceiver(_ body: (Harness) async throws -> Void) async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let receiver = TwilioStatusReceiver(
                settings: try #require(
                    try TwilioStatusReceiver.Settings(Runtime.Environment(["ATTACHE_TWILIO_AUTH_TOKEN": FakeTwilio.authToken]))),
                publicURL: Self.publicURL, pool: pool, outbox: try Outbox(schema: GatewaySchema.name),
                logger: TestStack.logger)
            let server = try await FakeServer { router, _ in receiver.register(on: router) }
            defer { server.stop() }
            try await body(Harness(pool: pool, server: server))
        }
    }

    static let text = FakeTwilio.Sent(
        sid: "SM00000000000000000000000000000007", to: "+15555550100", from: "+15555550199", body: "Time to prepare",
        statusCallback: "\(publicURL)\(TwilioStatusReceiver.path)?delivery=\(delivery.uuidString.lowercased())")

    @Test("Twilio's documented example is signed as Twilio signs it")
    func documentedSignature() throws {
        let fields = [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"), ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(TwilioSignature.sign(url: url, parameters: fields, authToken: "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        #expect(throws: TwilioSignature.Failure.mismatch) {
            try TwilioSignature.verify(
                url: url, parameters: fields, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", authToken: "54321")
        }
    }

    @Test("a final status reaches the bus once, naming the delivery; Twilio sending it again changes nothing")
    func reportedOnce() async throws {
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withReceiver { harness in
            #expect(try await twilio.report("sent", for: Self.text, via: harness.server.url) == 200)
            #expect(try await twilio.report("undelivered", errorCode: 30003, for: Self.text, via: harness.server.url) == 200)
            #expect(try await twilio.report("undelivered", errorCode: 30003, for: Self.text, via: harness.server.url) == 200)
            let published = try await harness.published()
            #expect(
                published == [
                    SMSStatusReceived(
                        messageSID: Self.text.sid, status: "undelivered", errorCode: 30003, to: "+15555550100",
                        deliveryID: Self.delivery)
                ])
        }
    }

    @Test("forged callbacks are refused before anything in them is read: no signature, another key, another URL, a changed field")
    func forgedRefused() async throws {
        try await withReceiver { harness in
            let query = "?delivery=\(Self.delivery.uuidString.lowercased())"
            let fields = [("MessageSid", Self.text.sid), ("MessageStatus", "failed"), ("ErrorCode", "30008")]
            let url = Self.publicURL + TwilioStatusReceiver.path + query
            let genuine = TwilioSignature.sign(url: url, parameters: fields, authToken: FakeTwilio.authToken)
            let otherKey = TwilioSignature.sign(url: url, parameters: fields, authToken: "another-account-token")
            var changed = fields
            changed[1] = ("MessageStatus", "undelivered")
            let forgeries: [(query: String, fields: [(String, String)], signature: String?)] = [
                (query, fields, nil), (query, fields, otherKey),
                // The signature of one delivery's callback, replayed for another delivery.
                ("?delivery=\(UUID().uuidString.lowercased())", fields, genuine),
                (query, changed, genuine),
            ]
            for forgery in forgeries {
                let status = try await harness.post(query: forgery.query, fields: forgery.fields, signature: forgery.signature)
                #expect(status == 403)
            }
            #expect(try await harness.published().isEmpty)
            // The genuine one, to show the refusals were for the forgery.
            #expect(try await harness.post(query: query, fields: fields, signature: genuine) == 200)
            #expect(try await harness.published().map(\.status) == ["failed"])
        }
    }

    @Test("an auth token too short to be Twilio's stops bot-gateway naming the setting")
    func shortToken() {
        #expect {
            _ = try TwilioStatusReceiver.Settings(Runtime.Environment(["ATTACHE_TWILIO_AUTH_TOKEN": "short"]))
        } throws: { error in
            "\(error)".contains("ATTACHE_TWILIO_AUTH_TOKEN")
        }
    }
}
