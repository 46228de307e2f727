import Foundation
import ICalendar

/// One page of `events.list` (https://developers.google.com/calendar/api/v3/reference/events/list).
struct EventsPage: Decodable, Sendable {
    var items: [GoogleEvent]?
    /// The calendar's time zone (an IANA name).
    var timeZone: String?
    var nextPageToken: String?
    var nextSyncToken: String?
}

/// The parts of an Event resource (https://developers.google.com/calendar/api/v3/reference/events)
/// that become a meeting. A deleted event may carry only `id` and `status`.
struct GoogleEvent: Decodable, Sendable {
    struct Time: Decodable, Sendable {
        /// All-day: `yyyy-mm-dd`.
        var date: String?
        /// RFC 3339, with an offset unless `timeZone` is given.
        var dateTime: String?
        var timeZone: String?
    }

    struct Person: Decodable, Sendable {
        var email: String?
        var displayName: String?
        /// needsAction, declined, tentative, accepted.
        var responseStatus: String?
        var optional: Bool?
        /// A room or other resource, not a person.
        var resource: Bool?
        var organizer: Bool?
    }

    struct ConferenceData: Decodable, Sendable {
        struct EntryPoint: Decodable, Sendable {
            /// video, phone, sip, more.
            var entryPointType: String?
            var uri: String?
        }
        var entryPoints: [EntryPoint]?
    }

    var id: String
    /// confirmed, tentative, cancelled.
    var status: String?
    /// default, fromGmail, outOfOffice, focusTime, workingLocation, birthday. events.list returns
    /// every type unless `eventTypes` narrows it.
    var eventType: String?
    var summary: String?
    var description: String?
    var location: String?
    var start: Time?
    var end: Time?
    var sequence: Int?
    var organizer: Person?
    var attendees: [Person]?
    var hangoutLink: String?
    var conferenceData: ConferenceData?
    /// Set on each instance of a recurring series (with `originalStartTime`).
    var recurringEventId: String?
    var originalStartTime: Time?

    /// Blocks of the owner's own time, not meetings: never turned into meetings.
    static let nonMeetingTypes: Set<String> = ["outOfOffice", "focusTime", "workingLocation", "birthday"]

    var isMeeting: Bool { eventType.map { !Self.nonMeetingTypes.contains($0) } ?? true }

    /// The event as a meeting occurrence, or nil when it has no readable start (a deleted event
    /// that arrives as a bare id). All-day dates and times without an offset are read in the
    /// event's own zone, else `calendarZone`.
    func calendarEvent(calendarZone: TimeZone) -> CalendarEvent? {
        guard let start, let begins = GoogleTimes.date(start, defaultZone: calendarZone) else { return nil }
        let isAllDay = start.dateTime == nil
        let zone = start.timeZone.flatMap(TimeZone.init(identifier:)) ?? calendarZone
        let ends: Date
        if let end, let parsed = GoogleTimes.date(end, defaultZone: zone) {
            ends = parsed
        } else if isAllDay {
            ends = GoogleTimes.addingDays(1, to: begins, in: zone)
        } else {
            ends = begins
        }
        let eventStatus: EventStatus =
            switch status {
            case "cancelled": .cancelled
            case "tentative": .tentative
            default: .confirmed
            }
        let location = location.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        return CalendarEvent(
            uid: id, recurrenceID: nil, sequence: sequence ?? 0, title: summary ?? "", description: description ?? "",
            location: location, start: begins, end: max(ends, begins), isAllDay: isAllDay, status: eventStatus,
            organizer: organizer.flatMap { person in
                person.email.map { Attendee(email: $0, name: Self.nonEmpty(person.displayName), participation: nil, role: nil) }
            },
            attendees: (attendees ?? []).compactMap(Self.attendee(from:)),
            conferenceURL: conferenceURL(location: location), recurrenceRule: nil)
    }

    /// Meet's `hangoutLink`, else the first video entry point of `conferenceData` (Meet, or a
    /// third-party add-on such as Zoom), else a join link written in the location or description.
    func conferenceURL(location: String?) -> String? {
        let structured = [hangoutLink] + (conferenceData?.entryPoints ?? []).filter { $0.entryPointType == "video" }.map(\.uri)
        if let link = structured.compactMap({ $0 }).first(where: { $0.lowercased().hasPrefix("https://") }) {
            return link
        }
        return ConferenceLink.find(in: [location, description].compactMap { $0 })
    }

