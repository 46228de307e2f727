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

extension ICalendar {
    /// Every VEVENT in the text, in file order. Recurrences are not expanded.
    ///
    /// - Parameter defaultTimeZone: used for floating times, all-day dates and TZIDs that
    ///   are neither IANA nor known Windows names. Pass the calendar owner's zone.
    public static func events(from text: String, defaultTimeZone: TimeZone = .gmt) throws -> [CalendarEvent] {
        var events: [CalendarEvent] = []
        for calendar in try components(from: text) {
            // iTIP (RFC 5546): a calendar sent with METHOD:CANCEL withdraws its events even
            // when an older client forgets to also set STATUS:CANCELLED on them.
            let isCancellation = calendar.property("METHOD")?.value
                .trimmingCharacters(in: .whitespaces).uppercased() == "CANCEL"
            for component in calendar.components where component.name == "VEVENT" {
                var event = try event(from: component, defaultTimeZone: defaultTimeZone)
                if isCancellation { event.status = .cancelled }
                events.append(event)
            }
        }
        return events
    }

    static func event(from vevent: ICalComponent, defaultTimeZone: TimeZone) throws -> CalendarEvent {
        try event(from: vevent, zones: ICalZoneResolver(defaultTimeZone: defaultTimeZone))
    }

    /// Like `event(from:defaultTimeZone:)`, with TZIDs resolved by `zones`, which may also know
    /// the calendar's custom VTIMEZONEs. With a resolver that has no custom zones the result is
    /// exactly that of `event(from:defaultTimeZone:)`.
    static func event(from vevent: ICalComponent, zones: ICalZoneResolver) throws -> CalendarEvent {
        let title = vevent.property("SUMMARY").map { unescapeText($0.value) } ?? ""
        // Naming the title helps a person find the block in a feed with hundreds of events.
        let eventLabel = title.isEmpty ? "VEVENT" : "VEVENT '\(abbreviated(title))'"

        guard let uidProperty = vevent.property("UID"),
              case let uid = unescapeText(uidProperty.value).trimmingCharacters(in: .whitespaces),
              !uid.isEmpty
        else {
            throw ICalendarError(
                line: vevent.line,
                message: "\(eventLabel) that begins here has no UID; without one its updates and "
                    + "cancellations cannot be matched to it")
        }
        guard let startProperty = vevent.property("DTSTART") else {
            throw ICalendarError(
                line: vevent.line,
                message: "\(eventLabel) (UID \(uid)) that begins here has no DTSTART, so it cannot be scheduled")
        }

        let start = try dateValue(of: startProperty, zones: zones)
        let end: Date
        if let endProperty = vevent.property("DTEND") {
            end = try dateValue(of: endProperty, zones: zones).date
        } else if let durationProperty = vevent.property("DURATION") {
            let duration = try ICalDuration.parse(durationProperty.value, line: durationProperty.line)
            end = duration.added(to: start.date, in: start.zone)
        } else if start.isDateOnly {
            // RFC 5545 §3.6.1: an all-day event without an end lasts that one day.
            end = ICalDuration(days: 1).added(to: start.date, in: start.zone)
        } else {
            end = start.date
        }

        let recurrenceID = try vevent.property("RECURRENCE-ID")
            .map { try dateValue(of: $0, zones: zones).date }

        let description = vevent.property("DESCRIPTION").map { unescapeText($0.value) } ?? ""
        // An empty LOCATION (Google writes `LOCATION:`) means "no location", not a place named "".
        let location = vevent.property("LOCATION")
            .map { unescapeText($0.value) }
            .flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }

        let conferenceCandidates: [String] =
            [
                vevent.property("URL")?.value,
                location,
                description,
            ].compactMap { $0 }
            + ConferenceLink.propertyNames.compactMap { vevent.property($0).map { unescapeText($0.value) } }

