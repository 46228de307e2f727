import Foundation

/// The owner was notified that preparation can start (recorded in the notification channel).
public struct PrepNotificationSent: EventPayload {
    public static let messageType = MessageType("prep.notification.sent", version: 1)
    public var workflowID: UUID
    public var meetingID: UUID
    public var channel: String
    public var recipient: String
    public var text: String

    enum CodingKeys: String, CodingKey {
        case channel, recipient, text
        case workflowID = "workflow_id"
        case meetingID = "meeting_id"
    }

    public init(workflowID: UUID, meetingID: UUID, channel: String, recipient: String, text: String) {
        self.workflowID = workflowID
        self.meetingID = meetingID
        self.channel = channel
        self.recipient = recipient
        self.text = text
    }
}

/// Send a bot into the meeting, at `joinAt` (or at once without it). Asked again for the same
/// meeting with other times when the meeting moved.
public struct BotJoinRequested: EventPayload {
    public static let messageType = MessageType("bot.join.requested", version: 1)
    public var meetingID: UUID
    public var workflowID: UUID
    public var meetingURL: String?
    public var botName: String
    public var meetingTitle: String
    public var meetingStart: Date
    public var meetingEnd: Date
    /// When the bot should be in the meeting (a few minutes before its start).
    public var joinAt: Date?

    enum CodingKeys: String, CodingKey {
        case meetingID = "meeting_id"
        case workflowID = "workflow_id"
        case meetingURL = "meeting_url"
        case botName = "bot_name"
        case meetingTitle = "meeting_title"
        case meetingStart = "meeting_start"
        case meetingEnd = "meeting_end"
        case joinAt = "join_at"
    }

    public init(
        meetingID: UUID, workflowID: UUID, meetingURL: String?, botName: String, meetingTitle: String,
        meetingStart: Date, meetingEnd: Date, joinAt: Date? = nil
    ) {
        self.meetingID = meetingID
        self.workflowID = workflowID
        self.meetingURL = meetingURL
        self.botName = botName
        self.meetingTitle = meetingTitle
        self.meetingStart = meetingStart
        self.meetingEnd = meetingEnd
        self.joinAt = joinAt
    }
}

/// The meeting was cancelled after its bot was asked for: a scheduled bot is called off, one
/// already in the call is asked to leave.
public struct BotJoinCancelled: EventPayload {
    public static let messageType = MessageType("bot.join.cancelled", version: 1)
    public var meetingID: UUID
    public var workflowID: UUID
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case reason
        case meetingID = "meeting_id"
        case workflowID = "workflow_id"
    }

    public init(meetingID: UUID, workflowID: UUID, reason: String) {
        self.meetingID = meetingID
        self.workflowID = workflowID
        self.reason = reason
    }
}

/// The preparation workflow's materials for a meeting, for the agent to know in the call. A
/// later generation replaces an earlier one whole.
public struct PrepMaterialsReady: EventPayload {
    public static let messageType = MessageType("prep.materials.ready", version: 1)

    /// An answer the owner gave to a prep question, or a fact the workflow gathered.
    public struct Note: Sendable, Codable, Equatable {
        public var label: String
        public var text: String
        public init(label: String, text: String) {
            self.label = label
            self.text = text
        }
    }

    public var workflowID: UUID
    public var meetingID: UUID
    public var generatedAt: Date
    public var agenda: [String]
    /// Questions the meeting should get answered.
    public var questionBank: [String]
    public var notes: [Note]

    enum CodingKeys: String, CodingKey {
        case agenda, notes
        case workflowID = "workflow_id"
        case meetingID = "meeting_id"
        case generatedAt = "generated_at"
        case questionBank = "question_bank"
    }

    public init(
        workflowID: UUID, meetingID: UUID, generatedAt: Date, agenda: [String], questionBank: [String], notes: [Note]
    ) {
        self.workflowID = workflowID
        self.meetingID = meetingID
        self.generatedAt = generatedAt
        self.agenda = agenda
        self.questionBank = questionBank
        self.notes = notes
    }
}
