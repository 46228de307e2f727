import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Recall
import Synchronization
import TestSupport
import Testing

/// The Recall.ai client against the fake Recall, and the fake's signed, retried webhooks.
@Suite("Recall.ai bot API client")
struct RecallClientTests {
    /// A clock that moves only by the sleeps asked of it, and remembers them: retries and the
    /// create limiter are checked without waiting.
    final class ManualClock: Sendable {
        private let origin = ContinuousClock.now
        private let state = Mutex<(offset: Duration, sleeps: [Duration])>((.zero, []))

        var sleeps: [Duration] { state.withLock { $0.sleeps } }
        var timing: RecallTiming {
            RecallTiming(
                now: { self.origin + self.state.withLock { $0.offset } },
                sleep: { duration in
                    self.state.withLock {
                        $0.sleeps.append(duration)
                        $0.offset += duration
                    }
                })
        }
    }

    func client(
        _ fake: FakeRecall, apiKey: String = FakeRecall.apiKey, clock: ManualClock = ManualClock(),
        retries: RecallClient.Retries = RecallClient.Retries()
    ) -> RecallClient {
        RecallClient(
            configuration: .init(region: .usWest2, apiKey: apiKey, baseURL: fake.apiURL), retries: retries, timing: clock.timing,
            logger: TestStack.logger)
    }

    let meeting = "https://meet.google.com/abc-defg-hij"

