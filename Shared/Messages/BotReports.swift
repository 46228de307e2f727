import Foundation

/// Something went wrong with a meeting's bot that its owner should hear about, as bot-gateway
/// noticed it: a fatal status or an early end with its sub-code (`meeting_not_found`,
/// `bot_kicked_from_waiting_room`…), recording permission denied, or a bot silent past its join
/// time or stalled in the waiting room. `explanation` is for people; `problem` for programs.
public struct BotProblemDetected: EventPayload {
    public static let messageType = MessageType("bot.problem.detected", version: 1)
    public var meetingID: UUID
    public var botID: String
    /// The sub-code, or `silent_past_join_time`, `stalled_in_waiting_room`.
    public var problem: String
    public var status: BotStatus?
    public var explanation: String
    public var detectedAt: Date

    enum CodingKeys: String, CodingKey {
        case problem, status, explanation
        case meetingID = "meeting_id"
        case botID = "bot_id"
        case detectedAt = "detected_at"
    }

    public init(meetingID: UUID, botID: String, problem: String, status: BotStatus?, explanation: String, detectedAt: Date) {
        self.meetingID = meetingID
        self.botID = botID
        self.problem = problem
        self.status = status
        self.explanation = explanation
        self.detectedAt = detectedAt
    }
}

/// What a finished call left at the meeting provider, fetched once the bot is done: the
/// provider's transcript (for when the live one is missing or incomplete) and where the
/// recording can be downloaded (a link that expires, as the provider issues it).
public struct BotArtifactsReady: EventPayload {
    public static let messageType = MessageType("bot.artifacts.ready", version: 1)

    public struct Segment: Sendable, Codable, Equatable {
        public var speaker: String
        public var text: String
        /// Seconds from the start of the recording.
        public var start: Double

        public init(speaker: String, text: String, start: Double) {
            self.speaker = speaker
            self.text = text
            self.start = start
        }
    }

    public var meetingID: UUID
    public var botID: String
    public var transcript: [Segment]
    public var recordingURL: String?
    public var fetchedAt: Date

    enum CodingKeys: String, CodingKey {
        case transcript
        case meetingID = "meeting_id"
        case botID = "bot_id"
        case recordingURL = "recording_url"
        case fetchedAt = "fetched_at"
    }

    public init(meetingID: UUID, botID: String, transcript: [Segment], recordingURL: String?, fetchedAt: Date) {
        self.meetingID = meetingID
        self.botID = botID
        self.transcript = transcript
        self.recordingURL = recordingURL
        self.fetchedAt = fetchedAt
    }
}
