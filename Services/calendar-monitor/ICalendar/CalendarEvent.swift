import Foundation

public enum EventStatus: String, Sendable, Equatable, Codable {
    case confirmed
    case tentative
    case cancelled
}

public struct Attendee: Sendable, Equatable, Codable {
    /// Address without the `mailto:` scheme, as written (not lower-cased: the local part of
    /// an address is case-sensitive in principle, so matching is left to the caller).
    public var email: String
    /// The CN parameter: the display name the organiser's calendar knows.
    public var name: String?
    /// PARTSTAT upper-cased (ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION, DELEGATED).
    public var participation: String?
    /// ROLE upper-cased (CHAIR, REQ-PARTICIPANT, OPT-PARTICIPANT, NON-PARTICIPANT).
    public var role: String?

    public init(email: String, name: String? = nil, participation: String? = nil, role: String? = nil) {
        self.email = email
        self.name = name
        self.participation = participation
        self.role = role
    }
}

public struct CalendarEvent: Sendable, Equatable {
    public var uid: String
    /// RECURRENCE-ID, when the event overrides one instance of a recurring series. In the
    /// output of `ICalendar.occurrences`, also the original start of every generated instance
    /// of a series (nil only for events that do not recur).
    public var recurrenceID: Date?
    public var sequence: Int
    /// SUMMARY ("" if missing).
    public var title: String
    public var description: String
    public var location: String?
    public var start: Date
    /// DTEND, or DTSTART+DURATION, or start+1 day for all-day, start for timed without end.
    public var end: Date
    public var isAllDay: Bool
    public var status: EventStatus
    public var organizer: Attendee?
    public var attendees: [Attendee]
    /// First Zoom, Meet, Teams or Webex join link found (see ConferenceLink).
    public var conferenceURL: String?
    /// Raw RRULE value, kept so a later stage can expand the series (`ICalendar.occurrences`
    /// does); not expanded by `ICalendar.events`.
    public var recurrenceRule: String?

    public init(
        uid: String, recurrenceID: Date? = nil, sequence: Int, title: String, description: String, location: String? = nil,
        start: Date, end: Date, isAllDay: Bool, status: EventStatus, organizer: Attendee? = nil, attendees: [Attendee],
        conferenceURL: String? = nil, recurrenceRule: String? = nil
    ) {
        self.uid = uid
        self.recurrenceID = recurrenceID
        self.sequence = sequence
        self.title = title
        self.description = description
        self.location = location
        self.start = start
        self.end = end
        self.isAllDay = isAllDay
        self.status = status
        self.organizer = organizer
        self.attendees = attendees
        self.conferenceURL = conferenceURL
        self.recurrenceRule = recurrenceRule
    }
}
