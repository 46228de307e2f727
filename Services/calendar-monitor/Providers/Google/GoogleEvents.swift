import Foundation
import ICalendar
import Shared

/// One page of `events.list` (https://developers.google.com/calendar/api/v3/reference/events/list).
struct EventsPage: Sendable {
    var items: [GoogleEvent]?
    /// The calendar's time zone (an IANA name).
    var timeZone: String?
    var nextPageToken: String?
    var nextSyncToken: String?
}

/// The parts of an Event resource (https://developers.google.com/calendar/api/v3/reference/events)
/// that become a meeting. A deleted event may carry only `id` and `status`.
struct GoogleEvent: Sendable {
    struct Time: Sendable {
        /// All-day: `yyyy-mm-dd`.
        var date: String?
        /// RFC 3339, with an offset unless `timeZone` is given.
        var dateTime: String?
        var timeZone: String?
    }

    struct Person: Sendable {
        var email: String?
        var displayName: String?
        /// needsAction, declined, tentative, accepted.
        var responseStatus: String?
        var optional: Bool?
        /// A room or other resource, not a person.
        var resource: Bool?
        var organizer: Bool?
    }

    struct ConferenceData: Sendable {
        struct EntryPoint: Sendable {
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
        func zone() -> TimeZone { start.timeZone.flatMap(TimeZone.init(identifier:)) ?? calendarZone }
        let ends: Date
        if let end, let parsed = GoogleTimes.date(end, defaultZone: zone()) {
            ends = parsed
        } else if isAllDay {
            ends = GoogleTimes.addingDays(1, to: begins, in: zone())
        } else {
            ends = begins
        }
        let eventStatus: EventStatus =
            switch status {
            case "cancelled": .cancelled
            case "tentative": .tentative
            default: .confirmed
            }
        let location = location.flatMap { $0.contains { !$0.isWhitespace } ? $0 : nil }
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
        guard let text = text?.trimmedOfWhitespace, !text.isEmpty else { return nil }
        return text
    }
}

// Read by hand rather than with `JSONDecoder`: decoding pages was a quarter of
// calendar-monitor's CPU in a full sync. Fields not used are not looked at; those used must have
// their type (null counts as absent), as `JSONDecoder` would insist.
extension EventsPage {
    init(parsing body: [UInt8]) throws {
        let page = JSONFields(try JSONTree(parsing: body))
        items = try page.objects("items")?.map(GoogleEvent.init(reading:))
        timeZone = try page.string("timeZone")
        nextPageToken = try page.string("nextPageToken")
        nextSyncToken = try page.string("nextSyncToken")
    }
}

extension GoogleEvent {
    init(reading event: JSONFields) throws(JSONFieldError) {
        id = try event.required("id", \.string, "a string")
        status = try event.string("status")
        eventType = try event.string("eventType")
        summary = try event.string("summary")
        description = try event.string("description")
        location = try event.string("location")
        start = try event.object("start").map(Time.init(reading:))
        end = try event.object("end").map(Time.init(reading:))
        sequence = try event.int("sequence")
        organizer = try event.object("organizer").map(Person.init(reading:))
        attendees = try event.objects("attendees")?.map(Person.init(reading:))
        hangoutLink = try event.string("hangoutLink")
        conferenceData = try event.object("conferenceData").map { conference throws(JSONFieldError) in
            ConferenceData(
                entryPoints: try conference.objects("entryPoints")?.map { entry throws(JSONFieldError) in
                    ConferenceData.EntryPoint(entryPointType: try entry.string("entryPointType"), uri: try entry.string("uri"))
                })
        }
        recurringEventId = try event.string("recurringEventId")
        originalStartTime = try event.object("originalStartTime").map(Time.init(reading:))
    }
}

extension GoogleEvent.Time {
    init(reading time: JSONFields) throws(JSONFieldError) {
        self.init(date: try time.string("date"), dateTime: try time.string("dateTime"), timeZone: try time.string("timeZone"))
    }
}

extension GoogleEvent.Person {
    init(reading person: JSONFields) throws(JSONFieldError) {
        self.init(
            email: try person.string("email"), displayName: try person.string("displayName"),
            responseStatus: try person.string("responseStatus"), optional: try person.bool("optional"),
            resource: try person.bool("resource"), organizer: try person.bool("organizer"))
    }
}

/// Google's date and time values. Read from their UTF-8 bytes, and a time with an offset by
/// arithmetic: these ran for every event of every sync, and Foundation's trimming, `Character`
/// arrays and calendars were a quarter of calendar-monitor's CPU.
enum GoogleTimes {
    /// `dateTime` (RFC 3339; without an offset, wall-clock time in `timeZone` or `defaultZone`),
    /// or `date` (midnight starting that day in `timeZone` or `defaultZone`). The zone is looked
    /// up only when needed: Google writes an offset in every `dateTime` it returns.
    static func date(_ time: GoogleEvent.Time, defaultZone: @autoclosure () -> TimeZone) -> Date? {
        func zone() -> TimeZone { time.timeZone.flatMap(TimeZone.init(identifier:)) ?? defaultZone() }
        if let dateTime = time.dateTime { return rfc3339(dateTime, defaultZone: zone()) }
        if let date = time.date { return day(date, in: zone()) }
        return nil
    }

