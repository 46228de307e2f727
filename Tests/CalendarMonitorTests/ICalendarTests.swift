import Foundation
import Testing

@testable import ICalendar

private let berlin = TimeZone(identifier: "Europe/Berlin") ?? .gmt
private let newYork = TimeZone(identifier: "America/New_York") ?? .gmt

private func instant(_ iso8601: String) throws -> Date {
    try Date(iso8601, strategy: .iso8601)
}

/// Wraps VEVENT lines in the minimal calendar around them, LF-terminated.
private func calendar(_ lines: String...) -> String {
    (["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Attache tests//EN"] + lines + ["END:VCALENDAR"])
        .joined(separator: "\n")
}

private func singleEvent(_ lines: String..., defaultTimeZone: TimeZone = .gmt) throws -> CalendarEvent {
    let text = (["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT"] + lines + ["END:VEVENT", "END:VCALENDAR"])
        .joined(separator: "\r\n")
    let events = try ICalendar.events(from: text, defaultTimeZone: defaultTimeZone).events
    return try #require(events.first)
}

/// Why `text` cannot be read in full: the error that stops the whole file, or else the first
/// event left out.
private func parseError(_ text: String) -> ICalendarError? {
    do {
        return try ICalendar.events(from: text).skipped.first
    } catch let error as ICalendarError {
        return error
    } catch {
        return nil
    }
}

// MARK: - Google Calendar export

/// Fixtures/google-calendar-export.ics is shaped like a Google Calendar "Export" /
/// secret-address feed: CRLF, VTIMEZONE, folded lines at 75 octets, attendees with
/// X-NUM-GUESTS, VALARMs, a recurring series with one moved instance, an all-day event and a
/// cancelled event.
@Suite("iCalendar: Google Calendar export")
struct ICalendarGoogleExportTests {
    let googleExport: String
    let events: [CalendarEvent]

    init() throws {
        googleExport = try calendarFixture("google-calendar-export")
        events = try ICalendar.events(from: googleExport, defaultTimeZone: berlin).events
    }

