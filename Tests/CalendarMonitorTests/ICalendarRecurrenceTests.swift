import Foundation
import Testing

@testable import ICalendar

// MARK: - Helpers

private let berlinZone = TimeZone(identifier: "Europe/Berlin") ?? .gmt
private let newYorkZone = TimeZone(identifier: "America/New_York") ?? .gmt

private func at(_ iso8601: String) throws -> Date {
    try Date(iso8601, strategy: .iso8601)
}

private func instants(_ iso8601: String...) throws -> [Date] {
    try iso8601.map(at)
}

/// Wraps content lines (VEVENTs, VTIMEZONEs) in a minimal VCALENDAR, CRLF-terminated.
private func recurrenceCalendar(_ lines: String...) -> String {
    (["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Attache recurrence tests//EN"] + lines + ["END:VCALENDAR", ""])
        .joined(separator: "\r\n")
}

/// One VEVENT with the given lines in a calendar.
private func series(_ lines: String...) -> String {
    (["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "DTSTAMP:20261001T000000Z"] + lines
        + ["END:VEVENT", "END:VCALENDAR"]).joined(separator: "\r\n")
}

private func expand(
    _ text: String, from start: String, to end: String, defaultTimeZone: TimeZone = .gmt
) throws -> [CalendarEvent] {
    let window = DateInterval(start: try at(start), end: try at(end))
    return try ICalendar.occurrences(from: text, window: window, defaultTimeZone: defaultTimeZone).events
}

// MARK: - RRULE

@Suite("iCalendar: recurrence rules")
struct ICalendarRecurrenceRuleTests {
    @Test("weekly on Monday, Wednesday and Friday with COUNT")
    func weeklyOnMondayWednesdayFridayWithCount() throws {
        let text = series(
            "UID:mwf@example.com", "SUMMARY:Standup", "DTSTART:20261102T090000Z", "DTEND:20261102T091500Z",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=5")
        let occurrences = try expand(text, from: "2026-10-01T00:00:00Z", to: "2027-01-01T00:00:00Z")
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-04T09:00:00Z", "2026-11-06T09:00:00Z",
                    "2026-11-09T09:00:00Z", "2026-11-11T09:00:00Z")))
        #expect(occurrences.map(\.end) == occurrences.map { $0.start.addingTimeInterval(900) })
        #expect(occurrences.map(\.recurrenceID) == occurrences.map(\.start), "every instance knows its original start")
        #expect(occurrences.allSatisfy { $0.uid == "mwf@example.com" && $0.title == "Standup" })
        #expect(occurrences.allSatisfy { $0.recurrenceRule == "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=5" })
    }

    @Test("a weekly rule's UNTIL includes an instance exactly at UNTIL")
    func weeklyWithUntilIncludesAnInstanceExactlyAtUntil() throws {
        // 10:00 Berlin in November is 09:00Z, so UNTIL=…T090000Z is the 13 November instance itself.
        let text = series(
            "UID:mwf-until", "DTSTART;TZID=Europe/Berlin:20261102T100000", "DURATION:PT30M",
            "RRULE:FREQ=WEEKLY;UNTIL=20261113T090000Z;BYDAY=MO,WE,FR")
        let occurrences = try expand(text, from: "2026-10-01T00:00:00Z", to: "2027-01-01T00:00:00Z")
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-04T09:00:00Z", "2026-11-06T09:00:00Z",
                    "2026-11-09T09:00:00Z", "2026-11-11T09:00:00Z", "2026-11-13T09:00:00Z")))
    }

    @Test("an UNTIL given as a DATE or a floating time is read on the event's wall clock")
    func untilAsDateOrFloatingTimeIsReadOnTheEventsWallClock() throws {
        // A DATE UNTIL on a timed series keeps that whole day (Outlook and hand-written files).
        let dateUntil = series(
            "UID:u", "DTSTART;TZID=Europe/Berlin:20261102T180000", "RRULE:FREQ=DAILY;UNTIL=20261104")
        #expect(
            try expand(dateUntil, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z").map(\.start)
                == (try instants("2026-11-02T17:00:00Z", "2026-11-03T17:00:00Z", "2026-11-04T17:00:00Z")))

        // A floating UNTIL with a floating DTSTART: both in the default zone.
        let floating = series("UID:f", "DTSTART:20261102T090000", "RRULE:FREQ=DAILY;UNTIL=20261103T090000")
        #expect(
            try expand(floating, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z", defaultTimeZone: newYorkZone)
                .map(\.start) == (try instants("2026-11-02T14:00:00Z", "2026-11-03T14:00:00Z")))
    }

    @Test("monthly on the second Tuesday")
    func monthlyOnTheSecondTuesday() throws {
        let text = series("UID:2tu", "DTSTART:20260113T150000Z", "RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=4")
        #expect(
            try expand(text, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-01-13T15:00:00Z", "2026-02-10T15:00:00Z", "2026-03-10T15:00:00Z", "2026-04-14T15:00:00Z")))
    }

    @Test(
        "monthly on the last Friday, by BYDAY=-1FR or by BYSETPOS=-1",
        arguments: ["FREQ=MONTHLY;BYDAY=-1FR;COUNT=6", "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=6"])
    func monthlyOnTheLastFriday(rule: String) throws {
        let text = series("UID:lastfri", "DTSTART:20260130T150000Z", "RRULE:\(rule)")
        #expect(
            try expand(text, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-01-30T15:00:00Z", "2026-02-27T15:00:00Z", "2026-03-27T15:00:00Z",
                    "2026-04-24T15:00:00Z", "2026-05-29T15:00:00Z", "2026-06-26T15:00:00Z")))
    }

    @Test("monthly on the 31st skips short months instead of moving the meeting")
    func monthlyOnThe31stSkipsShortMonthsInsteadOfMovingTheMeeting() throws {
        let text = series("UID:31", "DTSTART:20260131T090000Z", "RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=7")
        #expect(
            try expand(text, from: "2026-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z", "2026-05-31T09:00:00Z", "2026-07-31T09:00:00Z",
                    "2026-08-31T09:00:00Z", "2026-10-31T09:00:00Z", "2026-12-31T09:00:00Z")))

        // Negative BYMONTHDAY counts from the end: -1 is the last day of every month.
        let lastDay = series("UID:-1", "DTSTART:20260131T090000Z", "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4")
        #expect(
            try expand(lastDay, from: "2026-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z")))
    }

    @Test("yearly on DTSTART's date, and by BYDAY ordinals within BYMONTH or within the year")
    func yearlyRules() throws {
        // Plain yearly on DTSTART's date; 29 February only exists in leap years.
        let leapDay = series("UID:leap", "DTSTART:20240229T120000Z", "RRULE:FREQ=YEARLY;COUNT=3")
        #expect(
            try expand(leapDay, from: "2024-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z").map(\.start)
                == (try instants("2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z")))

        // US Thanksgiving: BYDAY ordinals count within BYMONTH.
        let thanksgiving = series(
            "UID:thanks", "DTSTART;TZID=America/New_York:20261126T120000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH")
        #expect(
            try expand(thanksgiving, from: "2026-01-01T00:00:00Z", to: "2029-01-01T00:00:00Z").map(\.start)
                == (try instants("2026-11-26T17:00:00Z", "2027-11-25T17:00:00Z", "2028-11-23T17:00:00Z")))

        // Without BYMONTH, an ordinal counts within the year.
        let firstMonday = series("UID:1mo", "DTSTART:20260105T090000Z", "RRULE:FREQ=YEARLY;BYDAY=1MO;COUNT=3")
        #expect(
            try expand(firstMonday, from: "2026-01-01T00:00:00Z", to: "2029-01-01T00:00:00Z").map(\.start)
                == (try instants("2026-01-05T09:00:00Z", "2027-01-04T09:00:00Z", "2028-01-03T09:00:00Z")))
    }

    @Test("INTERVAL=2 and WKST follow the RFC's examples")
    func intervalTwoAndWeekStartFollowTheRFCExamples() throws {
        let everyOtherWeek = series(
            "UID:biweekly", "DTSTART:20261103T090000Z", "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6")
        #expect(
            try expand(everyOtherWeek, from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-11-03T09:00:00Z", "2026-11-05T09:00:00Z", "2026-11-17T09:00:00Z",
                    "2026-11-19T09:00:00Z", "2026-12-01T09:00:00Z", "2026-12-03T09:00:00Z")))

        // RFC 5545 §3.8.5.3: WKST changes which Sunday shares a week with the Tuesday.
        let mondayWeeks = series(
            "UID:wkst-mo", "DTSTART;TZID=America/New_York:19970805T090000",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO")
        #expect(
            try expand(mondayWeeks, from: "1997-08-01T00:00:00Z", to: "1997-10-01T00:00:00Z").map(\.start)
                == (try instants(
                    "1997-08-05T13:00:00Z", "1997-08-10T13:00:00Z", "1997-08-19T13:00:00Z", "1997-08-24T13:00:00Z")))
        let sundayWeeks = series(
            "UID:wkst-su", "DTSTART;TZID=America/New_York:19970805T090000",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU")
        #expect(
            try expand(sundayWeeks, from: "1997-08-01T00:00:00Z", to: "1997-10-01T00:00:00Z").map(\.start)
                == (try instants(
                    "1997-08-05T13:00:00Z", "1997-08-17T13:00:00Z", "1997-08-19T13:00:00Z", "1997-08-31T13:00:00Z")))
    }

    @Test("Friday the 13th, BYSETPOS and BYWEEKNO follow the RFC's examples")
    func moreRFCExamples() throws {
        // Friday the 13th, with DTSTART (not a Friday the 13th) removed by EXDATE as in the RFC.
        let friday13 = series(
            "UID:f13", "DTSTART;TZID=America/New_York:19970902T090000",
            "EXDATE;TZID=America/New_York:19970902T090000", "RRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13")
        #expect(
            try expand(friday13, from: "1997-01-01T00:00:00Z", to: "2000-12-31T00:00:00Z").map(\.start)
                == (try instants(
                    "1998-02-13T14:00:00Z", "1998-03-13T14:00:00Z", "1998-11-13T14:00:00Z",
                    "1999-08-13T13:00:00Z", "2000-10-13T13:00:00Z")))

        // The third Tuesday, Wednesday or Thursday of the month.
        let third = series(
            "UID:setpos", "DTSTART;TZID=America/New_York:19970904T090000",
            "RRULE:FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3")
        #expect(
            try expand(third, from: "1997-01-01T00:00:00Z", to: "1998-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "1997-09-04T13:00:00Z", "1997-10-07T13:00:00Z", "1997-11-06T14:00:00Z")))

        // Monday of ISO-style week 20.
        let weekTwenty = series(
            "UID:weekno", "DTSTART;TZID=America/New_York:19970512T090000", "RRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO")
        #expect(
            try expand(weekTwenty, from: "1997-01-01T00:00:00Z", to: "2000-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "1997-05-12T13:00:00Z", "1998-05-11T13:00:00Z", "1999-05-17T13:00:00Z")))
    }

    @Test("DTSTART is always the first instance and counts towards COUNT")
    func dtstartIsAlwaysTheFirstInstanceAndCountsTowardsCount() throws {
        // DTSTART on a Tuesday, rule on Mondays: Tuesday plus two Mondays make COUNT=3.
        let text = series("UID:offbeat", "DTSTART:20261103T090000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3")
        #expect(
            try expand(text, from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-11-03T09:00:00Z", "2026-11-09T09:00:00Z", "2026-11-16T09:00:00Z")))
    }

    @Test("a weekly Berlin meeting stays at 10:00 local time across the October change")
    func weeklyBerlinMeetingStaysAtTenLocalAcrossTheOctoberChange() throws {
        // Clocks go back on 25 October 2026: CEST (UTC+2) before, CET (UTC+1) after.
        let text = series(
            "UID:dst", "DTSTART;TZID=Europe/Berlin:20261012T100000", "DTEND;TZID=Europe/Berlin:20261012T110000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO")
        let occurrences = try expand(text, from: "2026-10-01T00:00:00Z", to: "2026-11-03T00:00:00Z")
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-10-12T08:00:00Z", "2026-10-19T08:00:00Z", "2026-10-26T09:00:00Z", "2026-11-02T09:00:00Z")))
        #expect(
            occurrences.map(\.end)
                == (try instants(
                    "2026-10-12T09:00:00Z", "2026-10-19T09:00:00Z", "2026-10-26T10:00:00Z", "2026-11-02T10:00:00Z")))
    }

    @Test("an unsupported frequency yields only DTSTART, and a series with a malformed rule is skipped, naming its line")
    func unsupportedFrequencyYieldsOnlyDTSTARTAndMalformedRulesNameTheirLine() throws {
        let hourly = series("UID:h", "DTSTART:20261102T090000Z", "RRULE:FREQ=HOURLY;COUNT=5")
        #expect(
            try expand(hourly, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z").map(\.start)
                == (try instants("2026-11-02T09:00:00Z")))

        let malformed = series("UID:m", "DTSTART:20261102T090000Z", "RRULE:FREQ=WEEKLY;BYDAY=XX")
        let window = DateInterval(start: try at("2026-11-01T00:00:00Z"), duration: 86_400 * 30)
        let read = try ICalendar.occurrences(from: malformed, window: window)
        #expect(read.events.isEmpty)
        #expect(read.skipped.map(\.line) == [7])
        #expect(read.skipped.first?.message.contains("BYDAY value 'XX'") == true)
        #expect(read.skipped.first?.message.hasSuffix("VEVENT that begins on line 3 was skipped") == true)
    }
}

