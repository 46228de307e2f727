import Foundation
import HTTPClient
import Logging
import Resilience
import ServiceLifecycle
import Shared
import Synchronization

/// The embedded meeting provider: a local simulated meeting. A requested bot "joins", hears a
/// short scripted conversation and leaves, and every step reaches the gateway as a signed
/// webhook in Recall.ai's format, over HTTP, exactly as a real provider's would.
final class SimulatedMeeting: MeetingBotProvider, Service {
    let name = "simulated"
    private let webhookURL: String
    private let secret: WebhookSecret
    private let callLength: Duration
    private let http: HTTPClient
    /// When set, the call is also spoken: participants talk with the agent through its media
    /// connection. Without it, the call is only transcribed, as before.
    private let camera: SimulatedCamera?
    /// The camera page the bot is given, as a real provider is given it when the bot is created.
    private let cameraLink: CameraLink
    private let logger: Logger
    /// Bots already created, by idempotency key: asking twice starts one call.
    private let created = Mutex<[UUID: String]>([:])
    /// Bots called off: they do not join, or leave the call at its next step.
    private let removed = Mutex<Set<String>>([])
    private let requests: AsyncStream<Bot>
    private let enqueue: AsyncStream<Bot>.Continuation

    private struct Bot: Sendable {
        var botID: String
        var request: BotJoinRequested
        var cameraURL: String
    }

    init(
        webhookURL: String, secret: WebhookSecret, callLength: Duration, http: HTTPClient, camera: SimulatedCamera? = nil,
        cameraLink: CameraLink, logger: Logger
    ) {
        self.webhookURL = webhookURL
        self.secret = secret
        self.callLength = callLength
        self.http = http
        self.camera = camera
        self.cameraLink = cameraLink
        self.logger = logger
        (requests, enqueue) = AsyncStream.makeStream()
    }

    func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String {
        let (botID, isNew) = created.withLock { created in
            if let existing = created[idempotencyKey] { return (existing, false) }
            let botID = "sim-" + UUID().uuidString.lowercased()
            created[idempotencyKey] = botID
            return (botID, true)
        }
        // The call starts a moment later, as with a real provider; its first webhooks may still
        // beat the bot's row, and are then answered 503 and sent again.
        if isNew { enqueue.yield(Bot(botID: botID, request: request, cameraURL: cameraLink.url(for: request))) }
        return botID
    }

    func removeBot(_ botID: String, inCall: Bool) async throws {
        _ = removed.withLock { $0.insert(botID) }
    }

    /// The simulated call's script, as the provider would have transcribed it; no recording.
    func artifacts(of botID: String) async throws -> BotArtifacts? {
        let gap = callLength.secondsValue / Double(Self.script.count + 1)
        return BotArtifacts(
            transcript: Self.script.enumerated().map { index, line in
                .init(speaker: line.speaker, text: line.line, start: 1 + gap * Double(index + 1))
            }, recordingURL: nil)
    }

    /// Stops a call whose bot was called off, as Recall's bot leaves: call_ended, then done.
    private func checkRemoved(_ botID: String, inCall: Bool, metadata: [String: String]) async throws {
        guard removed.withLock({ $0.contains(botID) }) else { return }
        if inCall {
            try await sendStatus("call_ended", subCode: "bot_received_leave_call", botID: botID, metadata: metadata)
            try await sendStatus("done", botID: botID, metadata: metadata)
        }
        throw CancellationError()
    }