    @Test("a bot is created with its meeting, name, metadata, camera page, real-time transcript endpoint and leave timeouts")
    func createBody() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        let bot = try await client(fake).createBot(
            CreateBot(
                meetingURL: meeting, botName: "Attaché", metadata: ["meeting_id": "m-1", "tenant": "t-1"],
                cameraPageURL: "https://attache.example/camera/m-1",
                transcriptWebhookURL: "https://attache.example/webhooks/recall"
            ))
        let sent = try #require(fake.created.first)
        #expect(sent.id == bot.id)
        #expect(sent.authorization == "Token \(FakeRecall.apiKey)")
        let body = sent.json
        #expect(body["meeting_url"] as? String == meeting)
        #expect(body["bot_name"] as? String == "Attaché")
        #expect(body["join_at"] == nil)
        #expect(body["metadata"] as? [String: String] == ["meeting_id": "m-1", "tenant": "t-1"])
        let camera = (body["output_media"] as? [String: Any])?["camera"] as? [String: Any]
        #expect(camera?["kind"] as? String == "webpage")
        #expect((camera?["config"] as? [String: Any])?["url"] as? String == "https://attache.example/camera/m-1")
        let leave = try #require(body["automatic_leave"] as? [String: Any])
        #expect((leave["everyone_left_timeout"] as? [String: Any])?["timeout"] as? Int == 30)
        #expect(leave["waiting_room_timeout"] as? Int == 1200)
        #expect(leave["noone_joined_timeout"] as? Int == 1200)
        #expect(leave["in_call_not_recording_timeout"] as? Int == 3600)
        let recording = try #require(body["recording_config"] as? [String: Any])
        let endpoints = try #require(recording["realtime_endpoints"] as? [[String: Any]])
        #expect(endpoints.count == 1)
        #expect(endpoints.first?["type"] as? String == "webhook")
        #expect(endpoints.first?["url"] as? String == "https://attache.example/webhooks/recall")
        #expect(endpoints.first?["events"] as? [String] == ["transcript.data"])
        let provider = (recording["transcript"] as? [String: Any])?["provider"] as? [String: Any]
        #expect((provider?["recallai_streaming"] as? [String: Any])?["mode"] as? String == "prioritize_low_latency")
    }

    @Test("a bot is scheduled with join_at only when it would join more than ten minutes from now")
    func scheduling() async throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let far = RecallClient.joinAt(meetingStart: now + 20 * 60, earlyJoin: .seconds(120), now: now)
        #expect(far == now + 18 * 60)
        #expect(RecallClient.joinAt(meetingStart: now + 11 * 60, earlyJoin: .seconds(120), now: now) == nil)
        #expect(RecallClient.joinAt(meetingStart: now + 10 * 60, earlyJoin: .zero, now: now) == nil)
        #expect(RecallClient.joinAt(meetingStart: now - 60, earlyJoin: .zero, now: now) == nil)

        let fake = try await FakeRecall()
        defer { fake.stop() }
        let joinAt = Date(timeIntervalSince1970: 1_900_000_000.25)
        _ = try await client(fake).createBot(CreateBot(meetingURL: meeting, botName: "Attaché", joinAt: joinAt))
        let sent = try #require(fake.created.first?.json["join_at"] as? String)
        #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(sent) == joinAt)
    }

    @Test("an automatic-leave timeout out of range is refused, naming the field, before anything is sent")
    func leaveTimeoutRange() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        let tooShort = CreateBot(
            meetingURL: meeting, botName: "Attaché", automaticLeave: .init(waitingRoomTimeout: .zero))
        do {
            _ = try await client(fake).createBot(tooShort)
            Issue.record("a zero timeout was accepted")
        } catch RecallError.invalid(let field, _) {
            #expect(field == "automatic_leave.waiting_room_timeout")
        }
        let tooLong = CreateBot(
            meetingURL: meeting, botName: "Attaché", automaticLeave: .init(everyoneLeftTimeout: .seconds(90_000)))
        do {
            _ = try await client(fake).createBot(tooLong)
            Issue.record("a day-long timeout was accepted")
        } catch RecallError.invalid(let field, _) {
            #expect(field == "automatic_leave.everyone_left_timeout")
        }
        #expect(fake.createAttempts == 0)
    }

    @Test("a refused API key is a configuration error that names the settings to check")
    func unauthorized() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        do {
            _ = try await client(fake, apiKey: "wrong").createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
            Issue.record("a wrong key was accepted")
        } catch let error as RecallError {
            #expect(error == .unauthorized(status: 401))
            #expect(error.description.contains("ATTACHE_RECALL_API_KEY"))
            #expect(error.description.contains("ATTACHE_RECALL_REGION"))
            #expect(!error.description.contains("wrong"))
        }
        #expect(fake.created.isEmpty)
        #expect(!RecallClient.Configuration(region: .euCentral1, apiKey: "secret-key").description.contains("secret-key"))
        #expect(RecallClient.Configuration(region: .euCentral1, apiKey: "k").baseURL == "https://eu-central-1.recall.ai/api/v1")
    }

    @Test("Recall's 400 for a meeting URL it does not know comes back naming meeting_url")
    func invalidMeetingURL() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        do {
            _ = try await client(fake).createBot(CreateBot(meetingURL: "https://example.com/standup", botName: "Attaché"))
            Issue.record("an unknown meeting URL was accepted")
        } catch let error as RecallError {
            #expect(error == .invalid(field: "meeting_url", message: "Invalid meeting URL"))
        }
    }

    @Test("a 429 is waited out for as long as Retry-After asks, then the bot is created")
    func rateLimited() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        fake.failNextCreates(1, with: .rateLimited(retryAfterSeconds: 7))
        let clock = ManualClock()
        _ = try await client(fake, clock: clock).createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
        #expect(clock.sleeps == [.seconds(7)])
        #expect(fake.createAttempts == 2)
        #expect(fake.created.count == 1)
    }

    @Test("a 507 (no ad-hoc bot free) is tried again every 30 seconds, and given up after the allowed attempts")
    func noBotAvailable() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        fake.failNextCreates(2, with: .noBotAvailable)
        let clock = ManualClock()
        _ = try await client(fake, clock: clock).createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
        #expect(clock.sleeps == [.seconds(30), .seconds(30)])
        #expect(fake.created.count == 1)

        fake.failNextCreates(5, with: .noBotAvailable)
        let patient = ManualClock()
        do {
            _ = try await client(fake, clock: patient, retries: .init(noBotAvailableAttempts: 3)).createBot(
                CreateBot(meetingURL: meeting, botName: "Attaché"))
            Issue.record("created while every answer was 507")
        } catch let error as RecallError {
            #expect(error == .noBotAvailable(attempts: 3))
            #expect(error.isTransient)
        }
        #expect(patient.sleeps == [.seconds(30), .seconds(30)])
    }

    @Test("a 409 (the same request still in progress) is retried with backoff, and the idempotency key is sent")
    func conflict() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        fake.failNextCreates(2, with: .conflict)
        let clock = ManualClock()
        let recall = client(fake, clock: clock)
        let first = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché", idempotencyKey: "meeting-m-1"))
        #expect(clock.sleeps.count == 2)
        #expect(clock.sleeps.allSatisfy { $0 > .zero && $0 <= .seconds(2) } == true)
        let again = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché", idempotencyKey: "meeting-m-1"))
        #expect(again.id == first.id)
        #expect(fake.created.count == 1)
        #expect(fake.created.first?.idempotencyKey == "meeting-m-1")
    }

    @Test("a scheduled bot is deleted; one already sent to its call answers 405 as alreadyJoined and is made to leave")
    func deleteAndLeave() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        let recall = client(fake)
        let scheduled = try await recall.createBot(
            CreateBot(meetingURL: meeting, botName: "Attaché", joinAt: Date() + 3600))
        try await recall.deleteBot(id: scheduled.id)
        #expect(fake.deleted == [scheduled.id])
        await #expect(throws: RecallError.notFound("bot \(scheduled.id)")) { try await recall.retrieveBot(id: scheduled.id) }

        let joined = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
        try await fake.advance(joined.id, to: "joining_call")
        await #expect(throws: RecallError.alreadyJoined(botID: joined.id)) { try await recall.deleteBot(id: joined.id) }
        try await recall.leaveCall(id: joined.id)
        #expect(fake.leaveCalls == [joined.id])
        #expect(try await recall.retrieveBot(id: joined.id).status?.code == "joining_call")
    }

    @Test("a done bot's transcript and video are found through its media shortcuts, and the transcript read by speaker")
    func transcriptDownload() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        let recall = client(fake)
        let bot = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
        try await fake.advance(bot.id, to: "in_call_recording")
        #expect(try await recall.transcript(botID: bot.id) == nil)
        try await fake.advance(bot.id, to: "call_ended", subCode: "call_ended_by_host")
        try await fake.advance(bot.id, to: "done")
        let transcriptURL = try #require(try await recall.transcript(botID: bot.id))
        #expect(try await recall.recording(botID: bot.id)?.hasSuffix("video.mp4") == true)
        let segments = try await recall.downloadTranscript(url: transcriptURL)
        #expect(segments.map(\.speaker) == ["Alex Rivera", "Jordan Lee"])
        #expect(segments.map(\.text) == FakeRecall.defaultTranscript.map(\.text))
        #expect(segments[0].start == 0)
        #expect((segments[1].start ?? 0) > (segments[0].end ?? 0))
        #expect(segments[0].words.first?.startedAt != nil)
        let statuses = try await recall.retrieveBot(id: bot.id).statusChanges
        #expect(statuses.map(\.code) == ["in_call_recording", "call_ended", "done"])
        #expect(statuses[1].subCode == "call_ended_by_host")
    }

    @Test("the 121st create within a minute waits until the first leaves the window")
    func createLimit() async throws {
        let fake = try await FakeRecall()
        defer { fake.stop() }
        let clock = ManualClock()
        let recall = client(fake, clock: clock)
        for _ in 0..<120 { _ = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché")) }
        #expect(clock.sleeps.isEmpty)
        _ = try await recall.createBot(CreateBot(meetingURL: meeting, botName: "Attaché"))
        #expect(clock.sleeps == [.seconds(60)])
        #expect(fake.createAttempts == 121)
    }

    @Test("the fake's status webhooks are signed as Recall signs them, and sent again with the same id after a 503")
    func signedRetriedWebhooks() async throws {
        final class Received: Sendable {
            let entries = Mutex<[(id: String, valid: Bool, body: [UInt8])]>([])
        }
        let received = Received()
        let secret = try #require(RecallWebhookSecret(FakeRecall.webhookSecret))
        let receiver = try await FakeServer { router, recorder in
            router.post("/webhooks/recall") { request, _ -> Response in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                func header(_ name: String) -> String { request.headers[HTTPField.Name(name)!] ?? "" }
                let valid = secret.isValid(
                    id: header("webhook-id"), timestamp: header("webhook-timestamp"), signatures: header("webhook-signature"),
                    body: body)
                received.entries.withLock { $0.append((header("webhook-id"), valid, body)) }
                return Response(status: recorder.hit() == 1 ? .serviceUnavailable : .noContent)
            }
        }
        defer { receiver.stop() }
        let fake = try await FakeRecall(webhookURL: receiver.url + "/webhooks/recall")
        defer { fake.stop() }
        let bot = try await client(fake).createBot(
            CreateBot(meetingURL: meeting, botName: "Attaché", metadata: ["meeting_id": "m-1"]))
        let statuses = try await fake.advance(bot.id, to: "joining_call")
        #expect(statuses == [503, 204])
        let entries = received.entries.withLock { $0 }
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0.valid })
        #expect(Set(entries.map(\.id)).count == 1)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(entries[1].body)) as? [String: Any])
        #expect(payload["event"] as? String == "bot.joining_call")
        let data = payload["data"] as? [String: Any]
        #expect((data?["data"] as? [String: Any])?["code"] as? String == "joining_call")
        #expect((data?["bot"] as? [String: Any])?["id"] as? String == bot.id)
        #expect((data?["bot"] as? [String: Any])?["metadata"] as? [String: String] == ["meeting_id": "m-1"])
        // A forged signature is told apart.
        #expect(
            !secret.isValid(
                id: entries[0].id, timestamp: "\(Int(Date().timeIntervalSince1970))", signatures: "v1,AAAA", body: entries[0].body
            ))
    }

    @Test("webhook signatures follow the Standard Webhooks example, which bot-gateway checks too")
    func signatureVector() throws {
        let secret = try #require(RecallWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let valid = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        #expect(secret.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body) == valid)
        let moment = Date(timeIntervalSince1970: 1_614_265_330)
        #expect(
            secret.isValid(
                id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signatures: "v1,bm90 \(valid)", body: body,
                now: moment))
        #expect(
            !secret.isValid(
                id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signatures: valid, body: body,
                now: moment.addingTimeInterval(301)))
        #expect("\(secret)" == "whsec_***")
    }
}