    static func attendee(from person: Person) -> Attendee? {
        guard let email = nonEmpty(person.email) else { return nil }
        let participation: String? =
            switch person.responseStatus {
            case "accepted": "ACCEPTED"
            case "declined": "DECLINED"
            case "tentative": "TENTATIVE"
            case "needsAction": "NEEDS-ACTION"
            default: nil
            }
        let role =
            if person.resource == true { "NON-PARTICIPANT" } else if person.organizer == true {
                "CHAIR"
            } else if person.optional == true { "OPT-PARTICIPANT" } else { "REQ-PARTICIPANT" }
        return Attendee(email: email, name: nonEmpty(person.displayName), participation: participation, role: role)
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }
}

/// Google's date and time values.
enum GoogleTimes {
    /// `dateTime` (RFC 3339; without an offset, wall-clock time in `timeZone` or `defaultZone`),
    /// or `date` (midnight starting that day in `timeZone` or `defaultZone`).
    static func date(_ time: GoogleEvent.Time, defaultZone: TimeZone) -> Date? {
        let zone = time.timeZone.flatMap(TimeZone.init(identifier:)) ?? defaultZone
        if let dateTime = time.dateTime { return rfc3339(dateTime, defaultZone: zone) }
        if let date = time.date { return day(date, in: zone) }
        return nil
    }

    /// `2026-12-10T10:00:00+01:00`, `2026-12-10T09:00:00Z`, `2026-12-10T09:00:00.250Z`, or
    /// `2026-12-10T10:00:00` (read in `defaultZone`).
    static func rfc3339(_ text: String, defaultZone: TimeZone) -> Date? {
        let characters = Array(text.trimmingCharacters(in: .whitespaces))
        guard characters.count >= 19, characters[4] == "-", characters[7] == "-", "Tt ".contains(characters[10]),
            characters[13] == ":", characters[16] == ":",
            let year = number(characters, 0..<4), let month = number(characters, 5..<7), let day = number(characters, 8..<10),
            let hour = number(characters, 11..<13), let minute = number(characters, 14..<16),
            let second = number(characters, 17..<19),
            (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < characters.count, characters[index] == "." {
            var digits = ""
            index += 1
            while index < characters.count, characters[index].isASCII, characters[index].isNumber {
                digits.append(characters[index])
                index += 1
            }
            guard !digits.isEmpty else { return nil }
            fraction = Double("0." + digits) ?? 0
        }
        var zone = defaultZone
        if index < characters.count {
            let designator = characters[index]
            if designator == "Z" || designator == "z", index + 1 == characters.count {
                zone = .gmt
            } else if designator == "+" || designator == "-", characters.count - index == 6, characters[index + 3] == ":",
                let hours = number(characters, (index + 1)..<(index + 3)),
                let minutes = number(characters, (index + 4)..<(index + 6)), hours <= 23, minutes <= 59
            {
                let offset = (hours * 3600 + minutes * 60) * (designator == "-" ? -1 : 1)
                guard let fixed = TimeZone(secondsFromGMT: offset) else { return nil }
                zone = fixed
            } else {
                return nil
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        return date.addingTimeInterval(fraction)
    }

    /// `2026-12-10`: the start of that day in `zone`.
    static func day(_ text: String, in zone: TimeZone) -> Date? {
        let characters = Array(text.trimmingCharacters(in: .whitespaces))
        guard characters.count == 10, characters[4] == "-", characters[7] == "-",
            let year = number(characters, 0..<4), let month = number(characters, 5..<7), let day = number(characters, 8..<10),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day
        else { return nil }
        return calendar.startOfDay(for: date)
    }

    static func addingDays(_ days: Int, to date: Date, in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(byAdding: .day, value: days, to: date) ?? date.addingTimeInterval(Double(days) * 86_400)
    }

    private static func number(_ characters: [Character], _ range: Range<Int>) -> Int? {
        guard range.upperBound <= characters.count else { return nil }
        let slice = characters[range]
        guard slice.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(String(slice))
    }
}