// MARK: - EXDATE, RDATE and overrides

@Suite("iCalendar: exceptions and overridden instances")
struct ICalendarRecurrenceExceptionTests {
    @Test("EXDATEs apply with a TZID, across several properties, and as VALUE=DATE")
    func exdatesWithTZIDAcrossSeveralPropertiesAndValueDate() throws {
        let text = series(
            "UID:ex", "DTSTART;TZID=Europe/Berlin:20261102T100000", "DTEND;TZID=Europe/Berlin:20261102T103000",
            "RRULE:FREQ=DAILY;COUNT=7",
            "EXDATE;TZID=Europe/Berlin:20261103T100000,20261105T100000",
            "EXDATE;TZID=Europe/Berlin:20261106T100000",
            "EXDATE;VALUE=DATE:20261108")
        #expect(
            try expand(text, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z").map(\.start)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-04T09:00:00Z", "2026-11-07T09:00:00Z")))
    }

    @Test("RDATEs add instances, and duplicates collapse")
    func rdatesAddInstancesAndDuplicatesCollapse() throws {
        let text = series(
            "UID:rd", "DTSTART;TZID=Europe/Berlin:20261102T100000", "DURATION:PT1H",
            "RRULE:FREQ=WEEKLY;COUNT=2",
            "RDATE;TZID=Europe/Berlin:20261104T150000,20261109T100000",
            "RDATE:20261120T080000Z",
            "RDATE;VALUE=PERIOD:20261125T130000Z/PT2H")
        let occurrences = try expand(text, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z")
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-11-02T09:00:00Z", "2026-11-04T14:00:00Z", "2026-11-09T09:00:00Z",
                    "2026-11-20T08:00:00Z", "2026-11-25T13:00:00Z")))
        #expect(occurrences.map { $0.end.timeIntervalSince($0.start) } == [3600, 3600, 3600, 3600, 7200])
        #expect(occurrences.map(\.recurrenceID) == occurrences.map(\.start))
    }

    @Test("overridden instances move, are retitled or are cancelled")
    func overriddenInstancesMoveAreRetitledOrCancelled() throws {
        let text = recurrenceCalendar(
            "BEGIN:VEVENT", "UID:weekly-sync", "SUMMARY:Weekly sync", "SEQUENCE:0",
            "DTSTART;TZID=Europe/Berlin:20261012T100000", "DTEND;TZID=Europe/Berlin:20261012T103000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO", "END:VEVENT",
            // 19 Oct moved to Tuesday afternoon with a new title.
            "BEGIN:VEVENT", "UID:weekly-sync", "SUMMARY:Weekly sync (moved)", "SEQUENCE:1",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261019T100000",
            "DTSTART;TZID=Europe/Berlin:20261020T150000", "DTEND;TZID=Europe/Berlin:20261020T153000", "END:VEVENT",
            // 26 Oct cancelled.
            "BEGIN:VEVENT", "UID:weekly-sync", "SUMMARY:Weekly sync", "SEQUENCE:1", "STATUS:CANCELLED",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261026T100000",
            "DTSTART;TZID=Europe/Berlin:20261026T100000", "DTEND;TZID=Europe/Berlin:20261026T103000", "END:VEVENT",
            // 2 Nov moved out of the window, to December.
            "BEGIN:VEVENT", "UID:weekly-sync", "SUMMARY:Weekly sync", "SEQUENCE:1",
            "RECURRENCE-ID:20261102T090000Z",
            "DTSTART;TZID=Europe/Berlin:20261201T100000", "DTEND;TZID=Europe/Berlin:20261201T103000", "END:VEVENT",
            // 7 Dec (outside the window) moved into it.
            "BEGIN:VEVENT", "UID:weekly-sync", "SUMMARY:Weekly sync (early)", "SEQUENCE:1",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261207T100000",
            "DTSTART;TZID=Europe/Berlin:20261104T090000", "DTEND;TZID=Europe/Berlin:20261104T093000", "END:VEVENT")
        let occurrences = try expand(text, from: "2026-10-12T00:00:00Z", to: "2026-11-16T00:00:00Z")

        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-10-12T08:00:00Z", "2026-10-20T13:00:00Z", "2026-10-26T09:00:00Z",
                    "2026-11-04T08:00:00Z", "2026-11-09T09:00:00Z")))
        #expect(
            occurrences.map(\.recurrenceID)
                == (try instants(
                    "2026-10-12T08:00:00Z", "2026-10-19T08:00:00Z", "2026-10-26T09:00:00Z",
                    "2026-12-07T09:00:00Z", "2026-11-09T09:00:00Z")))
        #expect(
            occurrences.map(\.title) == [
                "Weekly sync", "Weekly sync (moved)", "Weekly sync", "Weekly sync (early)", "Weekly sync",
            ])
        #expect(occurrences.map(\.status) == [.confirmed, .confirmed, .cancelled, .confirmed, .confirmed])
        #expect(occurrences.map(\.sequence) == [0, 1, 1, 1, 0])
        #expect(occurrences.allSatisfy { $0.uid == "weekly-sync" })
    }

    @Test("an override without its series stands alone, and METHOD:CANCEL cancels every occurrence")
    func singleOverrideWithoutItsSeriesAndMethodCancel() throws {
        // An invitation to one instance only: the feed holds the override, not the series.
        let lone = series(
            "UID:lone", "RECURRENCE-ID:20261110T090000Z", "DTSTART:20261110T100000Z", "DTEND:20261110T110000Z")
        let occurrences = try expand(lone, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z")
        #expect(occurrences.map(\.start) == (try instants("2026-11-10T10:00:00Z")))
        #expect(occurrences.first?.recurrenceID == (try at("2026-11-10T09:00:00Z")))

        let cancel = recurrenceCalendar(
            "METHOD:CANCEL", "BEGIN:VEVENT", "UID:c", "DTSTART:20261102T090000Z", "RRULE:FREQ=DAILY;COUNT=2", "END:VEVENT")
        #expect(
            try expand(cancel, from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z").map(\.status)
                == [.cancelled, .cancelled])
    }
}

