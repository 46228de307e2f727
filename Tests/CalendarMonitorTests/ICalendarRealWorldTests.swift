import Foundation
import Testing

@testable import ICalendar

// Calendars as people really export them (issue 15, section 3): each fixture is written for
// the test that reads it, shaped like the exporter named.

private let newYork = TimeZone(identifier: "America/New_York") ?? .gmt

private func at(_ iso8601: String) throws -> Date {
    try Date(iso8601, strategy: .iso8601)
}

private func instants(_ iso8601: String...) throws -> [Date] {
    try iso8601.map(at)
}

/// The fixture's meetings from `from` to `to`, as a sync of the calendar reads them.
private func read(
    _ fixture: String, from: String, to: String, defaultTimeZone: TimeZone = .gmt
) throws -> ICalendar.Contents {
    let window = DateInterval(start: try at(from), end: try at(to))
    return try ICalendar.occurrences(from: try calendarFixture(fixture), window: window, defaultTimeZone: defaultTimeZone)
}

/// Fixtures/one-unreadable-event.ics is shaped like a Google Calendar export with the faults
/// real files have: an event without a UID, an empty `RRULE:`, a long line broken without the
/// folding space, and three events that cannot be read (a DTSTART that is not a date, no
/// DTSTART at all, an attendee whose quoted name is never closed).
@Suite("iCalendar: one bad event does not cost the calendar")
struct ICalendarUnreadableEventTests {
    let contents: ICalendar.Contents

    init() throws {
        contents = try read("one-unreadable-event", from: "2026-12-01T00:00:00Z", to: "2027-01-01T00:00:00Z")
    }

    @Test("every readable event lands, and each unreadable one is reported by line and reason")
    func readableEventsLandAndUnreadableOnesAreReported() throws {
        #expect(
            contents.events.map(\.title) == ["Sprint planning", "Coffee with Priya", "Design review", "Customer call", "Retro"])
        #expect(
            contents.skipped == [
                ICalendarError(
                    line: 38,
                    message: "DTSTART value '2026-12-16 10:00' is not a DATE-TIME like 20261121T150000Z or 20261121T150000; "
                        + "VEVENT 'Budget sync' that begins on line 37 was skipped", uid: "5f4e3d2c1b0a9z8y7x6w@google.com"),
                ICalendarError(
                    line: 44,
                    message: "VEVENT 'Offsite (date to be decided)' (UID 1a2s3d4f5g6h7j8k9l0z@google.com) that begins here "
                        + "has no DTSTART, so it cannot be scheduled; it was skipped", uid: "1a2s3d4f5g6h7j8k9l0z@google.com"),
                ICalendarError(
                    line: 55,
                    message: "parameter CN of ATTENDEE opens a quote that is never closed; "
                        + "VEVENT 'Board prep' that begins on line 49 was skipped", uid: "9m8n7b6v5c4x3z2l1k0j@google.com"),
            ])
    }

    @Test("an event without a UID gets an identity from its start and title, the same at every read")
    func eventWithoutUIDGetsAStableIdentity() throws {
        let coffee = try #require(contents.events.first { $0.title == "Coffee with Priya" })
        #expect(coffee.start == (try at("2026-12-11T15:00:00Z")))
        #expect(coffee.uid.hasPrefix("derived-"))

        // Google writes the export time as every event's DTSTAMP: a later export must still match.
        let reExported = try calendarFixture("one-unreadable-event")
            .replacingOccurrences(of: "DTSTAMP:20261201T080000Z", with: "DTSTAMP:20261208T170000Z")
        let window = DateInterval(start: try at("2026-12-01T00:00:00Z"), end: try at("2027-01-01T00:00:00Z"))
        let again = try ICalendar.occurrences(from: reExported, window: window).events
        #expect(again.first { $0.title == "Coffee with Priya" }?.uid == coffee.uid)

        let renamed = try calendarFixture("one-unreadable-event")
            .replacingOccurrences(of: "SUMMARY:Coffee with Priya", with: "SUMMARY:Coffee with Sam")
        let other = try ICalendar.occurrences(from: renamed, window: window).events
        #expect(other.first { $0.title == "Coffee with Sam" }?.uid != coffee.uid, "another meeting, another identity")
    }

    @Test("an empty RRULE is read as no recurrence")
    func emptyRRULEIsNoRecurrence() throws {
        let review = try #require(contents.events.first { $0.title == "Design review" })
        #expect(review.start == (try at("2026-12-14T09:00:00Z")))
        #expect(review.end == (try at("2026-12-14T09:15:00Z")))
        #expect(review.recurrenceID == nil && review.recurrenceRule == nil, "a single meeting, not a series")
    }

    @Test("a long line broken without the folding space is joined back whole")
    func continuationWithoutTheFoldingSpaceIsJoined() throws {
        let call = try #require(contents.events.first { $0.title == "Customer call" })
        #expect(
            call.description
                == "Join Zoom Meeting https://acme.zoom.us/j/91234567890?pwd=Zm9vYmFyYmF6cXVhY2tzIHRoZSBkZXNjcmlwdGlvbg "
                + "and dial in if the link fails.")
        #expect(call.conferenceURL == "https://acme.zoom.us/j/91234567890?pwd=Zm9vYmFyYmF6cXVhY2tzIHRoZSBkZXNjcmlwdGlvbg")
    }

    @Test("the non-expanding reader keeps and reports the same events")
    func eventsFromKeepsAndReportsTheSame() throws {
        let listed = try ICalendar.events(from: try calendarFixture("one-unreadable-event"))
        #expect(listed.events.map(\.title) == contents.events.map(\.title))
        #expect(listed.skipped == contents.skipped)
    }
}