    @Test("every event is found, in file order; time zone and alarm blocks are not events")
    func findsEveryEventInFileOrderAndIgnoresTimezoneAndAlarmBlocks() {
        #expect(events.count == 4)
        #expect(
            events.map(\.title) == [
                "Alex / Jane 1:1", "Alex / Jane 1:1", "Leadership offsite", "Q4 planning, budget & hiring",
            ])
    }

    @Test("a recurring 1:1 is read in its own time zone")
    func recurringOneOnOneIsReadInItsTimeZone() throws {
        let event = events[0]
        #expect(event.uid == "4q2bn7k0f1c8l9m3s5t6u7v8w9@google.com")
        // 10:00 in Berlin in November (CET, UTC+1) is 09:00 UTC.
        #expect(event.start == (try instant("2026-11-24T09:00:00Z")))
        #expect(event.end == (try instant("2026-11-24T09:30:00Z")))
        #expect(!event.isAllDay)
        #expect(event.status == .confirmed)
        #expect(event.sequence == 0)
        #expect(event.recurrenceID == nil)
        #expect(event.recurrenceRule == "FREQ=WEEKLY;WKST=MO;BYDAY=TU")
        #expect(event.location == nil, "Google writes an empty LOCATION: for 'no location'")
    }

    @Test("attendees' quoted names keep their commas")
    func attendeesKeepQuotedNamesWithCommas() {
        let event = events[0]
        #expect(event.organizer == Attendee(email: "alex.kim@example.com", name: "Alex Kim", participation: nil, role: nil))
        #expect(
            event.attendees == [
                Attendee(email: "alex.kim@example.com", name: "Alex Kim", participation: "ACCEPTED", role: "REQ-PARTICIPANT"),
                Attendee(
                    email: "jane.doe@example.com", name: "Doe, Jane", participation: "NEEDS-ACTION", role: "REQ-PARTICIPANT"),
            ])
    }

    @Test("the description is unfolded and unescaped, and the alarm's text is not mixed in")
    func descriptionIsUnfoldedAndUnescapedAndAlarmTextIsNotMixedIn() {
        let description = events[0].description
        #expect(description.hasPrefix("Weekly 1:1 – agenda in the doc, bring notes; no slides.\n\n-::~:~::"))
        #expect(description.contains("\nJoin with Google Meet: https://meet.google.com/abc-defg-hij\n"))
        #expect(description.contains("https://support.google.com/a/users/answer/9282720"))
        #expect(!description.contains("event reminder"))
    }

    @Test("the Meet link is found and Google's support links are not")
    func meetLinkIsFoundAndSupportLinksAreNot() {
        #expect(events[0].conferenceURL == "https://meet.google.com/abc-defg-hij")
    }

    @Test("a moved instance carries its recurrence id and sequence")
    func movedInstanceCarriesRecurrenceIDAndSequence() throws {
        let override = events[1]
        #expect(override.uid == events[0].uid)
        #expect(override.recurrenceID == (try instant("2026-12-01T09:00:00Z")))
        #expect(override.start == (try instant("2026-12-01T10:00:00Z")))
        #expect(override.sequence == 1)
        #expect(override.recurrenceRule == nil)
    }

    @Test("an all-day event starts at midnight in the default zone and lasts one day")
    func allDayEventStartsAtMidnightInTheDefaultZoneAndLastsOneDay() throws {
        let offsite = events[2]
        #expect(offsite.isAllDay)
        // Midnight in Berlin on 27 November is 23:00 UTC the day before.
        #expect(offsite.start == (try instant("2026-11-26T23:00:00Z")))
        #expect(offsite.end == (try instant("2026-11-27T23:00:00Z")))
        #expect(offsite.location == "Schloss Elmau, Krün")
        #expect(offsite.description == "")
        #expect(offsite.attendees.isEmpty)
        #expect(offsite.organizer == nil)
    }

    @Test("a cancelled event's Zoom link is found though folded across lines")
    func cancelledEventWithZoomLinkFoldedAcrossLines() throws {
        let planning = events[3]
        #expect(planning.status == .cancelled)
        #expect(planning.start == (try instant("2026-11-25T15:00:00Z")))
        #expect(planning.location == "Room 4.01; Building B, Berlin")
        #expect(planning.conferenceURL == "https://acme.zoom.us/j/81234567890?pwd=Zk9tR2xNVE1vM2JxT0E5dz09")
        #expect(planning.attendees.map(\.participation) == ["ACCEPTED", "DECLINED"])
        #expect(planning.sequence == 2)
    }

    @Test("a file with line feeds only reads the same as with CRLF")
    func lineFeedOnlyFilesParseTheSameAsCRLF() throws {
        let lfOnly = googleExport.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(try ICalendar.events(from: lfOnly, defaultTimeZone: berlin).events == events)
    }
}

// MARK: - Outlook / Exchange export

/// Fixtures/outlook-exchange-invitation.ics is shaped like an Exchange/Outlook invitation
/// (.ics attachment): Windows zone names in TZID, LANGUAGE parameters, upper-case MAILTO:, a
/// Teams block folded mid-URL inside `<…>`, the X-MICROSOFT Teams property, a DURATION-based
/// event and a zone name that is neither IANA nor Windows.
@Suite("iCalendar: Outlook/Exchange invitation")
struct ICalendarOutlookExportTests {
    let events: [CalendarEvent]

    init() throws {
        events = try ICalendar.events(from: calendarFixture("outlook-exchange-invitation"), defaultTimeZone: newYork).events
    }

    private let teamsLink =
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ2ZTRmYjAtYjA2Ni00ZGI0LWE1NzMtZTg4ZmVmYjQ5ZDk0%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d%22%7d"