// MARK: - Windows and limits

@Suite("iCalendar: expansion windows and limits")
struct ICalendarRecurrenceWindowTests {
    @Test("the window cuts an unbounded daily series")
    func windowCutsAnUnboundedDailySeries() throws {
        // Started in 2015 and never ends: only what overlaps the window comes back, including
        // the meeting already running when the window opens, and the loop stops at the window.
        let text = series(
            "UID:daily", "DTSTART:20150105T090000Z", "DTEND:20150105T093000Z", "RRULE:FREQ=DAILY")
        let occurrences = try expand(text, from: "2026-11-10T09:15:00Z", to: "2026-11-13T00:00:00Z")
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-11-10T09:00:00Z", "2026-11-11T09:00:00Z", "2026-11-12T09:00:00Z")))

        // Half-open window: ending exactly at the window start or starting at its end is outside.
        let edges = try expand(text, from: "2026-11-10T09:30:00Z", to: "2026-11-11T09:00:00Z")
        #expect(edges.isEmpty)

        // Even an effectively endless window terminates: the per-series cap stops the loop.
        let endless = try ICalendar.occurrences(from: text, window: DateInterval(start: .distantPast, end: .distantFuture))
            .events
        #expect(endless.count == ICalendar.maximumOccurrencesPerSeries)
        #expect(endless.first?.start == (try at("2015-01-05T09:00:00Z")))
    }

