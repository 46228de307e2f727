import Foundation
import TestSupport

/// The bench's calendars, the same on every run: calendar `bench-<c>@group.calendar.google.com`
/// (refresh token `1//bench-refresh-<c>`, access token `ya29.bench-<c>`) holds M timed events over
/// the 13 days after `base`, in one of three zones, with 1–6 attendees, most with a Meet link,
/// the others with a Zoom link for a location.
struct GeneratedCalendars {
    typealias Event = FakeGoogleCalendar.Event

    let connections: Int
    let eventsPerCalendar: Int
    /// The hour the calendars are generated from.
    let base: Date

    static let zones = [
        TimeZone(identifier: "UTC")!, TimeZone(identifier: "Europe/Berlin")!, TimeZone(identifier: "America/New_York")!,
    ]
    static let titles = [
        "Weekly staff meeting", "1:1", "Customer call", "Design review", "Sprint planning", "Interview: backend engineer",
        "Quarterly business review", "Pipeline review", "Incident retrospective", "Board prep", "Vendor demo",
        "Hiring sync", "Product roadmap", "Coffee chat", "Security review", "All hands",
    ]
    static let firstNames = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Riley", "Casey", "Jamie", "Avery", "Quinn"]
    static let lastNames = ["Rivera", "Chen", "Okafor", "Schmidt", "Novak", "Haddad", "Ito", "Larsen", "Silva", "Kowalski"]
    static let responses = ["accepted", "needsAction", "tentative", "declined", "accepted", "accepted"]

    init(connections: Int, eventsPerCalendar: Int, now: Date) {
        self.connections = connections
        self.eventsPerCalendar = eventsPerCalendar
        base = Date(timeIntervalSince1970: Double((Int64(now.timeIntervalSince1970) / 3600 + 1) * 3600))
    }

    var totalEvents: Int { connections * eventsPerCalendar }

    static func calendarID(_ c: Int) -> String { "bench-\(c)@group.calendar.google.com" }
    static func accessToken(_ c: Int) -> String { "ya29.bench-\(c)" }
    static func refreshToken(_ c: Int) -> String { "1//bench-refresh-\(c)" }
    static func owner(_ c: Int) -> String { "owner\(c)@bench.example.com" }
    static func zone(of c: Int) -> TimeZone { zones[c % zones.count] }
    static func eventID(_ c: Int, _ e: Int) -> String { "bc\(c)e\(e)" }

    /// Puts every calendar and event into `fake`, each calendar readable with its own tokens, the
    /// access token valid until `accessTokensExpire`.
    func seed(_ fake: FakeGoogleCalendar, accessTokensExpire: Date) {
        for c in 0..<connections {
            let calendarID = Self.calendarID(c)
            fake.addCalendar(calendarID, timeZone: Self.zone(of: c).identifier)
            fake.grant(
                refreshToken: Self.refreshToken(c), accessToken: Self.accessToken(c), expiresAt: accessTokensExpire,
                calendars: [calendarID])
            for e in 0..<eventsPerCalendar {
                fake.put(event(c, e), calendarID: calendarID)
            }
        }
    }