        return CalendarEvent(
            uid: uid,
            recurrenceID: recurrenceID,
            // SEQUENCE only orders revisions of the same event; a garbled one is not worth
            // rejecting the event for, so it reads as the initial revision.
            sequence: vevent.property("SEQUENCE").flatMap { Int($0.value.trimmingCharacters(in: .whitespaces)) } ?? 0,
            title: title,
            description: description,
            location: location,
            start: start.date,
            end: end,
            isAllDay: start.isDateOnly,
            status: vevent.property("STATUS").map { eventStatus(from: $0.value) } ?? .confirmed,
            organizer: vevent.property("ORGANIZER").map(attendee(from:)),
            attendees: vevent.properties(named: "ATTENDEE").map(attendee(from:)),
            conferenceURL: ConferenceLink.find(in: conferenceCandidates),
            recurrenceRule: vevent.property("RRULE").map { $0.value.trimmingCharacters(in: .whitespaces) }
        )
    }

    static func eventStatus(from raw: String) -> EventStatus {
        switch raw.trimmingCharacters(in: .whitespaces).uppercased() {
        case "TENTATIVE": .tentative
        // "CANCELED" is not RFC spelling, but some US-built tools write it.
        case "CANCELLED", "CANCELED": .cancelled
        // CONFIRMED, and any value we do not know: the event is still on the calendar.
        default: .confirmed
        }
    }

    static func attendee(from property: ICalProperty) -> Attendee {
        let value = property.value.trimmingCharacters(in: .whitespaces)
        let email: String
        if value.lowercased().hasPrefix("mailto:") {
            email = String(value.dropFirst("mailto:".count))
        } else if let emailParameter = property.parameter("EMAIL"), !emailParameter.isEmpty {
            // Some servers put a urn:uuid principal in the value and the address in EMAIL=.
            email = emailParameter
        } else {
            email = value
        }
        func nonEmpty(_ text: String?) -> String? {
            guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        return Attendee(
            email: email.trimmingCharacters(in: .whitespaces),
            name: nonEmpty(property.parameter("CN")),
            participation: nonEmpty(property.parameter("PARTSTAT"))?.uppercased(),
            role: nonEmpty(property.parameter("ROLE"))?.uppercased()
        )
    }
}

// MARK: - DATE and DATE-TIME values

extension ICalendar {
    struct DateValue: Sendable, Equatable {
        var date: Date
        /// VALUE=DATE, i.e. an all-day value.
        var isDateOnly: Bool
        /// The zone the value was written in; used to add nominal days in the right zone. For a
        /// zone known only from the calendar's VTIMEZONE, a fixed zone with its offset at `date`
        /// (use `zone` for arithmetic).
        var timeZone: TimeZone
        /// The wall-clock value as written (midnight for a DATE), which recurrence rules and
        /// EXDATE/RDATE matching work on.
        var local: ICalLocalDateTime
        /// The zone the value was written in, including custom VTIMEZONE zones.
        var zone: ICalZone
    }

    /// Reads DTSTART/DTEND/RECURRENCE-ID style values: `20261121` (DATE, midnight in the
    /// default zone), `20261121T150000Z` (UTC), `20261121T150000` with or without a TZID.
    static func dateValue(of property: ICalProperty, defaultTimeZone: TimeZone) throws -> DateValue {
        try dateValue(of: property, zones: ICalZoneResolver(defaultTimeZone: defaultTimeZone))
    }

    /// Like `dateValue(of:defaultTimeZone:)`, with TZIDs resolved by `zones`, so a TZID that is
    /// neither IANA nor Windows can use the calendar's VTIMEZONE instead of the default zone.
    static func dateValue(of property: ICalProperty, zones: ICalZoneResolver) throws -> DateValue {
        let defaultTimeZone = zones.defaultTimeZone
        let raw = property.value.trimmingCharacters(in: .whitespaces)
        let digitsOnly = raw.allSatisfy(\.isASCIIDigitForICal)
        // Some producers omit VALUE=DATE on all-day values, so the shape of the value decides.
        if property.parameter("VALUE")?.uppercased() == "DATE" || (digitsOnly && raw.count == 8) {
            guard let date = makeDate(raw, hasTime: false, in: defaultTimeZone),
                  let local = ICalLocalDateTime.parse(raw)?.value
            else {
                throw invalidDate(property, expected: "a DATE like 20261121")
            }
            return DateValue(
                date: date, isDateOnly: true, timeZone: defaultTimeZone, local: local, zone: .foundation(defaultTimeZone))
        }

        let isUTC = raw.hasSuffix("Z") || raw.hasSuffix("z")
        let zone: ICalZone
        if isUTC {
            zone = .foundation(.gmt)
        } else if let tzid = property.parameter("TZID") {
            zone = zones.zone(forTZID: tzid)
        } else {
            zone = .foundation(defaultTimeZone)  // floating time: "whatever zone the attendee is in"
        }
        let localText = isUTC ? String(raw.dropLast()) : raw
        let date: Date?
        let local = ICalLocalDateTime.parse(localText).flatMap { $0.isDateOnly || $0.isUTC ? nil : $0.value }
        switch zone {
        case .foundation(let timeZone):
            date = makeDate(localText, hasTime: true, in: timeZone)
        case .custom:
            date = local.flatMap { $0.date.isValid ? zone.date(from: $0) : nil }
        }
        guard let date, let local else {
            throw invalidDate(property, expected: "a DATE-TIME like 20261121T150000Z or 20261121T150000")
        }
        return DateValue(
            date: date, isDateOnly: false, timeZone: zone.foundationTimeZone(at: date, fallback: defaultTimeZone),
            local: local, zone: zone)
    }