    @Test("COUNT is counted from DTSTART even when the window is years later")
    func countIsCountedFromDTSTARTEvenWhenTheWindowIsYearsLater() throws {
        // 3000 daily instances from 1 January 2020 end on 18 March 2028.
        let text = series("UID:count", "DTSTART:20200101T090000Z", "RRULE:FREQ=DAILY;COUNT=3000")
        let occurrences = try expand(text, from: "2028-03-15T00:00:00Z", to: "2028-04-01T00:00:00Z")
        #expect(occurrences.first?.start == (try at("2028-03-15T09:00:00Z")))
        #expect(occurrences.last?.start == (try at("2028-03-18T09:00:00Z")))
        #expect(occurrences.count == 4)
    }

    @Test("non-recurring events keep a nil recurrence id, and everything is sorted by start")
    func nonRecurringEventsKeepANilRecurrenceIDAndEverythingIsSortedByStart() throws {
        let text = recurrenceCalendar(
            "BEGIN:VEVENT", "UID:late", "DTSTART:20261103T120000Z", "END:VEVENT",
            "BEGIN:VEVENT", "UID:series", "DTSTART:20261102T090000Z", "RRULE:FREQ=DAILY;COUNT=3", "END:VEVENT",
            "BEGIN:VEVENT", "UID:outside", "DTSTART:20261201T120000Z", "END:VEVENT")
        let occurrences = try expand(text, from: "2026-11-01T00:00:00Z", to: "2026-11-30T00:00:00Z")
        #expect(occurrences.map(\.uid) == ["series", "series", "late", "series"])
        #expect(occurrences.map { $0.recurrenceID == nil } == [false, false, true, false])
    }

