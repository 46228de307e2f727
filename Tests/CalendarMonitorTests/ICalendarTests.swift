import Foundation
import Testing

@testable import ICalendar

// MARK: - Fixtures

/// Shaped like a Google Calendar "Export" / secret-address feed: CRLF, VTIMEZONE, folded
/// lines at 75 octets, attendees with X-NUM-GUESTS, VALARMs, a recurring series with one
/// moved instance, an all-day event and a cancelled event.
private let googleExport = #"""
BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:alex.kim@example.com
X-WR-TIMEZONE:Europe/Berlin
BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20261124T100000
DTEND;TZID=Europe/Berlin:20261124T103000
RRULE:FREQ=WEEKLY;WKST=MO;BYDAY=TU
DTSTAMP:20261120T081500Z
ORGANIZER;CN=Alex Kim:mailto:alex.kim@example.com
UID:4q2bn7k0f1c8l9m3s5t6u7v8w9@google.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Alex Ki
 m;X-NUM-GUESTS=0:mailto:alex.kim@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN="Do
 e, Jane";X-NUM-GUESTS=0:mailto:jane.doe@example.com
X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij
CREATED:20261101T090000Z
DESCRIPTION:Weekly 1:1 – agenda in the doc\, bring notes\; no slides.\n\n-::
 ~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~
 :~:~:~::~:~::-\nJoin with Google Meet: https://meet.google.com/abc-defg-hij
 \n\nLearn more about Meet at: https://support.google.com/a/users/answer/928
 2720\n\nPlease do not edit this section.\n-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:
 ~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-
LAST-MODIFIED:20261119T164210Z
LOCATION:
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Alex / Jane 1:1
TRANSP:OPAQUE
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:This is an event reminder
TRIGGER:-P0DT0H10M0S
END:VALARM
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20261201T110000
DTEND;TZID=Europe/Berlin:20261201T113000
DTSTAMP:20261120T081500Z
ORGANIZER;CN=Alex Kim:mailto:alex.kim@example.com
UID:4q2bn7k0f1c8l9m3s5t6u7v8w9@google.com
RECURRENCE-ID;TZID=Europe/Berlin:20261201T100000
CREATED:20261101T090000Z
DESCRIPTION:Moved one hour later this week.
LAST-MODIFIED:20261119T164210Z
LOCATION:
SEQUENCE:1
STATUS:CONFIRMED
SUMMARY:Alex / Jane 1:1
TRANSP:OPAQUE
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261127
DTEND;VALUE=DATE:20261128
DTSTAMP:20261120T081500Z
UID:1t2u3v4w5x6y7z8a9b0c1d2e3f@google.com
CREATED:20261015T120000Z
DESCRIPTION:
LAST-MODIFIED:20261015T120000Z
LOCATION:Schloss Elmau\, Krün
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Leadership offsite
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
DTSTART:20261125T150000Z
DTEND:20261125T160000Z
DTSTAMP:20261120T081500Z
ORGANIZER;CN=Priya Nair:mailto:priya.nair@example.com
UID:0a9b8c7d6e5f4g3h2i1j0k9l8m@google.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Priya N
 air;X-NUM-GUESTS=0:mailto:priya.nair@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=DECLINED;CN=Alex Ki
 m;X-NUM-GUESTS=0:mailto:alex.kim@example.com
CREATED:20261110T100000Z
DESCRIPTION:Q4 planning\, budget & hiring. Dial in: https://acme.zoom.us/j/8
 1234567890?pwd=Zk9tR2xNVE1vM2JxT0E5dz09.
LAST-MODIFIED:20261121T090000Z
LOCATION:Room 4.01\; Building B\, Berlin
SEQUENCE:2
STATUS:CANCELLED
SUMMARY:Q4 planning\, budget & hiring
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR

"""#.replacingOccurrences(of: "\n", with: "\r\n")

/// Shaped like an Exchange/Outlook invitation (.ics attachment): Windows zone names in
/// TZID, LANGUAGE parameters, upper-case MAILTO:, a Teams block folded mid-URL inside
/// `<…>`, the X-MICROSOFT Teams property, a DURATION-based event and a zone name that is
/// neither IANA nor Windows.
private let outlookExport = #"""
BEGIN:VCALENDAR
METHOD:REQUEST
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Pacific Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ORGANIZER;CN=Morgan Lee:mailto:morgan.lee@contoso.com
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Sam Patel:
 mailto:sam.patel@contoso.com
ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=tentative;RSVP=TRUE;CN="Rivera, Ana
  (Finance; EMEA)":MAILTO:Ana.Rivera@contoso.com
DESCRIPTION;LANGUAGE=en-US:Quarterly review of the EMEA accounts.\n\nAgenda
 :\n1. Pipeline\n2. Renewals at risk\n\n___________________________________
 _____________________________________________\nMicrosoft Teams meeting\nJo
 in on your computer\, mobile app or room device\nClick here to join the m
 eeting<https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ2ZTRmYjAt
 YjA2Ni00ZGI0LWE1NzMtZTg4ZmVmYjQ5ZDk0%40thread.v2/0?context=%7b%22Tid%22%3a
 %2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22a1b2c3d4-e5f6-
 4a7b-8c9d-0e1f2a3b4c5d%22%7d>\nMeeting ID: 234 567 890 123\nPasscode: aB3c
 D4\n\nLearn More<https://aka.ms/JoinTeamsMeeting> | Meeting options<https:
 //teams.microsoft.com/meetingOptions/?organizerId=a1b2c3d4>\n_____________
 ___________________________________________________________________\n
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5D90100000000000000
 0010000000F1E2D3C4B5A697887766554433221100
SUMMARY;LANGUAGE=en-US:EMEA QBR
DTSTART;TZID=W. Europe Standard Time:20261118T140000
DTEND;TZID=W. Europe Standard Time:20261118T153000
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:20261110T120000Z
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:2
LOCATION;LANGUAGE=en-US:Microsoft Teams Meeting
X-MICROSOFT-CDO-APPT-SEQUENCE:2
X-MICROSOFT-CDO-OWNERAPPTID:2120468931
X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
X-MICROSOFT-CDO-IMPORTANCE:1
X-MICROSOFT-CDO-INSTTYPE:0
X-MICROSOFT-DONOTFORWARDMEETING:FALSE
X-MICROSOFT-DISALLOW-COUNTER:FALSE
X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/
 19%3ameeting_NjQ2ZTRmYjAtYjA2Ni00ZGI0LWE1NzMtZTg4ZmVmYjQ5ZDk0%40thread.v2/
 0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22O
 id%22%3a%22a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d%22%7d
X-MICROSOFT-ONLINEMEETINGCONFLINK:conf:sip:morgan.lee@contoso.com\;gruu\;op
 aque=app:conf:focus:id:teams:2:0!19:meeting_NjQ2ZTRmYjAt-thread.v2
BEGIN:VALARM
DESCRIPTION:REMINDER
TRIGGER;RELATED=START:-PT15M
ACTION:DISPLAY
END:VALARM
END:VEVENT
BEGIN:VEVENT
ORGANIZER;CN=Chris Wong:mailto:chris.wong@fabrikam.com
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Morgan Lee:mailto:morgan
 .lee@contoso.com