    /// `2026-12-10T10:00:00+01:00`, `2026-12-10T09:00:00Z`, `2026-12-10T09:00:00.250Z`, or
    /// `2026-12-10T10:00:00` (read in `defaultZone`).
    static func rfc3339(_ text: String, defaultZone: @autoclosure () -> TimeZone) -> Date? {
        let bytes = Array(text.utf8).trimmedOfSpaces
        guard bytes.count >= 19, bytes[4] == .hyphen, bytes[7] == .hyphen, [.upperT, .lowerT, .space].contains(bytes[10]),
            bytes[13] == .colon, bytes[16] == .colon,
            let year = number(bytes, 0..<4), let month = number(bytes, 5..<7), let day = number(bytes, 8..<10),
            let hour = number(bytes, 11..<13), let minute = number(bytes, 14..<16), let second = number(bytes, 17..<19),
            (1...12).contains(month), (1...daysIn(month, of: year)).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == .period {
            var scale = 0.1
            index += 1
            let digits = index
            while index < bytes.count, let digit = bytes[index].digit {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
            guard index > digits else { return nil }
        }
        guard index < bytes.count else {
            // No offset: wall-clock time in the zone.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = defaultZone()
            let components = DateComponents(
                year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
            return calendar.date(from: components)?.addingTimeInterval(fraction)
        }
        let designator = bytes[index]
        let offset: Int
        if designator == .upperZ || designator == .lowerZ, index + 1 == bytes.count {
            offset = 0
        } else if designator == .plus || designator == .hyphen, bytes.count - index == 6, bytes[index + 3] == .colon,
            let hours = number(bytes, (index + 1)..<(index + 3)), let minutes = number(bytes, (index + 4)..<(index + 6)),
            hours <= 23, minutes <= 59
        {
            offset = (hours * 3600 + minutes * 60) * (designator == .hyphen ? -1 : 1)
        } else {
            return nil
        }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// `2026-12-10`: the start of that day in `zone`.
    static func day(_ text: String, in zone: TimeZone) -> Date? {
        let bytes = Array(text.utf8).trimmedOfSpaces
        guard bytes.count == 10, bytes[4] == .hyphen, bytes[7] == .hyphen,
            let year = number(bytes, 0..<4), let month = number(bytes, 5..<7), let day = number(bytes, 8..<10),
            (1...12).contains(month), (1...daysIn(month, of: year)).contains(day)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: year, month: month, day: day)).map(calendar.startOfDay(for:))
    }

    static func addingDays(_ days: Int, to date: Date, in zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(byAdding: .day, value: days, to: date) ?? date.addingTimeInterval(Double(days) * 86_400)
    }

    private static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        guard range.upperBound <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[range] {
            guard let digit = byte.digit else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
    /// days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    /// Without leading and trailing white space; itself when it has none, as nearly every name
    /// and address, without Foundation's bridging.
    fileprivate var trimmedOfWhitespace: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
            return ""
        }
        return first == startIndex && index(after: last) == endIndex ? self : String(self[first...last])
    }
}

extension UInt8 {
    fileprivate static let hyphen = UInt8(ascii: "-")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let period = UInt8(ascii: ".")
    fileprivate static let plus = UInt8(ascii: "+")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let upperT = UInt8(ascii: "T")
    fileprivate static let lowerT = UInt8(ascii: "t")
    fileprivate static let upperZ = UInt8(ascii: "Z")
    fileprivate static let lowerZ = UInt8(ascii: "z")

    fileprivate var digit: Int? { (0x30...0x39).contains(self) ? Int(self - 0x30) : nil }
}

extension Array where Element == UInt8 {
    /// Without leading and trailing spaces and tabs; itself, uncopied, when it has none.
    fileprivate var trimmedOfSpaces: [UInt8] {
        let isText = { (byte: UInt8) in byte != .space && byte != 0x09 }
        guard let first = firstIndex(where: isText), let last = lastIndex(where: isText) else { return [] }
        return first == startIndex && last == endIndex - 1 ? self : Array(self[first...last])
    }
}