    @Test("pathological rules are capped per series and rejected per calendar")
    func pathologicalRulesAreCappedPerSeriesAndRejectedPerCalendar() throws {
        // 1440 instances a day: a year-long window would be over half a million.
        let everyMinute =
            "RRULE:FREQ=DAILY;BYHOUR=" + (0...23).map(String.init).joined(separator: ",")
            + ";BYMINUTE=" + (0...59).map(String.init).joined(separator: ",")
        let one = series("UID:flood", "DTSTART:20260101T000000Z", everyMinute)
        let capped = try expand(one, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z")
        #expect(capped.count == ICalendar.maximumOccurrencesPerSeries)
        #expect(capped.first?.start == (try at("2026-01-01T00:00:00Z")))
        #expect(capped.last?.start == (try at("2026-01-01T00:00:00Z")).addingTimeInterval(60 * 4999))

        let many = recurrenceCalendar(
            lines: (0..<11).flatMap {
                ["BEGIN:VEVENT", "UID:flood-\($0)", "DTSTART:20260101T000000Z", everyMinute, "END:VEVENT"]
            })
        let window = DateInterval(start: try at("2026-01-01T00:00:00Z"), end: try at("2027-01-01T00:00:00Z"))
        #expect(throws: ICalendarError.self) { try ICalendar.occurrences(from: many, window: window) }
    }
}

private func recurrenceCalendar(lines: [String]) -> String {
    (["BEGIN:VCALENDAR", "VERSION:2.0"] + lines + ["END:VCALENDAR"]).joined(separator: "\r\n")
}

// MARK: - All-day series

@Suite("iCalendar: all-day recurrence")
struct ICalendarAllDayRecurrenceTests {
    @Test("a weekly all-day event recurs by date, at midnight in the default zone")
    func weeklyAllDayEventRecursByDateAtMidnightInTheDefaultZone() throws {
        // Fridays across the October change: midnight Berlin is 22:00Z in CEST, 23:00Z in CET.
        let text = series(
            "UID:allday", "SUMMARY:Focus day", "DTSTART;VALUE=DATE:20261016", "DTEND;VALUE=DATE:20261017",
            "RRULE:FREQ=WEEKLY;UNTIL=20261106", "EXDATE;VALUE=DATE:20261030")
        let occurrences = try expand(text, from: "2026-10-01T00:00:00Z", to: "2026-12-01T00:00:00Z", defaultTimeZone: berlinZone)
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-10-15T22:00:00Z", "2026-10-22T22:00:00Z", "2026-11-05T23:00:00Z")))
        #expect(
            occurrences.map(\.end)
                == (try instants(
                    "2026-10-16T22:00:00Z", "2026-10-23T22:00:00Z", "2026-11-06T23:00:00Z")))
        #expect(occurrences.allSatisfy { $0.isAllDay })
        #expect(occurrences.map(\.recurrenceID) == occurrences.map(\.start))
    }
}

