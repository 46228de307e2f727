import Foundation
import HTTPTypes
import Hummingbird
import Shared
import Synchronization
import TestSupport
import Testing

@testable import BotGateway

/// The fake Recall's webhooks as the gateway reads them: its signature check and its payload
/// reader, so that the fake cannot drift from what the gateway accepts.
@Suite("Fake Recall webhooks, read by the gateway")
struct FakeRecallWebhookTests {
    @Test("the fake's status and transcript webhooks pass the gateway's signature check and read as what they say")
    func gatewayReadsFakeWebhooks() async throws {
        final class Received: Sendable {
            let meanings = Mutex<[RecallWebhook.Meaning]>([])
        }
        let received = Received()
        let secret = try #require(WebhookSecret(FakeRecall.webhookSecret))
        let receiver = try await FakeServer { router, _ in
            router.post("/webhooks/recall") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                func header(_ name: String) -> String? { request.headers[HTTPField.Name(name)!] }
                do {
                    try secret.verify(
                        id: header("webhook-id"), timestamp: header("webhook-timestamp"),
                        signatures: header("webhook-signature"), body: body)
                } catch { return Response(status: .unauthorized) }
                let webhook = try RecallWebhook(parsing: Array(body))
                received.meanings.withLock { $0.append(webhook.meaning(receivedAt: Date())) }
                return Response(status: .ok)
            }
        }
        defer { receiver.stop() }
        let fake = try await FakeRecall(webhookURL: receiver.url + "/webhooks/recall")
        defer { fake.stop() }
        let botID = try fake.createDirectly(
            body: [
                "meeting_url": "https://meet.google.com/abc-defg-hij", "metadata": ["meeting_id": "m-1"],
                "recording_config": [
                    "realtime_endpoints": [
                        ["type": "webhook", "url": receiver.url + "/webhooks/recall", "events": ["transcript.data"]]
                    ]
                ],
            ])
        #expect(try await fake.advance(botID, to: "in_waiting_room") == [200])
        #expect(try await fake.speak(botID, speaker: "Sam Chen", text: "The budget review is done") == [200])
        #expect(try await fake.advance(botID, to: "fatal", subCode: "bot_kicked_from_waiting_room") == [200])
        let meanings = received.meanings.withLock { $0 }
        guard meanings.count == 3, case .status(let id, let metadata, let status, _, _) = meanings[0],
            case .transcript(_, _, let speaker, let text, _) = meanings[1],
            case .status(_, _, let last, let subCode, _) = meanings[2]
        else {
            Issue.record("read as \(meanings)")
            return
        }
        #expect(id == botID)
        #expect(metadata == ["meeting_id": "m-1"])
        #expect(status == BotStatus(rawValue: "in_waiting_room"))
        #expect(speaker == "Sam Chen")
        #expect(text == "The budget review is done")
        #expect(last == BotStatus(rawValue: "fatal"))
        #expect(subCode == "bot_kicked_from_waiting_room")
    }
}