    @Test("a Windows zone name is mapped to its IANA zone")
    func windowsZoneNameIsMappedToIANA() throws {
        let qbr = events[0]
        #expect(qbr.title == "EMEA QBR")
        // W. Europe Standard Time = Europe/Berlin: 14:00 CET is 13:00 UTC.
        #expect(qbr.start == (try instant("2026-11-18T13:00:00Z")))
        #expect(qbr.end == (try instant("2026-11-18T14:30:00Z")))
        #expect(qbr.sequence == 2)
        #expect(
            qbr.uid
                == "040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5D901000000000000000010000000F1E2D3C4B5A697887766554433221100"
        )
    }

    @Test("attendees are read with an upper-case MAILTO: and folded, quoted names")
    func attendeesWithUpperCaseMailtoAndFoldedQuotedNames() {
        let qbr = events[0]
        #expect(qbr.organizer?.email == "morgan.lee@contoso.com")
        #expect(
            qbr.attendees == [
                Attendee(
                    email: "sam.patel@contoso.com", name: "Sam Patel", participation: "NEEDS-ACTION", role: "REQ-PARTICIPANT"),
                Attendee(
                    email: "Ana.Rivera@contoso.com", name: "Rivera, Ana (Finance; EMEA)", participation: "TENTATIVE",
                    role: "OPT-PARTICIPANT"),
            ])
    }

    @Test("a Teams link inside angle brackets is extracted whole")
    func teamsLinkInsideAngleBracketsIsExtractedWhole() {
        let qbr = events[0]
        #expect(qbr.conferenceURL == teamsLink)
        #expect(qbr.description.contains("Join on your computer, mobile app or room device\n"))
        #expect(qbr.description.hasPrefix("Quarterly review of the EMEA accounts.\n\nAgenda:\n1. Pipeline\n"))
        #expect(qbr.location == "Microsoft Teams Meeting")
    }

    @Test("DURATION gives the end, and Pacific Standard Time is mapped")
    func durationGivesTheEndAndPacificZoneIsMapped() throws {
        let call = events[1]
        // 09:00 Pacific Standard Time (UTC−8 in November) is 17:00 UTC.
        #expect(call.start == (try instant("2026-11-19T17:00:00Z")))
        #expect(call.end == (try instant("2026-11-19T17:45:00Z")))
        #expect(call.conferenceURL == "https://fabrikam.zoom.us/j/98765432100?pwd=b3BlbnNlc2FtZQ")
    }

    @Test("a zone name that is neither IANA nor Windows falls back to the default zone; STATUS is case-insensitive")
    func unknownZoneNameFallsBackToTheDefaultZoneAndStatusIsCaseInsensitive() throws {
        let cancelled = events[2]
        #expect(cancelled.status == .cancelled)
        // The display-name TZID is neither IANA nor a Windows ID: read as New York time.
        #expect(cancelled.start == (try instant("2026-11-20T14:00:00Z")))
        #expect(cancelled.end == (try instant("2026-11-20T15:00:00Z")))
        #expect(cancelled.conferenceURL == nil)
    }
}

// MARK: - Content lines

@Suite("iCalendar: content lines")
struct ICalendarContentLineTests {
    @Test("quoted parameter values may contain colons, semicolons and commas")
    func quotedParameterValuesMayContainColonsSemicolonsAndCommas() throws {
        let property = try ICalendar.parseContentLine(
            #"ATTENDEE;CN="Doe, Jane";DELEGATED-FROM="mailto:a@x.com","mailto:b@x.com";X-NOTE="a;b:c":mailto:jane@example.com"#,
            line: 7)
        #expect(property.name == "ATTENDEE")
        #expect(property.parameter("cn") == "Doe, Jane")
        #expect(property.parameters["DELEGATED-FROM"] == ["mailto:a@x.com", "mailto:b@x.com"])
        #expect(property.parameter("X-NOTE") == "a;b:c")
        #expect(property.value == "mailto:jane@example.com")
        #expect(property.line == 7)
    }

    @Test("the value keeps everything after the first unquoted colon")
    func valueKeepsEverythingAfterTheFirstUnquotedColon() throws {
        let property = try ICalendar.parseContentLine("description;language=en:Time: 10:00; room: 4", line: 1)
        #expect(property.name == "DESCRIPTION")
        #expect(property.parameter("LANGUAGE") == "en")
        #expect(property.value == "Time: 10:00; room: 4")
    }

    @Test("caret escapes in parameter values follow RFC 6868")
    func caretEscapesInParametersFollowRFC6868() throws {
        let property = try ICalendar.parseContentLine(#"ATTENDEE;CN=Jane ^'JD^' Doe^^2:mailto:j@x.com"#, line: 1)
        #expect(property.parameter("CN") == #"Jane "JD" Doe^2"#)
    }

    @Test("TEXT values are unescaped, and unknown escapes kept as written")
    func textUnescaping() {
        #expect(ICalendar.unescapeText(#"a\nb\Nc\,d\;e\\f"#) == "a\nb\nc,d;e\\f")
        #expect(ICalendar.unescapeText(#"C:\Users\x"#) == #"C:\Users\x"#, "unknown escapes are kept as written")
        #expect(ICalendar.unescapeText(#"ends with \"#) == #"ends with \"#)
    }

    @Test("a line folds with a space or a tab, and keeps the number of its first physical line")
    func foldingWithSpaceOrTabAndPhysicalLineNumbers() {
        let lines = ICalendar.unfoldedLines("A:one\r\n two\r\n\tthree\nB:x\rC:y")
        #expect(
            lines == [
                .init(line: 1, text: "A:onetwothree"),
                .init(line: 4, text: "B:x"),
                .init(line: 5, text: "C:y"),
            ])
    }

