import Foundation

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
            let isCancellation =
                calendar.property("METHOD")?.value
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
