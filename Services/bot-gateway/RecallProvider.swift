import Delivery
import Foundation
import Recall
import Shared

/// Real bots through Recall.ai: asked ahead of time, a bot is scheduled with `join_at` (Recall
/// joins those on time); within 10 minutes of its join time it joins at once. The bot's camera
/// shows the call's camera page, its transcript streams to the gateway's webhook, and it leaves
/// as `automaticLeave` says (30 s after everyone else has left, as the design asks).
struct RecallProvider: MeetingBotProvider {
    struct Settings: Sendable {
        /// bot-gateway's `/webhooks/recall` as Recall reaches it: real-time transcript segments.
        var transcriptWebhookURL: String
        var automaticLeave = CreateBot.AutomaticLeave()
    }

    struct NoMeetingLink: Error, CustomStringConvertible {
        var meeting: UUID
        var description: String { "meeting \(meeting) has no conference link for a bot to join" }
    }

    let name = "recall"
    let client: RecallClient
    let settings: Settings
    /// The camera page of the call, with its token, for the bot's camera; nil: no camera.
    let cameraURL: @Sendable (BotJoinRequested) -> String?
    var clock: @Sendable () -> Date = { Date() }

    func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String {
        guard let meetingURL = request.meetingURL else { throw PermanentFailure("\(NoMeetingLink(meeting: request.meetingID))") }
        let joinAt = request.joinAt.flatMap { $0.timeIntervalSince(clock()) > 600 ? $0 : nil }
        do {
            return try await create(meetingURL: meetingURL, joinAt: joinAt, request: request, idempotencyKey: idempotencyKey)
        } catch let error as RecallError {
            // Retrying cannot fix these: the request is parked at once, with the reason, for an
            // operator to replay once the key or the meeting's link is fixed.
            switch error {
            case .unauthorized, .invalid: throw PermanentFailure("\(error)")
            default: throw error
            }
        }
    }

    private func create(meetingURL: String, joinAt: Date?, request: BotJoinRequested, idempotencyKey: UUID) async throws
        -> String
    {
        let bot = try await client.createBot(
            CreateBot(
                meetingURL: meetingURL, botName: request.botName, joinAt: joinAt,
                metadata: ["meeting_id": request.meetingID.uuidString.lowercased()],
                cameraPageURL: cameraURL(request), transcriptWebhookURL: settings.transcriptWebhookURL,
                automaticLeave: settings.automaticLeave, idempotencyKey: idempotencyKey.uuidString.lowercased()))
        return bot.id
    }

    func removeBot(_ botID: String, inCall: Bool) async throws {
        do {
            if inCall { try await client.leaveCall(id: botID) } else { try await client.deleteBot(id: botID) }
        } catch RecallError.alreadyJoined {
            // Dispatched meanwhile: it can only be asked to leave.
            try await client.leaveCall(id: botID)
        } catch RecallError.notFound {
            // Gone already.
        }
    }

    func artifacts(of botID: String) async throws -> BotArtifacts? {
        guard let transcript = try await client.transcript(botID: botID) else { return nil }
        let segments = try await client.downloadTranscript(url: transcript)
        return BotArtifacts(
            transcript: segments.map { .init(speaker: $0.speaker ?? "unknown speaker", text: $0.text, start: $0.start ?? 0) },
            recordingURL: try await client.recording(botID: botID))
    }
}
