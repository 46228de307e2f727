import Foundation
import Shared
import Testing

@testable import BotGateway

@Suite("Webhook signatures and payloads")
struct WebhookTests {
    // The example from the Standard Webhooks specification.
    let secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
    let body = Array(#"{"test": 2432232314}"#.utf8)
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    let timestamp = 1_614_265_330
    let moment = Date(timeIntervalSince1970: 1_614_265_330)

    @Test("signs as the Standard Webhooks specification does")
    func knownSignature() {
        #expect(secret.signature(id: id, timestamp: timestamp, body: body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("accepts a valid signature, also among several during a secret rotation")
    func acceptsValid() throws {
        let valid = secret.signature(id: id, timestamp: timestamp, body: body)
        try secret.verify(id: id, timestamp: String(timestamp), signatures: valid, body: body, now: moment)
        try secret.verify(
            id: id, timestamp: String(timestamp), signatures: "v1,bm90IHRoaXMgb25l \(valid)", body: body, now: moment)
    }

    @Test("refuses forged, tampered, replayed and incomplete webhooks")
    func refusesForgeries() {
        let valid = secret.signature(id: id, timestamp: timestamp, body: body)
        let other = WebhookSecret.random()
        func rejection(
            id: String? = nil, timestamp: String? = nil, signatures: String? = nil, body: [UInt8]? = nil, now: Date? = nil
        ) -> WebhookRejection? {
            do {
                try secret.verify(
                    id: id ?? self.id, timestamp: timestamp ?? String(self.timestamp), signatures: signatures ?? valid,
                    body: body ?? self.body, now: now ?? moment)
                return nil
            } catch { return error }
        }
        #expect(rejection(signatures: other.signature(id: id, timestamp: timestamp, body: body)) == .badSignature)
        #expect(rejection(body: Array(#"{"test": 2432232315}"#.utf8)) == .badSignature)
        #expect(rejection(id: "msg_other") == .badSignature)
        #expect(rejection(now: moment.addingTimeInterval(301)) == .staleTimestamp)
        #expect(rejection(timestamp: "yesterday") == .badTimestamp)
        #expect(rejection(signatures: "v2,abc") == .badSignature)
        do {
            try secret.verify(id: nil, timestamp: String(timestamp), signatures: valid, body: body, now: moment)
            Issue.record("a webhook without an id was accepted")
        } catch {
            #expect(error == .missingHeaders)
        }
    }

    @Test("secrets never show in descriptions")
    func secretIsRedacted() {
        #expect("\(secret)" == "whsec_***")
        #expect(WebhookSecret("not-whsec") == nil)
        #expect(WebhookSecret("whsec_***") == nil)
    }

    @Test("reads Recall.ai bot status webhooks, current and legacy forms, and transcript segments")
    func readsRecallPayloads() throws {
        let now = Date()
        let current = try RecallWebhook(
            parsing: Array(
                """
                {"event": "bot.in_call_recording", "data": {
                  "data": {"code": "in_call_recording", "sub_code": null, "updated_at": "2026-12-10T10:00:01.500Z"},
                  "bot": {"id": "bot-1", "metadata": {"meeting_id": "m-1"}}}}
                """.utf8))
        guard case .status(let botID, let metadata, let status, let subCode, let at) = current.meaning(receivedAt: now) else {
            Issue.record("not read as a status change")
            return
        }
        #expect(botID == "bot-1")
        #expect(metadata["meeting_id"] == "m-1")
        #expect(status == .inCallRecording)
        #expect(subCode == nil)
        #expect(at == Date(timeIntervalSince1970: 1_796_896_801.5))

        let legacy = try RecallWebhook(
            parsing: Array(
                """
                {"event": "bot.status_change", "data": {"bot_id": "bot-2",
                  "status": {"code": "call_ended", "created_at": "2026-12-10T10:30:00Z", "sub_code": "call_ended_by_host", "message": null}}}
                """.utf8))
        guard case .status(let legacyBot, _, let legacyStatus, let legacySub, _) = legacy.meaning(receivedAt: now) else {
            Issue.record("legacy form not read")
            return
        }
        #expect(legacyBot == "bot-2")
        #expect(legacyStatus == .callEnded)
        #expect(legacySub == "call_ended_by_host")

        let transcript = try RecallWebhook(
            parsing: Array(
                """
                {"event": "transcript.data", "data": {
                  "data": {"words": [{"text": "Budget", "start_timestamp": {"relative": 12.5, "absolute": "2026-12-10T10:00:12.500Z"}},
                                     {"text": "approved."}],
                           "participant": {"id": 7, "name": "Sam Chen"}},
                  "bot": {"id": "bot-1", "metadata": {}}}}
                """.utf8))
        guard case .transcript(_, _, let speaker, let text, let spokenAt) = transcript.meaning(receivedAt: now) else {
            Issue.record("transcript not read")
            return
        }
        #expect(speaker == "Sam Chen")
        #expect(text == "Budget approved.")
        #expect(spokenAt == Date(timeIntervalSince1970: 1_796_896_812.5))

        let other = try RecallWebhook(parsing: Array(#"{"event": "recording.done", "data": {}}"#.utf8))
        guard case .other = other.meaning(receivedAt: now) else {
            Issue.record("an unused event was acted on")
            return
        }
    }

    @Test("a body that is not a Recall webhook is refused with the field at fault named")
    func refusesMisshapenWebhooks() {
        let cases: [(String, String)] = [
            ("{not json", "not JSON at byte 1"),
            (#"{"data": {}}"#, "missing field event"),
            (#"{"event": 7, "data": {}}"#, "field event is not a string"),
            (#"{"event": "bot.done"}"#, "missing field data"),
            (#"{"event": "bot.done", "data": {"bot": {"id": 12}}}"#, "field data.bot.id is not a string"),
            (
                #"{"event": "bot.done", "data": {"bot": {"id": "b", "metadata": {"m": 1}}}}"#,
                "field data.bot.metadata.m is not a string"
            ),
            (
                #"{"event": "transcript.data", "data": {"data": {"words": [{"text": null}]}}}"#,
                "missing field data.data.words[0].text"
            ),
        ]
        for (body, problem) in cases {
            #expect(throws: RecallWebhookError.self, "\(body)") { try RecallWebhook(parsing: Array(body.utf8)) }
            do {
                _ = try RecallWebhook(parsing: Array(body.utf8))
            } catch {
                #expect("\(error)".hasPrefix(problem), "\(body)")
            }
        }
    }
}