    /// Runs every simulated call until shutdown, which ends the calls still going.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await bot in requests.cancelOnGracefulShutdown() {
                group.addTask { await self.simulateCall(botID: bot.botID, request: bot.request, cameraURL: bot.cameraURL) }
            }
            group.cancelAll()
        }
    }

    static let script: [(speaker: String, line: String)] = [
        ("Alex Rivera", "Thanks everyone for joining, let's start with the hiring plan."),
        ("Jordan Lee", "What is on the agenda today?"),
        ("Sam Chen", "The budget review is done and we are on track for the quarter."),
        ("Alex Rivera", "Can the assistant capture the action items and send them after the call?"),
        ("Priya Natarajan", "One more thing, the incident retro is scheduled for Thursday."),
    ]

    private func simulateCall(botID: String, request: BotJoinRequested, cameraURL: String) async {
        let metadata = ["meeting_id": request.meetingID.uuidString.lowercased()]
        let started = Date()
        do {
            // The bot joins at its time, as a scheduled bot does.
            if let joinAt = request.joinAt, joinAt > Date() { try await Task.sleep(for: .seconds(joinAt.timeIntervalSinceNow)) }
            try await Task.sleep(for: .milliseconds(300))
            try await checkRemoved(botID, inCall: false, metadata: metadata)
            try await sendStatus("joining_call", botID: botID, metadata: metadata)
            try await Task.sleep(for: .milliseconds(700))
            try await sendStatus("in_call_recording", botID: botID, metadata: metadata)
            if let camera {
                let attended = try await camera.attend(cameraURL: cameraURL, lines: Self.script.map(\.line)) { index in
                    let (speaker, line) = Self.script[index]
                    try await self.sendTranscript(line, speaker: speaker, botID: botID, metadata: metadata, callStart: started)
                }
                logger.info(
                    "simulated call spoken", metadata: ["bot_id": "\(botID)", "agent_audio_frames": "\(attended.agentFrames)"])
            } else {
                let gap = callLength / (Self.script.count + 1)
                for (speaker, line) in Self.script {
                    try await Task.sleep(for: gap)
                    try await checkRemoved(botID, inCall: true, metadata: metadata)
                    try await sendTranscript(line, speaker: speaker, botID: botID, metadata: metadata, callStart: started)
                }
                try await Task.sleep(for: gap)
            }
            try await sendStatus("call_ended", botID: botID, metadata: metadata)
            try await Task.sleep(for: .milliseconds(300))
            try await sendStatus("done", botID: botID, metadata: metadata)
        } catch is CancellationError {
            logger.info("simulated call stopped by shutdown", metadata: ["bot_id": "\(botID)"])
        } catch {
            logger.error("simulated call failed", metadata: ["bot_id": "\(botID)", "error": "\(error)"])
        }
    }

    private func sendStatus(_ code: String, subCode: String? = nil, botID: String, metadata: [String: String]) async throws {
        let now = Date().formatted(.iso8601)
        try await send([
            "event": "bot.\(code)",
            "data": [
                "data": ["code": code, "sub_code": subCode ?? NSNull(), "updated_at": now] as [String: Any],
                "bot": ["id": botID, "metadata": metadata],
            ],
        ])
    }

    private func sendTranscript(
        _ line: String, speaker: String, botID: String, metadata: [String: String], callStart: Date
    ) async throws {
        let spoken = Date()
        let words = line.split(separator: " ").enumerated().map { index, word -> [String: Any] in
            let offset = spoken.timeIntervalSince(callStart) + Double(index) * 0.3
            return [
                "text": String(word),
                "start_timestamp": ["relative": offset, "absolute": callStart.addingTimeInterval(offset).formatted(.iso8601)],
                "end_timestamp": [
                    "relative": offset + 0.25, "absolute": callStart.addingTimeInterval(offset + 0.25).formatted(.iso8601),
                ],
            ]
        }
        try await send([
            "event": "transcript.data",
            "data": [
                "data": [
                    "words": words, "participant": ["id": abs(speaker.hashValue % 1000), "name": speaker, "is_host": false],
                ],
                "bot": ["id": botID, "metadata": metadata],
            ],
        ])
    }

    private func send(_ payload: [String: Any]) async throws {
        let body = Array(try JSONSerialization.data(withJSONObject: payload))
        let id = "msg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let timestamp = Int(Date().timeIntervalSince1970)
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: webhookURL,
                headers: [
                    ("Content-Type", "application/json"), ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
                    ("webhook-signature", secret.signature(id: id, timestamp: timestamp, body: body)),
                ],
                body: body, timeout: .seconds(15)))
        guard response.isSuccess else {
            throw HTTPClientError.unexpectedStatus(
                url: webhookURL, status: response.status, body: String(response.text.prefix(200)))
        }
    }
}
