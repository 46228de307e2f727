import Foundation

extension ICalendar {
    /// What a calendar holds: every event that could be read, and why each of the others could
    /// not. One unreadable event never costs the others.
    public struct Contents: Sendable, Equatable {
        public var events: [CalendarEvent]
        /// The VEVENTs left out, in file order: each error's `line` points at the offending
        /// line and its message names the event and why. Lines outside any event that could
        /// not be read (in a VTIMEZONE, say) are here too, marked as ignored.
        public var skipped: [ICalendarError]

        public init(events: [CalendarEvent], skipped: [ICalendarError] = []) {
            self.events = events
            self.skipped = skipped
        }
    }

    /// Every VEVENT in the text, in file order. Recurrences are not expanded. Of several
    /// VEVENTs with the same UID and no RECURRENCE-ID, only the latest revision is kept (see
    /// `readEvents`).
    ///
    /// Throws only when the file as a whole cannot be read (not iCalendar, truncated); an event
    /// that cannot be read is left out and reported in `skipped`.
    ///
    /// - Parameter defaultTimeZone: used for all-day dates, TZIDs that are neither IANA nor
    ///   known Windows names, and floating times when the calendar has no X-WR-TIMEZONE. Pass
    ///   the calendar owner's zone.
    public static func events(from text: String, defaultTimeZone: TimeZone = .gmt) throws -> Contents {
        let read = try readEvents(from: text, readingVTimeZones: false, defaultTimeZone: defaultTimeZone)
        return Contents(events: read.events.map(\.event), skipped: read.skipped)
    }

    /// A VEVENT as read, with what expansion still needs from it.
    struct ReadEvent {
        var component: ICalComponent
        var event: CalendarEvent
        var zones: ICalZoneResolver
        /// Orders revisions of one event after SEQUENCE; nil when absent or unreadable.
        var stamp: Date?
    }

    /// Reads every VEVENT it can, and says why it could not read each of the others.
    ///
    /// Two VEVENTs with one UID and no RECURRENCE-ID are two revisions of one event (an edited
    /// copy exported beside the original): the higher SEQUENCE wins, then the later DTSTAMP,
    /// then the later in the file. The other is dropped whole, so that instances only it
    /// generates, or that the winner excludes, do not come back.
    ///
    /// - Parameter readingVTimeZones: whether TZIDs Foundation does not know are resolved with
    ///   the calendar's VTIMEZONE blocks (see `ICalZoneResolver`).
    static func readEvents(from text: String, readingVTimeZones: Bool, defaultTimeZone: TimeZone) throws
        -> (events: [ReadEvent], skipped: [ICalendarError])
    {
        var events: [ReadEvent] = []
        var skipped: [ICalendarError] = []
        for calendar in try components(from: text) {
            let zones =
                readingVTimeZones
                ? ICalZoneResolver(calendar: calendar, defaultTimeZone: defaultTimeZone)
                : ICalZoneResolver(
                    defaultTimeZone: defaultTimeZone, floatingTimeZone: ICalZoneResolver.calendarTimeZone(of: calendar))
            // iTIP (RFC 5546): a calendar sent with METHOD:CANCEL withdraws its events even
            // when an older client forgets to also set STATUS:CANCELLED on them.
            let isCancellation =
                calendar.property("METHOD")?.value
                .trimmingCharacters(in: .whitespaces).uppercased() == "CANCEL"
            // Lines the events depend on (the calendar's own properties, its time zones) that
            // could not be read are ignored, and said so.
            let ignored = calendar.problems + calendar.components.filter { $0.name == "VTIMEZONE" }.flatMap(\.problems)
            skipped += ignored.map { ICalendarError(line: $0.line, message: "\($0.message); the line was ignored") }

            for component in calendar.components where component.name == "VEVENT" {
                do {
                    if let problem = component.problems.first { throw problem }
                    var event = try event(from: component, zones: zones)
                    if isCancellation { event.status = .cancelled }
                    let stamp = component.property("DTSTAMP").flatMap { try? dateValue(of: $0, zones: zones).date }
                    events.append(ReadEvent(component: component, event: event, zones: zones, stamp: stamp))
                } catch let error as ICalendarError {
                    skipped.append(skippedEvent(component, because: error))
                }
            }
        }
        return (latestRevisions(of: events), skipped.sorted { $0.line < $1.line })
    }