DESCRIPTION;LANGUAGE=en-US:Vendor sync on the renewal.\n
UID:040000008200E00074C5B7101A82E00800000000B0C1D2E3F4A5D9010000000000000000
SUMMARY;LANGUAGE=en-US:Fabrikam renewal call
DTSTART;TZID=Pacific Standard Time:20261119T090000
DURATION:PT45M
DTSTAMP:20261110T120000Z
STATUS:CONFIRMED
SEQUENCE:0
LOCATION;LANGUAGE=en-US:https://fabrikam.zoom.us/j/98765432100?pwd=b3BlbnNlc2FtZQ)
END:VEVENT
BEGIN:VEVENT
ORGANIZER;CN=Morgan Lee:mailto:morgan.lee@contoso.com
DESCRIPTION;LANGUAGE=en-US:The budget review moves to next quarter.\n
UID:040000008200E00074C5B7101A82E00800000000C0D1E2F3A4B5D9010000000000000000
SUMMARY;LANGUAGE=en-US:Canceled: Budget review
DTSTART;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna":
 20261120T090000
DTEND;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna":2
 0261120T100000
DTSTAMP:20261110T120000Z
STATUS:cancelled
SEQUENCE:3
END:VEVENT
END:VCALENDAR
"""#.replacingOccurrences(of: "\n", with: "\r\n")

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
    let events = try ICalendar.events(from: text, defaultTimeZone: defaultTimeZone)
    return try #require(events.first)
}

private func parseError(_ text: String) -> ICalendarError? {
    do {
        _ = try ICalendar.events(from: text)
        return nil
    } catch let error as ICalendarError {
        return error
    } catch {
        return nil
    }
}

// MARK: - Google Calendar export

@Suite("iCalendar: Google Calendar export")
struct ICalendarGoogleExportTests {
    let events: [CalendarEvent]

    init() throws {
        events = try ICalendar.events(from: googleExport, defaultTimeZone: berlin)
    }

    @Test func findsEveryEventInFileOrderAndIgnoresTimezoneAndAlarmBlocks() {
        #expect(events.count == 4)
        #expect(events.map(\.title) == [
            "Alex / Jane 1:1", "Alex / Jane 1:1", "Leadership offsite", "Q4 planning, budget & hiring",
        ])
    }

    @Test func recurringOneOnOneIsReadInItsTimeZone() throws {
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

    @Test func attendeesKeepQuotedNamesWithCommas() {
        let event = events[0]
        #expect(event.organizer == Attendee(email: "alex.kim@example.com", name: "Alex Kim", participation: nil, role: nil))
        #expect(event.attendees == [
            Attendee(email: "alex.kim@example.com", name: "Alex Kim", participation: "ACCEPTED", role: "REQ-PARTICIPANT"),
            Attendee(email: "jane.doe@example.com", name: "Doe, Jane", participation: "NEEDS-ACTION", role: "REQ-PARTICIPANT"),
        ])
    }

    @Test func descriptionIsUnfoldedAndUnescapedAndAlarmTextIsNotMixedIn() {
        let description = events[0].description
        #expect(description.hasPrefix("Weekly 1:1 – agenda in the doc, bring notes; no slides.\n\n-::~:~::"))
        #expect(description.contains("\nJoin with Google Meet: https://meet.google.com/abc-defg-hij\n"))
        #expect(description.contains("https://support.google.com/a/users/answer/9282720"))
        #expect(!description.contains("event reminder"))
    }

    @Test func meetLinkIsFoundAndSupportLinksAreNot() {
        #expect(events[0].conferenceURL == "https://meet.google.com/abc-defg-hij")
    }

    @Test func movedInstanceCarriesRecurrenceIDAndSequence() throws {
        let override = events[1]
        #expect(override.uid == events[0].uid)
        #expect(override.recurrenceID == (try instant("2026-12-01T09:00:00Z")))
        #expect(override.start == (try instant("2026-12-01T10:00:00Z")))
        #expect(override.sequence == 1)
        #expect(override.recurrenceRule == nil)
    }

    @Test func allDayEventStartsAtMidnightInTheDefaultZoneAndLastsOneDay() throws {
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

    @Test func cancelledEventWithZoomLinkFoldedAcrossLines() throws {
        let planning = events[3]
        #expect(planning.status == .cancelled)
        #expect(planning.start == (try instant("2026-11-25T15:00:00Z")))
        #expect(planning.location == "Room 4.01; Building B, Berlin")
        #expect(planning.conferenceURL == "https://acme.zoom.us/j/81234567890?pwd=Zk9tR2xNVE1vM2JxT0E5dz09")
        #expect(planning.attendees.map(\.participation) == ["ACCEPTED", "DECLINED"])
        #expect(planning.sequence == 2)
    }

    @Test func lineFeedOnlyFilesParseTheSameAsCRLF() throws {
        let lfOnly = googleExport.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(try ICalendar.events(from: lfOnly, defaultTimeZone: berlin) == events)
    }
}

// MARK: - Outlook / Exchange export

@Suite("iCalendar: Outlook/Exchange invitation")
struct ICalendarOutlookExportTests {
    let events: [CalendarEvent]

    init() throws {
        events = try ICalendar.events(from: outlookExport, defaultTimeZone: newYork)
    }

    private let teamsLink = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ2ZTRmYjAtYjA2Ni00ZGI0LWE1NzMtZTg4ZmVmYjQ5ZDk0%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d%22%7d"

    @Test func windowsZoneNameIsMappedToIANA() throws {
        let qbr = events[0]
        #expect(qbr.title == "EMEA QBR")
        // W. Europe Standard Time = Europe/Berlin: 14:00 CET is 13:00 UTC.
        #expect(qbr.start == (try instant("2026-11-18T13:00:00Z")))
        #expect(qbr.end == (try instant("2026-11-18T14:30:00Z")))
        #expect(qbr.sequence == 2)
        #expect(qbr.uid == "040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5D901000000000000000010000000F1E2D3C4B5A697887766554433221100")
    }

    @Test func attendeesWithUpperCaseMailtoAndFoldedQuotedNames() {
        let qbr = events[0]
        #expect(qbr.organizer?.email == "morgan.lee@contoso.com")
        #expect(qbr.attendees == [
            Attendee(email: "sam.patel@contoso.com", name: "Sam Patel", participation: "NEEDS-ACTION", role: "REQ-PARTICIPANT"),
            Attendee(email: "Ana.Rivera@contoso.com", name: "Rivera, Ana (Finance; EMEA)", participation: "TENTATIVE", role: "OPT-PARTICIPANT"),
        ])
    }

    @Test func teamsLinkInsideAngleBracketsIsExtractedWhole() {
        let qbr = events[0]
        #expect(qbr.conferenceURL == teamsLink)
        #expect(qbr.description.contains("Join on your computer, mobile app or room device\n"))
        #expect(qbr.description.hasPrefix("Quarterly review of the EMEA accounts.\n\nAgenda:\n1. Pipeline\n"))
        #expect(qbr.location == "Microsoft Teams Meeting")
    }

    @Test func durationGivesTheEndAndPacificZoneIsMapped() throws {
        let call = events[1]
        // 09:00 Pacific Standard Time (UTC−8 in November) is 17:00 UTC.
        #expect(call.start == (try instant("2026-11-19T17:00:00Z")))
        #expect(call.end == (try instant("2026-11-19T17:45:00Z")))
        #expect(call.conferenceURL == "https://fabrikam.zoom.us/j/98765432100?pwd=b3BlbnNlc2FtZQ")
    }

    @Test func unknownZoneNameFallsBackToTheDefaultZoneAndStatusIsCaseInsensitive() throws {
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
    @Test func quotedParameterValuesMayContainColonsSemicolonsAndCommas() throws {
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

    @Test func valueKeepsEverythingAfterTheFirstUnquotedColon() throws {
        let property = try ICalendar.parseContentLine("description;language=en:Time: 10:00; room: 4", line: 1)
        #expect(property.name == "DESCRIPTION")
        #expect(property.parameter("LANGUAGE") == "en")
        #expect(property.value == "Time: 10:00; room: 4")
    }

    @Test func caretEscapesInParametersFollowRFC6868() throws {
        let property = try ICalendar.parseContentLine(#"ATTENDEE;CN=Jane ^'JD^' Doe^^2:mailto:j@x.com"#, line: 1)
        #expect(property.parameter("CN") == #"Jane "JD" Doe^2"#)
    }

    @Test func textUnescaping() {
        #expect(ICalendar.unescapeText(#"a\nb\Nc\,d\;e\\f"#) == "a\nb\nc,d;e\\f")
        #expect(ICalendar.unescapeText(#"C:\Users\x"#) == #"C:\Users\x"#, "unknown escapes are kept as written")
        #expect(ICalendar.unescapeText(#"ends with \"#) == #"ends with \"#)
    }

    @Test func foldingWithSpaceOrTabAndPhysicalLineNumbers() {
        let lines = ICalendar.unfoldedLines("A:one\r\n two\r\n\tthree\nB:x\rC:y")
        #expect(lines == [
            .init(line: 1, text: "A:onetwothree"),
            .init(line: 4, text: "B:x"),
            .init(line: 5, text: "C:y"),
        ])
    }

    @Test func malformedLinesAreReportedWithTheirLineNumber() {
        #expect(throws: ICalendarError.self) { try ICalendar.parseContentLine("no colon here", line: 3) }
        let unterminated = parseError(calendar("BEGIN:VEVENT", #"ATTENDEE;CN="Doe, Jane:mailto:j@x.com"#, "END:VEVENT"))
        #expect(unterminated?.line == 5)
        #expect(unterminated?.message.contains("never closed") == true)
    }
}

// MARK: - Dates, times and durations

@Suite("iCalendar: dates and durations")
struct ICalendarDateAndDurationTests {
    @Test func utcTimes() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z", "DTEND:20261121T153000Z")
        #expect(event.start == (try instant("2026-11-21T15:00:00Z")))
        #expect(event.end == (try instant("2026-11-21T15:30:00Z")))
    }

    @Test func ianaZoneAcrossDaylightSavingTime() throws {
        let summer = try singleEvent("UID:u", "DTSTART;TZID=Europe/Berlin:20260701T100000", defaultTimeZone: newYork)
        #expect(summer.start == (try instant("2026-07-01T08:00:00Z")), "CEST is UTC+2")
    }

    @Test func floatingTimesUseTheDefaultZone() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T090000", defaultTimeZone: newYork)
        #expect(event.start == (try instant("2026-11-21T14:00:00Z")))
        #expect(event.end == event.start, "a timed event without DTEND or DURATION ends when it starts")
    }

    @Test func dateWithoutValueParameterIsStillAllDay() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121", defaultTimeZone: newYork)
        #expect(event.isAllDay)
        #expect(event.start == (try instant("2026-11-21T05:00:00Z")))
        #expect(event.end == (try instant("2026-11-22T05:00:00Z")))
    }

    @Test func allDayDurationCountsCalendarDaysAcrossTheDSTChange() throws {
        // 25 October 2026 is 25 hours long in Berlin (clocks go back).
        let event = try singleEvent("UID:u", "DTSTART;VALUE=DATE:20261025", "DURATION:P1D", defaultTimeZone: berlin)
        #expect(event.start == (try instant("2026-10-24T22:00:00Z")))
        #expect(event.end == (try instant("2026-10-25T23:00:00Z")))
    }

    @Test func windowsAndMozillaStyleZoneIDs() throws {
        let tokyo = try singleEvent("UID:u", "DTSTART;TZID=Tokyo Standard Time:20261121T090000")
        #expect(tokyo.start == (try instant("2026-11-21T00:00:00Z")))
        let lightning = try singleEvent("UID:u", "DTSTART;TZID=/mozilla.org/20050126_1/America/Chicago:20261121T090000")
        #expect(lightning.start == (try instant("2026-11-21T15:00:00Z")))
        let india = try singleEvent("UID:u", "DTSTART;TZID=india standard time:20261121T093000")
        #expect(india.start == (try instant("2026-11-21T04:00:00Z")), "Windows names match case-insensitively")
    }

    @Test(arguments: [
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

    @Test(arguments: ["", "P", "PT", "1H", "PT1D", "P1H", "PT1.5H", "P1DT", "PXD"])
    func invalidDurationsAreRejected(text: String) {
        #expect(throws: ICalendarError.self) { try ICalDuration.parse(text, line: 1) }
    }

    @Test func durationEventAndBadDurationLine() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z", "DURATION:PT1H30M")
        #expect(event.end == (try instant("2026-11-21T16:30:00Z")))

        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "DTSTART:20261121T150000Z", "DURATION:90 minutes", "END:VEVENT"))
        #expect(error?.line == 7)
        #expect(error?.message.contains("DURATION '90 minutes'") == true)
    }

    @Test(arguments: ["20260231T100000Z", "20261321", "2026-11-21T10:00:00Z", "20261121T250000", "tomorrow"])
    func impossibleDatesAreErrorsOnTheirLine(value: String) {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "DTSTART:\(value)", "END:VEVENT"))
        #expect(error?.line == 6)
        #expect(error?.message.contains("DTSTART value '\(value)'") == true)
    }
}

// MARK: - Event fields and errors

@Suite("iCalendar: events and errors")
struct ICalendarEventExtractionTests {
    @Test func statusIsCaseInsensitiveAndDefaultsToConfirmed() throws {
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z").status == .confirmed)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:Tentative").status == .tentative)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:cancelled").status == .cancelled)
        #expect(try singleEvent("UID:u", "DTSTART:20261121T150000Z", "STATUS:WHATEVER").status == .confirmed)
    }

    @Test func methodCancelMarksEventsCancelled() throws {
        let text = calendar("METHOD:CANCEL", "BEGIN:VEVENT", "UID:u", "DTSTART:20261121T150000Z", "SEQUENCE:4", "END:VEVENT")
        let events = try ICalendar.events(from: text)
        #expect(events.map(\.status) == [.cancelled])
    }

    @Test func unknownPropertiesAndComponentsAreIgnored() throws {
        let event = try singleEvent(
            "UID:u", "X-FOO;X-BAR=1:whatever", "DTSTART:20261121T150000Z", "CATEGORIES:a,b",
            "BEGIN:X-CUSTOM", "SUMMARY:not the title", "END:X-CUSTOM", "SUMMARY:Real title")
        #expect(event.title == "Real title")
    }

    @Test func missingSummaryAndDescriptionAreEmpty() throws {
        let event = try singleEvent("UID:u", "DTSTART:20261121T150000Z")
        #expect(event.title == "")
        #expect(event.description == "")
        #expect(event.location == nil)
        #expect(event.conferenceURL == nil)
    }

    @Test func attendeeWithoutMailtoUsesEmailParameter() throws {
        let event = try singleEvent(
            "UID:u", "DTSTART:20261121T150000Z",
            "ATTENDEE;EMAIL=lee@example.com;CN=Lee:urn:uuid:1e2d3c4b-0000-4000-8000-000000000000",
            "ATTENDEE:MailTo:kim@example.com")
        #expect(event.attendees.map(\.email) == ["lee@example.com", "kim@example.com"])
        #expect(event.attendees[1].name == nil)
    }

    @Test func eventWithoutUIDNamesTheLineWhereTheEventBegins() {
        let text = calendar(
            "BEGIN:VEVENT", "UID:ok", "DTSTART:20261121T150000Z", "END:VEVENT",
            "BEGIN:VEVENT", "DTSTART:20261121T150000Z", "SUMMARY:Board prep", "END:VEVENT")
        let error = parseError(text)
        #expect(error?.line == 8)
        #expect(error?.message.contains("no UID") == true)
        #expect(error?.message.contains("Board prep") == true)
        #expect(error?.description.hasPrefix("iCalendar line 8:") == true)
    }

    @Test func eventWithoutDTSTARTNamesTheLineWhereTheEventBegins() {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:abc", "SUMMARY:Sync", "END:VEVENT"))
        #expect(error?.line == 4)
        #expect(error?.message.contains("no DTSTART") == true)
    }

    @Test func truncatedFeedIsAnErrorNotAShortCalendar() {
        let truncated = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:u\nDTSTART:20261121T150000Z\n"
        let error = parseError(truncated)
        #expect(error?.line == 2)
        #expect(error?.message.contains("never closed") == true)
    }

    @Test func mismatchedEndIsReported() {
        let error = parseError(calendar("BEGIN:VEVENT", "UID:u", "BEGIN:VALARM", "END:VEVENT"))
        #expect(error?.line == 7)
        #expect(error?.message.contains("BEGIN:VALARM from line 6") == true)
    }

    @Test func htmlInsteadOfACalendarIsRejectedAtLineOne() {
        let error = parseError("<!DOCTYPE html>\n<html><body>Sign in</body></html>")
        #expect(error?.line == 1)
        #expect(parseError("") != nil)
    }
}

// MARK: - Conference links

@Suite("Conference links")
struct ConferenceLinkTests {
    @Test(arguments: [
        ("Join: https://us02web.zoom.us/j/85551234567?pwd=abc123", "https://us02web.zoom.us/j/85551234567?pwd=abc123"),
        ("https://zoom.us/j/123456789.", "https://zoom.us/j/123456789"),
        ("Personal room (https://acme.zoom.us/my/jane.doe)", "https://acme.zoom.us/my/jane.doe"),
        ("<https://meet.google.com/abc-defg-hij>", "https://meet.google.com/abc-defg-hij"),
        ("https://meet.google.com/abc-defg-hij?authuser=0,", "https://meet.google.com/abc-defg-hij?authuser=0"),
        ("https://teams.live.com/meet/9388888888888?p=abcDEF", "https://teams.live.com/meet/9388888888888?p=abcDEF"),
        ("Join: https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef;", "https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef"),
        ("[Join](https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0)", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"),
    ])
    func recognisesEachProviderAndStripsTrailingPunctuation(text: String, expected: String) {
        #expect(ConferenceLink.find(in: [text]) == expected)
    }

    @Test(arguments: [
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

    @Test func earlierFieldsWinThenLeftmostLinkInAField() {
        let texts = [
            "Agenda: https://docs.example.com/x",
            "Call https://meet.google.com/aaa-bbbb-ccc or https://zoom.us/j/1",
            "https://teams.live.com/meet/123",
        ]
        #expect(ConferenceLink.find(in: texts) == "https://meet.google.com/aaa-bbbb-ccc")
    }

    @Test func searchesURLThenLocationThenDescriptionThenVendorProperties() throws {
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
    @Test func everyEntryResolvesToARealZone() {
        #expect(WindowsTimeZones.ianaByWindowsName.count >= 40)
        for (windows, iana) in WindowsTimeZones.ianaByWindowsName {
            #expect(TimeZone(identifier: iana) != nil, "\(windows) → \(iana) is not a zone Foundation knows")
        }
    }

    @Test(arguments: [
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

    @Test func unknownNamesResolveToNothingSoTheCallerCanFallBack() {
        #expect(WindowsTimeZones.timeZone(forTZID: "Customized Time Zone") == nil)
        #expect(WindowsTimeZones.timeZone(forTZID: "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna") == nil)
        #expect(WindowsTimeZones.timeZone(forTZID: "Europe/Berlin")?.identifier == "Europe/Berlin")
        #expect(WindowsTimeZones.timeZone(forTZID: "CET")?.secondsFromGMT(for: Date(timeIntervalSince1970: 1_790_000_000)) == 7200)
    }
}