    @Test("a line that cannot begin a content line continues the previous one, as a fold that lost its space")
    func lineThatCannotBeginAContentLineContinuesThePreviousOne() {
        let lines = ICalendar.unfoldedLines("DESCRIPTION:Agenda: budget an\r\nd hiring\r\n=20 more\r\nLOCATION:Room 4")
        #expect(
            lines == [
                .init(line: 1, text: "DESCRIPTION:Agenda: budget and hiring=20 more"),
                .init(line: 4, text: "LOCATION:Room 4"),
            ])
    }

    @Test("an unreadable line outside any event is ignored and reported; the events are read")
    func unreadableLineOutsideEventsIsIgnoredAndReported() throws {
        let text = calendar(
            #"X-WR-CALNAME;X-NOTE="unclosed:Team"#, "BEGIN:VEVENT", "UID:u", "DTSTART:20261121T150000Z", "END:VEVENT")
        let contents = try ICalendar.events(from: text)
        #expect(contents.events.map(\.uid) == ["u"])
        #expect(contents.skipped.map(\.line) == [4])
        #expect(contents.skipped.first?.message.hasSuffix("never closed; the line was ignored") == true)
    }

    @Test("malformed lines are reported with their line number")
    func malformedLinesAreReportedWithTheirLineNumber() {
        #expect(throws: ICalendarError.self) { try ICalendar.parseContentLine("no colon here", line: 3) }
        let unterminated = parseError(calendar("BEGIN:VEVENT", #"ATTENDEE;CN="Doe, Jane:mailto:j@x.com"#, "END:VEVENT"))
        #expect(unterminated?.line == 5)
        #expect(unterminated?.message.contains("never closed") == true)
    }
}

// MARK: - Dates, times and durations

@Suite("iCalendar: dates and durations")
struct ICalendarDateAndDurationTests {
    @Test("UTC date-times are read as UTC")
    func utcTimes() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z", "DTEND:20261121T153000Z")
        #expect(event.start == (try instant("2026-11-21T15:00:00Z")))
        #expect(event.end == (try instant("2026-11-21T15:30:00Z")))
    }

    @Test("an IANA zone applies its daylight saving time")
    func ianaZoneAcrossDaylightSavingTime() throws {
        let summer = try singleEvent("UID:u", "DTSTART;TZID=Europe/Berlin:20260701T100000", defaultTimeZone: newYork)
        #expect(summer.start == (try instant("2026-07-01T08:00:00Z")), "CEST is UTC+2")
    }

    @Test("floating times are read in the default zone")
    func floatingTimesUseTheDefaultZone() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T090000", defaultTimeZone: newYork)
        #expect(event.start == (try instant("2026-11-21T14:00:00Z")))
        #expect(event.end == event.start, "a timed event without DTEND or DURATION ends when it starts")
    }

    @Test("a DATE without VALUE=DATE is still all-day")
    func dateWithoutValueParameterIsStillAllDay() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121", defaultTimeZone: newYork)
        #expect(event.isAllDay)
        #expect(event.start == (try instant("2026-11-21T05:00:00Z")))
        #expect(event.end == (try instant("2026-11-22T05:00:00Z")))
    }

    @Test("an all-day DURATION counts calendar days across the DST change")
    func allDayDurationCountsCalendarDaysAcrossTheDSTChange() throws {
        // 25 October 2026 is 25 hours long in Berlin (clocks go back).
        let event = try singleEvent("UID:u", "DTSTART;VALUE=DATE:20261025", "DURATION:P1D", defaultTimeZone: berlin)
        #expect(event.start == (try instant("2026-10-24T22:00:00Z")))
        #expect(event.end == (try instant("2026-10-25T23:00:00Z")))
    }

    @Test("Windows and Mozilla-style zone ids are resolved")
    func windowsAndMozillaStyleZoneIDs() throws {
        let tokyo = try singleEvent("UID:u", "DTSTART;TZID=Tokyo Standard Time:20261121T090000")
        #expect(tokyo.start == (try instant("2026-11-21T00:00:00Z")))
        let lightning = try singleEvent("UID:u", "DTSTART;TZID=/mozilla.org/20050126_1/America/Chicago:20261121T090000")
        #expect(lightning.start == (try instant("2026-11-21T15:00:00Z")))
        let india = try singleEvent("UID:u", "DTSTART;TZID=india standard time:20261121T093000")
        #expect(india.start == (try instant("2026-11-21T04:00:00Z")), "Windows names match case-insensitively")
    }

    @Test(
        "DURATION values add nominal days and weeks and exact hours, minutes and seconds",
        arguments: [
            ("PT1H30M", 5400.0),
            ("P1D", 86_400.0),
            ("-PT15M", -900.0),
            ("P2W", 1_209_600.0),
            ("P1DT2H3M4S", 93_784.0),
            ("+PT0S", 0.0),
        ])
    func durations(text: String, seconds: Double) throws {
        let start = try instant("2026-03-01T12:00:00Z")
        let duration = try ICalDuration.parse(text, line: 1)
        #expect(duration.added(to: start, in: .gmt).timeIntervalSince(start) == seconds)
    }

    @Test(
        "malformed DURATION values are rejected",
        arguments: ["", "P", "PT", "1H", "PT1D", "P1H", "PT1.5H", "P1DT", "PXD"])
    func invalidDurationsAreRejected(text: String) {
        #expect(throws: ICalendarError.self) { try ICalDuration.parse(text, line: 1) }
    }

    @Test("DURATION sets the end, and a bad DURATION names its line")
    func durationEventAndBadDurationLine() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z", "DURATION:PT1H30M")
        #expect(event.end == (try instant("2026-11-21T16:30:00Z")))

        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "DTSTART:20261121T150000Z", "DURATION:90 minutes", "END:VEVENT"))
        #expect(error?.line == 7)
        #expect(error?.message.contains("DURATION '90 minutes'") == true)
    }

    @Test(
        "impossible dates are errors on their line",
        arguments: ["20260231T100000Z", "20261321", "2026-11-21T10:00:00Z", "20261121T250000", "tomorrow"])
    func impossibleDatesAreErrorsOnTheirLine(value: String) {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "DTSTART:\(value)", "END:VEVENT"))
        #expect(error?.line == 6)
        #expect(error?.message.contains("DTSTART value '\(value)'") == true)
    }
}