    /// `events` without the VEVENTs superseded by a later revision with the same UID.
    private static func latestRevisions(of events: [ReadEvent]) -> [ReadEvent] {
        var latest: [String: Int] = [:]
        for (index, candidate) in events.enumerated() where candidate.event.recurrenceID == nil {
            if let current = latest[candidate.event.uid] {
                let (old, new) = (events[current], candidate)
                let isOlder =
                    (new.event.sequence, new.stamp ?? .distantPast) < (old.event.sequence, old.stamp ?? .distantPast)
                if isOlder { continue }
            }
            latest[candidate.event.uid] = index
        }
        return events.enumerated()
            .filter { $0.element.event.recurrenceID != nil || latest[$0.element.event.uid] == $0.offset }
            .map(\.element)
    }

    /// The report of a VEVENT left out because of `error`, naming the event so that a person
    /// can find it.
    static func skippedEvent(_ vevent: ICalComponent, because error: ICalendarError) -> ICalendarError {
        // An error at the VEVENT's own line names the event already.
        let skipped =
            error.line == vevent.line ? "it was skipped" : "\(label(of: vevent)) that begins on line \(vevent.line) was skipped"
        let uid = vevent.property("UID").map { unescapeText($0.value).trimmingCharacters(in: .whitespaces) }
        return ICalendarError(line: error.line, message: "\(error.message); \(skipped)", uid: uid?.isEmpty == false ? uid : nil)
    }

    /// "VEVENT 'Title'", or "VEVENT" for an untitled one: the title helps a person find the
    /// block in a feed with hundreds of events.
    static func label(of vevent: ICalComponent) -> String {
        let title = vevent.property("SUMMARY").map { unescapeText($0.value) } ?? ""
        return title.isEmpty ? "VEVENT" : "VEVENT '\(abbreviated(title))'"
    }

    /// The event a VEVENT describes, with TZIDs resolved by `zones`.
    static func event(from vevent: ICalComponent, zones: ICalZoneResolver) throws -> CalendarEvent {
        let title = vevent.property("SUMMARY").map { unescapeText($0.value) } ?? ""
        let uid =
            vevent.property("UID")
            .map { unescapeText($0.value).trimmingCharacters(in: .whitespaces) }
            .flatMap { $0.isEmpty ? nil : $0 } ?? derivedUID(of: vevent)
        guard let startProperty = vevent.property("DTSTART") else {
            throw ICalendarError(
                line: vevent.line,
                message: "\(label(of: vevent)) (UID \(uid)) that begins here has no DTSTART, so it cannot be scheduled")
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
            recurrenceRule: vevent.recurrenceRules.first.map { $0.value.trimmingCharacters(in: .whitespaces) }
        )
    }

    /// An identity for a VEVENT without a UID, so that the next sync of the same file matches it
    /// again: a hash of its start (as written, with its TZID) and its title, the two things that
    /// make it that meeting. Editing either gives it a new identity (the old meeting is then
    /// removed and a new one added). Two UID-less events with the same start and title are
    /// the same meeting twice, and are read as two revisions of it.
    static func derivedUID(of vevent: ICalComponent) -> String {
        let start = vevent.property("DTSTART")
        let content = [
            start?.parameter("TZID") ?? "", start?.value.trimmingCharacters(in: .whitespaces) ?? "",
            vevent.property("SUMMARY").map { unescapeText($0.value) } ?? "",
        ].joined(separator: "\u{1F}")
        return "derived-" + String(stableHash(content), radix: 16)
    }

    /// 64-bit FNV-1a of the UTF-8 bytes: the same on every run and machine, which Swift's
    /// `Hasher` (seeded per process) is not.
    private static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
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