    private static func invalidDate(_ property: ICalProperty, expected: String) -> ICalendarError {
        ICalendarError(
            line: property.line,
            message: "\(property.name) value '\(abbreviated(property.value))' is not \(expected)")
    }

    /// `YYYYMMDD` or `YYYYMMDDTHHMMSS`, validated field by field so that 20261340 is rejected
    /// instead of silently rolling over into the next year.
    private static func makeDate(_ text: String, hasTime: Bool, in timeZone: TimeZone) -> Date? {
        let characters = Array(text)
        let expectedLength = hasTime ? 15 : 8
        guard characters.count == expectedLength else { return nil }
        if hasTime, characters[8] != "T" && characters[8] != "t" { return nil }

        func number(_ range: Range<Int>) -> Int? {
            let slice = characters[range]
            guard slice.allSatisfy(\.isASCIIDigitForICal) else { return nil }
            return Int(String(slice))
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              isValidDay(year: year, month: month, day: day)
        else { return nil }

        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        if hasTime {
            // Second 60 is a leap second, which RFC 5545 allows and Foundation cannot represent.
            guard let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
                  (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
            else { return nil }
            components.hour = hour
            components.minute = minute
            components.second = min(second, 59)
        }

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // A wall-clock time inside a DST gap (02:30 on spring-forward day) does not exist;
        // Foundation resolves it to a nearby instant, which beats dropping the event.
        return calendar.date(from: components)
    }

    /// Rejects 20260231 and friends, which Foundation would silently roll into March.
    private static func isValidDay(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        guard let firstOfMonth = calendar.date(from: DateComponents(year: year, month: month, day: 1, hour: 12)),
              let days = calendar.range(of: .day, in: .month, for: firstOfMonth)
        else { return false }
        return days.contains(day)
    }
}

// MARK: - DURATION values

/// An RFC 5545 DURATION such as `PT1H30M`, `P1D`, `P2W` or `-PT15M`.
///
/// Days and weeks are nominal (a day across a DST change is 23 or 25 hours) while hours,
/// minutes and seconds are exact, as §3.3.6 requires; that is why this is not a TimeInterval.
struct ICalDuration: Sendable, Equatable {
    var isNegative = false
    var weeks = 0
    var days = 0
    var hours = 0
    var minutes = 0
    var seconds = 0

    func added(to date: Date, in timeZone: TimeZone) -> Date {
        let sign = isNegative ? -1 : 1
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let nominalDays = sign * (weeks * 7 + days)
        let afterDays = nominalDays == 0
            ? date
            : calendar.date(byAdding: .day, value: nominalDays, to: date) ?? date.addingTimeInterval(Double(nominalDays) * 86_400)
        let exactSeconds = Double(hours) * 3600 + Double(minutes) * 60 + Double(seconds)
        return afterDays.addingTimeInterval(Double(sign) * exactSeconds)
    }

    static func parse(_ raw: String, line: Int) throws -> ICalDuration {
        let text = raw.trimmingCharacters(in: .whitespaces).uppercased()
        func invalid() -> ICalendarError {
            ICalendarError(
                line: line,
                message: "DURATION '\(ICalendar.abbreviated(raw))' is not an RFC 5545 duration "
                    + "(examples: PT1H30M, P1D, P2W, -PT15M)")
        }

        var duration = ICalDuration()
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" {
            duration.isNegative = rest.first == "-"
            rest = rest.dropFirst()
        }
        guard rest.first == "P" else { throw invalid() }
        rest = rest.dropFirst()

        var inTimePart = false
        var sawAnyField = false
        var sawFieldSinceT = false
        var digits = ""
        for character in rest {
            if character.isASCIIDigitForICal {
                digits.append(character)
                continue
            }
            if character == "T" {
                guard !inTimePart, digits.isEmpty else { throw invalid() }
                inTimePart = true
                continue
            }
            guard let value = Int(digits) else { throw invalid() }
            digits = ""
            switch (character, inTimePart) {
            case ("W", false): duration.weeks = value
            case ("D", false): duration.days = value
            case ("H", true): duration.hours = value
            case ("M", true): duration.minutes = value
            case ("S", true): duration.seconds = value
            default: throw invalid()
            }
            sawAnyField = true
            if inTimePart { sawFieldSinceT = true }
        }
        guard digits.isEmpty, sawAnyField, !inTimePart || sawFieldSinceT else { throw invalid() }
        return duration
    }
}

extension Character {
    /// `Character.isNumber` accepts Arabic-Indic and other digits that `Int(_:)` rejects.
    fileprivate var isASCIIDigitForICal: Bool { isASCII && isWholeNumber }
}