// MARK: - Event fields and errors

@Suite("iCalendar: events and errors")
struct ICalendarEventExtractionTests {
    @Test("STATUS is case-insensitive and defaults to confirmed")
    func statusIsCaseInsensitiveAndDefaultsToConfirmed() throws {
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z").status == .confirmed)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:Tentative").status == .tentative)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:cancelled").status == .cancelled)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:WHATEVER").status == .confirmed)
    }

    @Test("METHOD:CANCEL marks the calendar's events cancelled")
    func methodCancelMarksEventsCancelled() throws {
        let text = calendar("METHOD:CANCEL", "BEGIN:VEVENT", "UID:u", "DTSTART:20261121T150000Z", "SEQUENCE:4", "END:VEVENT")
        let events = try ICalendar.events(from: text).events
        #expect(events.map(\.status) == [.cancelled])
    }

    @Test("unknown properties and components are ignored")
    func unknownPropertiesAndComponentsAreIgnored() throws {
        let event = try singleEvent(
            "UID:u", "X-FOO;X-BAR=1:whatever", "DTSTART:20261121T150000Z", "CATEGORIES:a,b",
            "BEGIN:X-CUSTOM", "SUMMARY:not the title", "END:X-CUSTOM", "SUMMARY:Real title")
        #expect(event.title == "Real title")
    }

    @Test("a missing SUMMARY or DESCRIPTION is empty")
    func missingSummaryAndDescriptionAreEmpty() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z")
        #expect(event.title == "")
        #expect(event.description == "")
        #expect(event.location == nil)
        #expect(event.conferenceURL == nil)
    }

    @Test("an attendee without mailto: uses the EMAIL parameter")
    func attendeeWithoutMailtoUsesEmailParameter() throws {
        let event = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z",
            "ATTENDEE;EMAIL=lee@example.com;CN=Lee:urn:uuid:1e2d3c4b-0000-4000-8000-000000000000",
            "ATTENDEE:MailTo:kim@example.com")
        #expect(event.attendees.map(\.email) == ["lee@example.com", "kim@example.com"])
        #expect(event.attendees[1].name == nil)
    }

    @Test("an event without DTSTART is reported at the line where it begins")
    func eventWithoutDTSTARTNamesTheLineWhereTheEventBegins() {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:abc", "SUMMARY:Sync", "END:VEVENT"))
        #expect(error?.line == 4)
        #expect(error?.message.contains("no DTSTART") == true)
    }

    @Test("a truncated feed is an error, not a shorter calendar")
    func truncatedFeedIsAnErrorNotAShortCalendar() {
        let truncated = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u\nDTSTART:20261121T150000Z\n"
        let error = parseError(truncated)
        #expect(error?.line == 2)
        #expect(error?.message.contains("never closed") == true)
    }

    @Test("a mismatched END is reported")
    func mismatchedEndIsReported() {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "BEGIN:VALARM", "END:VEVENT"))
        #expect(error?.line == 7)
        #expect(error?.message.contains("BEGIN:VALARM from line 6") == true)
    }

    @Test("an event with a block left open or a stray END is skipped; the events beside it are read")
    func mismatchedEndCostsOnlyItsEvent() throws {
        let text = calendar(
            "BEGIN:VEVENT", "UID:unclosed-alarm", "BEGIN:VALARM", "ACTION:DISPLAY", "END:VEVENT",
            "BEGIN:VEVENT", "UID:stray-end", "DTSTART:20261121T150000Z", "END:VALARM", "END:VEVENT",
            "BEGIN:VEVENT", "UID:fine", "DTSTART:20261121T160000Z", "END:VEVENT",
            "BEGIN:VEVENT", "UID:never-closed", "DTSTART:20261121T170000Z")
        let contents = try ICalendar.events(from: text)
        #expect(contents.events.map(\.uid) == ["fine"])
        #expect(contents.skipped.map(\.line) == [8, 12, 21])
        #expect(contents.skipped.last?.message.hasPrefix("END:VCALENDAR does not close BEGIN:VEVENT from line 18") == true)
    }

    @Test("HTML instead of a calendar is rejected at line 1")
    func htmlInsteadOfACalendarIsRejectedAtLineOne() {
        let error = parseError("<!DOCTYPE html>\n<html><body>Sign in</body></html>")
        #expect(error?.line == 1)
        #expect(parseError("") != nil)
    }
}