// MARK: - VTIMEZONE

/// Fixtures/outlook-custom-time-zones.ics is shaped like an Outlook (classic, Windows) "Save as
/// iCalendar" of a calendar whose events use zones Outlook names by display name or
/// "Customized Time Zone": neither is IANA nor a Windows zone ID, so only the VTIMEZONE blocks
/// say what they mean. Outlook starts every observance in 1601 and writes UNTIL in UTC.
@Suite("iCalendar: VTIMEZONE")
struct ICalendarVTimeZoneTests {
    let outlookCustomZones: String

    init() throws {
        outlookCustomZones = try calendarFixture("outlook-custom-time-zones")
    }

    @Test("an Outlook custom zone resolves on both sides of its spring change")
    func outlookCustomZoneResolvesOnBothSidesOfItsSpringChange() throws {
        // Default zone New York: falling back to it would put the review at 13:00Z/14:00Z.
        let occurrences = try expand(
            outlookCustomZones, from: "2026-03-02T00:00:00Z", to: "2026-05-01T00:00:00Z", defaultTimeZone: newYorkZone)
        let review = occurrences.filter { $0.title == "Project review" }
        // 09:00 at UTC+1 until the last Sunday of March (29th), then 09:00 at UTC+2; 6 April is
        // excluded and UNTIL is the 13 April instance itself.
        #expect(
            review.map(\.start)
                == (try instants(
                    "2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-13T07:00:00Z")))
        #expect(review.map(\.end) == review.map { $0.start.addingTimeInterval(1800) })
    }

    @Test("a zone named by its display name resolves on both sides of the US spring change")
    func displayNameZoneResolvesOnBothSidesOfTheUSSpringChange() throws {
        // Default zone Berlin this time; US clocks go forward on 8 March 2026.
        let occurrences = try expand(
            outlookCustomZones, from: "2026-03-02T00:00:00Z", to: "2026-05-01T00:00:00Z", defaultTimeZone: berlinZone)
        let standup = occurrences.filter { $0.title == "US standup" }
        #expect(
            standup.map(\.start)
                == (try instants(
                    "2026-03-05T14:00:00Z", "2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z")))
    }

    @Test("a custom zone also applies to single events, after the autumn change")
    func customZoneAlsoAppliesToSingleEventsAfterTheAutumnChange() throws {
        // 28 October is after the last Sunday of October: UTC+1 again.
        let occurrences = try expand(
            outlookCustomZones, from: "2026-10-01T00:00:00Z", to: "2026-11-01T00:00:00Z", defaultTimeZone: newYorkZone)
        #expect(occurrences.map(\.title) == ["Budget sign-off"])
        #expect(occurrences.first?.start == (try at("2026-10-28T10:00:00Z")))
        #expect(occurrences.first?.recurrenceID == nil)
    }

    @Test("a custom zone's offsets, its gap and repeated hour, and far-future dates")
    func offsetsGapsAndFarFutureDates() throws {
        let calendar = try #require(try ICalendar.components(from: outlookCustomZones).first)
        let resolver = ICalZoneResolver(calendar: calendar, defaultTimeZone: .gmt)
        guard case .custom(let zone) = resolver.zone(forTZID: "Customized Time Zone") else {
            Issue.record("Customized Time Zone should come from the VTIMEZONE")
            return
        }
        func offset(_ iso: String) throws -> Int { zone.offset(atUnixSeconds: Int64(try at(iso).timeIntervalSince1970)) }
        #expect(try offset("2026-03-29T00:59:59Z") == 3600)
        #expect(try offset("2026-03-29T01:00:00Z") == 7200)
        #expect(try offset("2026-10-25T00:59:59Z") == 7200)
        #expect(try offset("2026-10-25T01:00:00Z") == 3600)
        // Past the precomputed range (2400) the 400-year cycle takes over: 2450-03-27 is the
        // last Sunday of March 2450.
        #expect(try offset("2450-03-27T00:59:59Z") == 3600)
        #expect(try offset("2450-03-27T01:00:00Z") == 7200)

        // RFC 5545 §3.3.5: 02:30 does not exist on 29 March; it is read with the offset before
        // the gap (01:30Z). 02:30 on 25 October exists twice; the first one (CEST) is meant.
        let gap = ICalLocalDateTime(date: ICalLocalDate(year: 2026, month: 3, day: 29), hour: 2, minute: 30)
        #expect(zone.date(from: gap) == (try at("2026-03-29T01:30:00Z")))
        let twice = ICalLocalDateTime(date: ICalLocalDate(year: 2026, month: 10, day: 25), hour: 2, minute: 30)
        #expect(zone.date(from: twice) == (try at("2026-10-25T00:30:00Z")))

        // IANA and Windows names keep using Foundation even when the calendar defines them.
        #expect(resolver.zone(forTZID: "W. Europe Standard Time") == .foundation(berlinZone))
        #expect(resolver.zone(forTZID: "Nowhere/Unknown") == .foundation(.gmt))
    }

    @Test("a zone defined by RDATE onsets only")
    func zoneDefinedByRDATEOnsetsOnly() throws {
        let text = recurrenceCalendar(
            "BEGIN:VTIMEZONE", "TZID:Office time", "BEGIN:DAYLIGHT", "DTSTART:20260329T020000",
            "RDATE:20260329T020000,20270328T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
            "BEGIN:STANDARD", "DTSTART:20261025T030000", "RDATE:20261025T030000", "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE",
            "BEGIN:VEVENT", "UID:office", "DTSTART;TZID=Office time:20260115T120000",
            "RDATE;TZID=Office time:20260701T120000,20261201T120000", "END:VEVENT")
        let occurrences = try expand(text, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z", defaultTimeZone: newYorkZone)
        // Before the first onset the first onset's TZOFFSETFROM applies (+01:00).
        #expect(
            occurrences.map(\.start)
                == (try instants(
                    "2026-01-15T11:00:00Z", "2026-07-01T10:00:00Z", "2026-12-01T11:00:00Z")))
    }

    @Test("events(from:) is unchanged by VTIMEZONE support")
    func eventsFromIsUnchangedByVTimeZoneSupport() throws {
        // The non-expanding entry point keeps its documented fallback to the default zone.
        let events = try ICalendar.events(from: outlookCustomZones, defaultTimeZone: newYorkZone).events
        #expect(events.first?.start == (try at("2026-03-16T13:00:00Z")))
    }
}
