import Foundation

public struct Participant: Codable, Sendable, Equatable {
    public var email: String
    public var name: String?

    public init(email: String, name: String? = nil) {
        self.email = email
        self.name = name
    }
}

/// A meeting as calendar-monitor last saw it. `meetingID` is assigned by calendar-monitor and
/// is the key every other service uses. `revision` grows with every change calendar-monitor
/// records (including a cancellation): events about one meeting can arrive out of order
/// (retries, replicas), and consumers apply only what is newer than what they hold.
public struct MeetingSnapshot: Codable, Sendable, Equatable {
    public var meetingID: UUID
    public var revision: Int
    public var source: String
    public var externalID: String
    public var title: String
    public var description: String
    public var start: Date
    public var end: Date
    public var organizer: Participant?
    public var attendees: [Participant]
    public var conferenceURL: String?

    enum CodingKeys: String, CodingKey {
        case title, description, start, end, organizer, attendees, source, revision
        case meetingID = "meeting_id"
        case externalID = "external_id"
        case conferenceURL = "conference_url"
    }

    public init(
        meetingID: UUID, revision: Int, source: String, externalID: String, title: String, description: String,
        start: Date, end: Date, organizer: Participant?, attendees: [Participant], conferenceURL: String?
    ) {
        self.meetingID = meetingID
        self.revision = revision
        self.source = source
        self.externalID = externalID
        self.title = title
        self.description = description
        self.start = start
        self.end = end
        self.organizer = organizer
        self.attendees = attendees
        self.conferenceURL = conferenceURL
    }
}

/// A meeting appeared or changed in a calendar. `changedFields` is empty for a new meeting.
public struct MeetingUpserted: EventPayload {
    public static let messageType = MessageType("meeting.upserted", version: 1)
    public var meeting: MeetingSnapshot
    public var isNew: Bool
    public var changedFields: [String]

    enum CodingKeys: String, CodingKey {
        case meeting
        case isNew = "is_new"
        case changedFields = "changed_fields"
    }

    public init(meeting: MeetingSnapshot, isNew: Bool, changedFields: [String]) {
        self.meeting = meeting
        self.isNew = isNew
        self.changedFields = changedFields
    }
}

/// A meeting was cancelled or deleted in its calendar.
public struct MeetingCancelled: EventPayload {
    public static let messageType = MessageType("meeting.cancelled", version: 1)
    public var meetingID: UUID
    /// The meeting's revision after the cancellation (see `MeetingSnapshot.revision`).
    public var revision: Int
    public var source: String
    public var externalID: String
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case source, reason, revision
        case meetingID = "meeting_id"
        case externalID = "external_id"
    }

    public init(meetingID: UUID, revision: Int, source: String, externalID: String, reason: String) {
        self.meetingID = meetingID
        self.revision = revision
        self.source = source
        self.externalID = externalID
        self.reason = reason
    }
}

/// The classifier decided what kind of meeting this is and when its preparation starts.
public struct MeetingClassified: EventPayload {
    public static let messageType = MessageType("meeting.classified", version: 1)
    public var meeting: MeetingSnapshot
    public var meetingType: String
    public var rule: String
    public var matchedKeywords: [String]
    public var prepTriggerAt: Date
    public var reminderAt: Date
    /// When the bot should be in the meeting: a few minutes before it starts.
    public var botJoinAt: Date
    public var prepQuestions: [String]
    /// The context the meeting's preparation gathers (budget, big_rocks, incidents, staffing,
    /// decisions). Added to v1 as an optional field: a message without it reads as none.
    public var contextRequired: [String]

    enum CodingKeys: String, CodingKey {
        case meeting, rule
        case botJoinAt = "bot_join_at"
        case meetingType = "meeting_type"
        case matchedKeywords = "matched_keywords"
        case prepTriggerAt = "prep_trigger_at"
        case reminderAt = "reminder_at"
        case prepQuestions = "prep_questions"
        case contextRequired = "context_required"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        meeting = try container.decode(MeetingSnapshot.self, forKey: .meeting)
        meetingType = try container.decode(String.self, forKey: .meetingType)
        rule = try container.decode(String.self, forKey: .rule)
        matchedKeywords = try container.decode([String].self, forKey: .matchedKeywords)
        prepTriggerAt = try container.decode(Date.self, forKey: .prepTriggerAt)
        reminderAt = try container.decode(Date.self, forKey: .reminderAt)
        botJoinAt = try container.decode(Date.self, forKey: .botJoinAt)
        prepQuestions = try container.decode([String].self, forKey: .prepQuestions)
        contextRequired = try container.decodeIfPresent([String].self, forKey: .contextRequired) ?? []
    }

    public init(
        meeting: MeetingSnapshot, meetingType: String, rule: String, matchedKeywords: [String], prepTriggerAt: Date,
        reminderAt: Date, botJoinAt: Date, prepQuestions: [String], contextRequired: [String] = []
    ) {
        self.botJoinAt = botJoinAt
        self.meeting = meeting
        self.meetingType = meetingType
        self.rule = rule
        self.matchedKeywords = matchedKeywords
        self.prepTriggerAt = prepTriggerAt
        self.reminderAt = reminderAt
        self.prepQuestions = prepQuestions
        self.contextRequired = contextRequired
    }
}

/// A classified meeting was cancelled: its preparation should stop.
public struct ClassificationCancelled: EventPayload {
    public static let messageType = MessageType("classification.cancelled", version: 1)
    public var meetingID: UUID
    public var meetingRevision: Int
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case reason
        case meetingID = "meeting_id"
        case meetingRevision = "meeting_revision"
    }

    public init(meetingID: UUID, meetingRevision: Int, reason: String) {
        self.meetingID = meetingID
        self.meetingRevision = meetingRevision
        self.reason = reason
    }
}