// MARK: - Conference links

@Suite("Conference links")
struct ConferenceLinkTests {
    @Test(
        "each provider's join link is recognised, without trailing punctuation",
        arguments: [
            ("Join: https://us02web.zoom.us/j/85551234567?pwd=abc123", "https://us02web.zoom.us/j/85551234567?pwd=abc123"),
            ("https://zoom.us/j/123456789.", "https://zoom.us/j/123456789"),
            ("Personal room (https://acme.zoom.us/my/jane.doe)", "https://acme.zoom.us/my/jane.doe"),
            ("<https://meet.google.com/abc-defg-hij>", "https://meet.google.com/abc-defg-hij"),
            ("https://meet.google.com/abc-defg-hij?authuser=0,", "https://meet.google.com/abc-defg-hij?authuser=0"),
            ("https://teams.live.com/meet/9388888888888?p=abcDEF", "https://teams.live.com/meet/9388888888888?p=abcDEF"),
            (
                "Join: https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef;",
                "https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef"
            ),
            (
                "[Join](https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0)",
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"
            ),
        ])
    func recognisesEachProviderAndStripsTrailingPunctuation(text: String, expected: String) {
        #expect(ConferenceLink.find(in: [text]) == expected)
    }

    @Test(
        "links that are not meetings are ignored",
        arguments: [
            "https://zoom.us/",
            "https://zoom.us/pricing",
            "https://zoom.us.evil.example/j/123",
            "https://zoom.us@evil.example/j/123",
            "http://zoom.us/j/123",
            "https://meet.google.com/",
            "https://meet.google.com/landing",
            "https://support.google.com/a/users/answer/9282720",
            "https://aka.ms/JoinTeamsMeeting",
            "https://teams.microsoft.com/meetingOptions/?organizerId=1",
            "https://www.webex.com/downloads.html",
            "https://help.webex.com/en-us/article/123",
        ])
    func ignoresLinksThatAreNotMeetings(text: String) {
        #expect(ConferenceLink.find(in: [text]) == nil)
    }