/// Fixtures/this-and-future.ics is shaped like an Apple Calendar export after "change all
/// future events": a weekly 10:00 Berlin meeting moved to 14:00 and retitled from its third
/// instance with RANGE=THISANDFUTURE, and one later instance cancelled on its own.
@Suite("iCalendar: RANGE=THISANDFUTURE")
struct ICalendarThisAndFutureTests {
    @Test("the override changes its instance and every later one; a single override still wins its instance")
    func thisAndFutureChangesEveryLaterInstance() throws {
        let meetings = try read("this-and-future", from: "2026-10-01T00:00:00Z", to: "2027-01-01T00:00:00Z").events
        #expect(
            meetings.map(\.start)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-09T09:00:00Z", "2026-11-16T13:00:00Z", "2026-11-23T13:00:00Z",
                    "2026-11-30T13:00:00Z", "2026-12-07T13:00:00Z")))
        #expect(
            meetings.map(\.title)
                == ["Team sync", "Team sync"] + Array(repeating: "Team sync (afternoons)", count: 4))
        #expect(
            meetings.map { $0.end.timeIntervalSince($0.start) } == [1800, 1800, 3600, 3600, 3600, 3600],
            "later instances take the override's length too")
        #expect(meetings.map(\.status) == [.confirmed, .confirmed, .confirmed, .confirmed, .cancelled, .confirmed])
        // Each keeps its original start as its identity, so a re-sync matches the same meetings.
        #expect(
            meetings.map(\.recurrenceID)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-09T09:00:00Z", "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z",
                    "2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z")))
    }

    @Test("an instance the change moves into the window is found, one it moves out is not")
    func theWindowAppliesToWhereInstancesMovedTo() throws {
        // 23 November moved from 09:00Z to 13:00Z: a window from 12:00Z holds it only after the move.
        let meetings = try read("this-and-future", from: "2026-11-23T12:00:00Z", to: "2026-11-24T00:00:00Z").events
        #expect(meetings.map(\.start) == (try instants("2026-11-23T13:00:00Z")))
        let before = try read("this-and-future", from: "2026-11-23T08:00:00Z", to: "2026-11-23T10:00:00Z").events
        #expect(before.isEmpty)
    }
}

