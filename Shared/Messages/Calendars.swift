import Foundation

/// A calendar provider told us that a watched calendar changed (a Google Calendar push
/// notification). Carries no calendar data: it only asks for an early sync.
public struct CalendarPushReceived: EventPayload {
    public static let messageType = MessageType("calendar.push.received", version: 1)
    public var provider: String
    public var channelID: String
    public var resourceID: String?
    /// "sync" when the channel opens, "exists" when the calendar changed, "not_exists" when it went away.
    public var resourceState: String
    public var messageNumber: Int?

    enum CodingKeys: String, CodingKey {
        case provider
        case channelID = "channel_id"
        case resourceID = "resource_id"
        case resourceState = "resource_state"
        case messageNumber = "message_number"
    }

    public init(provider: String, channelID: String, resourceID: String?, resourceState: String, messageNumber: Int?) {
        self.provider = provider
        self.channelID = channelID
        self.resourceID = resourceID
        self.resourceState = resourceState
        self.messageNumber = messageNumber
    }
}

/// A calendar connection stopped syncing because its owner's authorisation was withdrawn;
/// the owner must connect it again.
public struct CalendarReauthorisationNeeded: EventPayload {
    public static let messageType = MessageType("calendar.reauthorisation.needed", version: 1)
    public var connectionID: UUID
    public var owner: String
    public var provider: String
    public var calendarName: String
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case owner, provider, reason
        case connectionID = "connection_id"
        case calendarName = "calendar_name"
    }

    public init(connectionID: UUID, owner: String, provider: String, calendarName: String, reason: String) {
        self.connectionID = connectionID
        self.owner = owner
        self.provider = provider
        self.calendarName = calendarName
        self.reason = reason
    }
}

/// An operator asked, from the console, for a calendar connection to be synced now instead of
/// at its next scheduled time. Carries no calendar data: calendar-monitor brings the sync forward.
public struct CalendarSyncRequested: EventPayload {
    public static let messageType = MessageType("calendar.sync.requested", version: 1)
    public var connectionID: UUID
    /// Who asked, for the log: "console" for an operator signed in to `attache-ops serve`.
    public var requestedBy: String

    enum CodingKeys: String, CodingKey {
        case connectionID = "connection_id"
        case requestedBy = "requested_by"
    }

    public init(connectionID: UUID, requestedBy: String) {
        self.connectionID = connectionID
        self.requestedBy = requestedBy
    }
}