    @Test("earlier texts win, then the leftmost link within a text")
    func earlierFieldsWinThenLeftmostLinkInAField() {
        let texts = [
            "Agenda: https://docs.example.com/x",
            "Call https://meet.google.com/aaa-bbbb-ccc or https://zoom.us/j/1",
            "https://teams.live.com/meet/123",
        ]
        #expect(ConferenceLink.find(in: texts) == "https://meet.google.com/aaa-bbbb-ccc")
    }

    @Test("URL is searched first, then LOCATION, DESCRIPTION and the vendors' properties")
    func searchesURLThenLocationThenDescriptionThenVendorProperties() throws {
        let urlFirst = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z",
            "X-GOOGLE-CONFERENCE:https://meet.google.com/ggg-gggg-ggg",
            "DESCRIPTION:https://zoom.us/j/3",
            "LOCATION:https://zoom.us/j/2",
            "URL:https://zoom.us/j/1")
        #expect(urlFirst.conferenceURL == "https://zoom.us/j/1")

        let locationNext = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z", "DESCRIPTION:https://zoom.us/j/3", "LOCATION:https://zoom.us/j/2")
        #expect(locationNext.conferenceURL == "https://zoom.us/j/2")

        let vendorPropertyLast = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z", "DESCRIPTION:No link here",
            "X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/19%3ameeting_y%40thread.v2/0")
        #expect(vendorPropertyLast.conferenceURL == "https://teams.microsoft.com/l/meetup-join/19%3ameeting_y%40thread.v2/0")

        let googleProperty = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z", "X-GOOGLE-CONFERENCE:https://meet.google.com/xyz-abcd-efg")
        #expect(googleProperty.conferenceURL == "https://meet.google.com/xyz-abcd-efg")
    }
}

// MARK: - Windows time zones

@Suite("Windows time zone table")
struct WindowsTimeZonesTests {
    @Test("every entry resolves to a zone Foundation knows")
    func everyEntryResolvesToARealZone() {
        #expect(WindowsTimeZones.ianaByWindowsName.count >= 40)
        for (windows, iana) in WindowsTimeZones.ianaByWindowsName {
            #expect(TimeZone(identifier: iana) != nil, "\(windows) → \(iana) is not a zone Foundation knows")
        }
    }

    @Test(
        "the common Exchange names map to their IANA zones",
        arguments: [
            ("Pacific Standard Time", "America/Los_Angeles"),
            ("Eastern Standard Time", "America/New_York"),
            ("Central Standard Time", "America/Chicago"),
            ("Mountain Standard Time", "America/Denver"),
            ("GMT Standard Time", "Europe/London"),
            ("W. Europe Standard Time", "Europe/Berlin"),
            ("Romance Standard Time", "Europe/Paris"),
            ("Central Europe Standard Time", "Europe/Budapest"),
            ("Tokyo Standard Time", "Asia/Tokyo"),
            ("India Standard Time", "Asia/Kolkata"),
            ("China Standard Time", "Asia/Shanghai"),
            ("AUS Eastern Standard Time", "Australia/Sydney"),
            ("UTC", "Etc/UTC"),
        ])
    func commonExchangeNames(windows: String, iana: String) {
        #expect(WindowsTimeZones.ianaIdentifier(forWindowsName: windows) == iana)
    }

    @Test("unknown names resolve to nothing, so that the caller can fall back")
    func unknownNamesResolveToNothingSoTheCallerCanFallBack() {
        #expect(WindowsTimeZones.timeZone(forTZID: "Customized Time Zone") == nil)
        #expect(WindowsTimeZones.timeZone(forTZID: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna") == nil)
        #expect(WindowsTimeZones.timeZone(forTZID: "Europe/Berlin")?.identifier == "Europe/Berlin")
        #expect(
            WindowsTimeZones.timeZone(forTZID: "CET")?.secondsFromGMT(for: Date(timeIntervalSince1970: 1_790_000_000)) == 7200)
    }
}