/// Fixtures/edited-copy-same-uid.ics is shaped like a Confluence team calendar export that
/// holds an edited copy of an event beside the original, with the same UID: a weekly retro
/// shortened and one week cancelled (higher SEQUENCE, placed after the original), and a demo
/// moved to another room (same SEQUENCE, later DTSTAMP, placed before the original).
@Suite("iCalendar: two VEVENTs with one UID")
struct ICalendarEditedCopyTests {
    @Test("the higher SEQUENCE wins, then the later DTSTAMP; what the winner excludes does not come back")
    func latestRevisionWins() throws {
        let meetings = try read("edited-copy-same-uid", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z").events
        let retros = meetings.filter { $0.title.hasPrefix("Sprint retro") }
        #expect(
            retros.map(\.start)
                == (try instants("2026-11-04T15:00:00Z", "2026-11-11T15:00:00Z", "2026-11-25T15:00:00Z")),
            "the excluded 18 November is not brought back by the original")
        #expect(retros.allSatisfy { $0.title == "Sprint retro (30 min)" && $0.end.timeIntervalSince($0.start) == 1800 })

        let demos = meetings.filter { $0.title.hasPrefix("Product demo") }
        #expect(demos.map(\.title) == ["Product demo (moved to room 2)"])
        #expect(demos.map(\.location) == ["Room 2"])
    }
}

/// Fixtures/exchange-all-day-overrides.ics is shaped like an Exchange 2010 publish: a weekly
/// all-day on-call series whose overrides carry `RECURRENCE-ID;TZID=W. Europe Standard
/// Time:…T000000` instead of a DATE, one retitled and one cancelled. The owner is in New York,
/// where midnight in Berlin is the evening before.
@Suite("iCalendar: Exchange all-day overrides")
struct ICalendarExchangeAllDayOverrideTests {
    @Test("a timed RECURRENCE-ID on an all-day series replaces the instance of its date")
    func timedRecurrenceIDMatchesTheInstanceOfItsDate() throws {
        let meetings = try read(
            "exchange-all-day-overrides", from: "2026-10-25T00:00:00Z", to: "2026-12-15T00:00:00Z",
            defaultTimeZone: newYork
        ).events
        let midnights = try instants(
            "2026-11-02T05:00:00Z", "2026-11-09T05:00:00Z", "2026-11-16T05:00:00Z", "2026-11-23T05:00:00Z")
        #expect(meetings.map(\.start) == midnights, "one meeting a week, none beside its override")
        #expect(
            meetings.map(\.title) == ["On-call week", "On-call week (Sam covers)", "On-call week", "On-call week"])
        #expect(meetings.map(\.status) == [.confirmed, .confirmed, .confirmed, .cancelled])
        #expect(meetings.map(\.recurrenceID) == midnights, "overrides keep the identity of the instance they replace")
        #expect(meetings.allSatisfy { $0.isAllDay })
    }
}

/// Fixtures/floating-with-calendar-zone.ics is shaped like a Google export of a Berlin office
/// calendar: X-WR-TIMEZONE:Europe/Berlin and floating times (no Z, no TZID). The owner is in
/// New York.
@Suite("iCalendar: X-WR-TIMEZONE")
struct ICalendarCalendarZoneTests {
    @Test("floating times are read in the calendar's X-WR-TIMEZONE, across its DST change; UTC times stay UTC")
    func floatingTimesAreReadInTheCalendarZone() throws {
        let meetings = try read(
            "floating-with-calendar-zone", from: "2026-10-01T00:00:00Z", to: "2026-12-01T00:00:00Z",
            defaultTimeZone: newYork
        ).events
        #expect(meetings.map(\.title) == ["Team lunch", "Team lunch", "Town hall", "Release call"])
        #expect(
            meetings.map(\.start)
                == (try instants(
                    // 12:30 in Berlin: summer time, then winter time after 25 October.
                    "2026-10-20T10:30:00Z", "2026-10-27T11:30:00Z",
                    "2026-11-10T09:00:00Z", "2026-11-12T17:00:00Z")))
    }

    @Test("without X-WR-TIMEZONE, floating times are read in the owner's zone")
    func floatingTimesWithoutCalendarZoneUseTheOwnersZone() throws {
        let text = try calendarFixture("floating-with-calendar-zone")
            .replacingOccurrences(of: "X-WR-TIMEZONE:Europe/Berlin\r\n", with: "")
        let window = DateInterval(start: try at("2026-11-10T00:00:00Z"), end: try at("2026-11-11T00:00:00Z"))
        let meetings = try ICalendar.occurrences(from: text, window: window, defaultTimeZone: newYork).events
        #expect(meetings.map(\.start) == (try instants("2026-11-10T15:00:00Z")))
    }
}