    /// Event `e` of calendar `c`, as Google would hold it.
    func event(_ c: Int, _ e: Int) -> Event {
        let id = Self.eventID(c, e)
        let zone = Self.zone(of: c)
        // Quarter hours over 13 days (1248 slots), spread by calendar and event.
        let slot = (c &* 37 &+ e &* 131 &+ (c / 7) &* 11) % 1248
        let start = base.addingTimeInterval(3600 + Double(slot) * 900)
        let minutes = [30, 45, 60, 25, 50][(c + e) % 5]
        let owner = Self.owner(c)
        let ownerName = "\(Self.firstNames[c % 10]) \(Self.lastNames[(c / 10) % 10])"
        var title = Self.titles[(c + 3 * e) % Self.titles.count]
        if title == "1:1" { title = "1:1 \(ownerName) / \(Self.firstNames[(c + e + 1) % 10])" }
        if title == "Customer call" { title = "Customer call: Acme \(e % 7)" }

        var event = Event(
            id: id, summary: title, description: "Agenda:\n1. Updates\n2. Decisions\nNotes: https://docs.example.com/d/\(c)-\(e)",
            start: Event.Time(start, in: zone), end: Event.Time(start.addingTimeInterval(Double(minutes * 60)), in: zone),
            organizer: .init(email: owner, displayName: ownerName, isSelf: true))
        event.etag = Self.etag(version: 0)
        event.htmlLink = "https://www.google.com/calendar/event?eid=\(id)"
        event.created = "2025-01-01T00:00:00.000Z"
        event.creator = .init(email: owner, isSelf: true)
        event.iCalUID = "\(id)@google.com"
        event.reminders = .init(useDefault: true)

        var attendees = [
            Event.Person(email: owner, displayName: ownerName, responseStatus: "accepted", organizer: true, isSelf: true)
        ]
        for k in 0..<((c + e) % 6) {
            let first = Self.firstNames[(c + e + k) % 10]
            let last = Self.lastNames[(e + 2 * k) % 10]
            let domain = k % 3 == 2 ? "acme.example.org" : "bench.example.com"
            attendees.append(
                .init(
                    email: "\(first.lowercased()).\(last.lowercased())\(k)@\(domain)", displayName: "\(first) \(last)",
                    responseStatus: Self.responses[(c + k) % Self.responses.count], optional: k == 4 ? true : nil))
        }
        if e % 9 == 4 {
            attendees.append(
                .init(
                    email: "c_1888room\(c % 50)@resource.calendar.google.com", displayName: "Room \(c % 50)",
                    responseStatus: "accepted", resource: true))
        }
        event.attendees = attendees

        if e % 4 < 3 {
            let code = "\(Self.letters(c, 3))-\(Self.letters(e &+ 7 &* c, 4))-\(Self.letters(c &* 31 &+ e, 3))"
            event.hangoutLink = "https://meet.google.com/\(code)"
            event.conferenceData = .init(
                entryPoints: [
                    .init(entryPointType: "video", uri: "https://meet.google.com/\(code)", label: "meet.google.com/\(code)"),
                    .init(
                        entryPointType: "phone", uri: "tel:+1-555-010-\(1000 + e)", label: "+1 555-010-\(1000 + e)",
                        pin: "\(100_000 + c)"),
                ],
                conferenceSolution: .init(type: "hangoutsMeet", name: "Google Meet"), conferenceId: code)
        } else {
            event.location = "https://zoom.us/j/\(9_000_000_000 + c * 100 + e)"
        }
        return event
    }

    static func etag(version: Int) -> String { "\"\(3_181_161_784_712_000 + version)\"" }

    static func letters(_ seed: Int, _ count: Int) -> String {
        var value = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15
        var text = ""
        for _ in 0..<count {
            text.append(Character(UnicodeScalar(UInt8(97 + value % 26))))
            value /= 26
            value = value &* 6_364_136_223_846_793_005 &+ 1
        }
        return text
    }

    // MARK: - Changing calendars

    struct ChangeSummary: Sendable {
        var retitled = 0
        var moved = 0
        var deleted = 0
        var total: Int { retitled + moved + deleted }
        var published: (upserted: Int, cancelled: Int) { (retitled + moved, deleted) }
    }

    /// Changes `count` distinct events in `fake`, spread at random over all calendars: 80 % get a
    /// new title, 10 % move by 30 minutes, 10 % are deleted. Each change is a new revision.
    func change(_ count: Int, seed: UInt64, in fake: FakeGoogleCalendar) -> ChangeSummary {
        var random = SplitMix64(state: seed)
        var picked = Set<Int>()
        var summary = ChangeSummary()
        while picked.count < count {
            let index = random.below(totalEvents)
            let (c, e) = index.quotientAndRemainder(dividingBy: eventsPerCalendar)
            let id = Self.eventID(c, e)
            guard fake.event(id)?.status != "cancelled", picked.insert(index).inserted else { continue }
            if picked.count % 10 == 2 {
                fake.delete(id)
                summary.deleted += 1
                continue
            }
            let moves = picked.count % 10 == 1
            let zone = Self.zone(of: c)
            fake.change(id) { event in
                let version = (event.sequence ?? 0) + 1
                event.sequence = version
                event.etag = Self.etag(version: version)
                if moves {
                    event.start = event.start?.instant.map { Event.Time($0.addingTimeInterval(1800), in: zone) }
                    event.end = event.end?.instant.map { Event.Time($0.addingTimeInterval(1800), in: zone) }
                } else {
                    event.summary = (event.summary ?? "") + " (renamed)"
                }
            }
            if moves { summary.moved += 1 } else { summary.retitled += 1 }
        }
        return summary
    }
}

/// SplitMix64: the same "random" data on every run.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
