import Delivery
import Foundation
import ICalendar
import Shared
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("Calendar sync against PostgreSQL")
struct MeetingSyncTests {
    static let now = Date(timeIntervalSince1970: 1_796_810_400)  // 2026-12-09T10:00:00Z

    static func calendar(_ events: String...) -> String {
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + events.joined() + "END:VCALENDAR\r\n"
    }

    static func event(
        uid: String, title: String, start: String, end: String, status: String = "CONFIRMED",
        attendees: [String] = ["sam@example.com"]
    ) -> String {
        var text =
            "BEGIN:VEVENT\r\nUID:\(uid)\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:\(start)\r\nDTEND:\(end)\r\nSUMMARY:\(title)\r\nSTATUS:\(status)\r\n"
        text += "ORGANIZER;CN=Alex Rivera:mailto:alex@example.com\r\n"
        for attendee in attendees { text += "ATTENDEE:mailto:\(attendee)\r\n" }
        return text + "END:VEVENT\r\n"
    }

    struct Fixture {
        let pool: PostgresPool
        let sync: MeetingSync
        let connection = CalendarConnection(
            id: UUID(), tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "team",
            settings: ConnectionSettings(location: "/calendars/team.ics"), credentials: nil, cursor: nil)
        static let window = DateInterval(
            start: MeetingSyncTests.now.addingTimeInterval(-86_400), end: MeetingSyncTests.now.addingTimeInterval(14 * 86_400))

        /// Runs `body` against a database of its own with calendar-monitor's schema.
        static func with(_ body: (Fixture) async throws -> Void) async throws {
            try await withCalendarDatabase { pool in
                try await body(
                    Fixture(pool: pool, sync: MeetingSync(pool: pool, outbox: try Outbox(schema: MeetingsSchema.name))))
            }
        }

        /// A full read of the calendar, as the iCalendar provider does.
        func apply(_ text: String) async throws -> MeetingSync.Report {
            try await sync.apply(.complete(ICalendar.events(from: text)), from: connection, window: Self.window)
        }

        func apply(_ batch: SyncBatch) async throws -> MeetingSync.Report {
            try await sync.apply(batch, from: connection, window: Self.window)
        }

        /// The events waiting in the outbox, oldest first, as (type, payload JSON).
        func published() async throws -> [(type: String, body: String)] {
            try await pool.withConnection { db in
                try db.query("SELECT message_type, body FROM calendar.outbox ORDER BY position").map {
                    (try $0.string("message_type"), try $0.string("body"))
                }
            }
        }

        /// Row versions: an UPDATE, even one that changes nothing, gives the row a new xmin.
        func rowVersions() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query("SELECT xmin::text AS version FROM calendar.meetings ORDER BY external_id").map {
                    try $0.string("version")
                }
            }
        }
    }

    @Test("new, unchanged, changed, cancelled, removed and reinstated meetings each publish exactly their change")
    func publishesExactlyTheChanges() async throws {
        try await Fixture.with { fixture in
            let staff = Self.event(
                uid: "staff", title: "Weekly staff meeting", start: "20261210T100000Z", end: "20261210T110000Z")
            let oneOnOne = Self.event(uid: "1on1", title: "Alex / Sam 1:1", start: "20261211T090000Z", end: "20261211T093000Z")
            let past = Self.event(uid: "old", title: "Last month", start: "20261101T100000Z", end: "20261101T110000Z")
            let far = Self.event(uid: "far", title: "Next quarter", start: "20270301T100000Z", end: "20270301T110000Z")

            #expect(try await fixture.apply(Self.calendar(staff, oneOnOne, past, far)) == .init(created: 2, unchanged: 2))
            #expect(
                try await fixture.published().map(\.type) == ["meeting.upserted.v1", "meeting.upserted.v1"],
                "only meetings inside the window")

            let versions = try await fixture.rowVersions()
            #expect(try await fixture.apply(Self.calendar(staff, oneOnOne, past, far)) == .init(unchanged: 4))
            #expect(try await fixture.published().count == 2, "an unchanged calendar publishes nothing")
            #expect(try await fixture.rowVersions() == versions, "an unchanged calendar writes nothing")

            let moved = Self.event(
                uid: "staff", title: "Weekly staff meeting (moved)", start: "20261210T140000Z", end: "20261210T150000Z",
                attendees: ["sam@example.com", "priya@example.com"])
            #expect(try await fixture.apply(Self.calendar(moved, oneOnOne)) == .init(updated: 1, unchanged: 1))
            let change = try #require(try await fixture.published().last)
            let upserted = try MessageCoding.decode(Envelope<MeetingUpserted>.self, from: Array(change.body.utf8))
            #expect(upserted.payload.changedFields == ["title", "start", "end", "attendees"])
            #expect(upserted.payload.isNew == false)
            #expect(upserted.payload.meeting.start == Date(timeIntervalSince1970: 1_796_911_200))

            let cancelled = Self.event(
                uid: "1on1", title: "Alex / Sam 1:1", start: "20261211T090000Z", end: "20261211T093000Z", status: "CANCELLED")
            #expect(try await fixture.apply(Self.calendar(moved, cancelled)) == .init(cancelled: 1, unchanged: 1))
            #expect(
                try await fixture.apply(Self.calendar(moved, cancelled)) == .init(unchanged: 2),
                "a cancellation is published once")
            #expect(
                try await fixture.apply(Self.calendar(cancelled)) == .init(cancelled: 1, unchanged: 1),
                "a meeting deleted from the calendar is cancelled")

            let types = try await fixture.published().map(\.type)
            #expect(types.suffix(2) == ["meeting.cancelled.v1", "meeting.cancelled.v1"])
            let reasons = try await fixture.published().suffix(2).map {
                try MessageCoding.decode(Envelope<MeetingCancelled>.self, from: Array($0.body.utf8)).payload.reason
            }
            #expect(reasons == ["cancelled in the calendar", "removed from the calendar"])

            #expect(try await fixture.apply(Self.calendar(moved, cancelled)) == .init(updated: 1, unchanged: 1), "reinstated")
            let reinstated = try MessageCoding.decode(
                Envelope<MeetingUpserted>.self, from: Array(try #require(try await fixture.published().last).body.utf8))
            #expect(reinstated.payload.changedFields == ["status"])
        }
    }
}

extension MeetingSyncTests {
    @Test(
        "an incremental batch touches only what changed: a series shortened, an item deleted, a meeting moved out of the window")
    func incrementalBatches() async throws {
        try await Fixture.with { fixture in
            func occurrence(_ uid: String, day: Int, hour: Int = 10, recurring: Bool = true) -> CalendarEvent {
                // 2026-12-10 10:00Z, plus the day and the hour.
                let start = Date(timeIntervalSince1970: 1_796_896_800 + Double(day * 86_400 + (hour - 10) * 3600))
                return CalendarEvent(
                    uid: uid, recurrenceID: recurring ? start : nil, sequence: 0, title: "\(uid) meeting", description: "",
                    location: nil, start: start, end: start.addingTimeInterval(1800), isAllDay: false, status: .confirmed,
                    organizer: nil, attendees: [], conferenceURL: nil, recurrenceRule: recurring ? "FREQ=DAILY" : nil)
            }
            let daily = SyncedItem(itemID: "standup", occurrences: (0..<3).map { occurrence("standup", day: $0) })
            let single = SyncedItem(itemID: "review", occurrences: [occurrence("review", day: 1, recurring: false)])
            #expect(
                try await fixture.apply(SyncBatch(items: [daily, single], isComplete: true, cursor: "token-1"))
                    == .init(created: 4))

            // The series now ends a day earlier; nothing else is said about the review.
            let shortened = SyncedItem(itemID: "standup", occurrences: (0..<2).map { occurrence("standup", day: $0) })
            #expect(
                try await fixture.apply(SyncBatch(items: [shortened], isComplete: false, cursor: "token-2"))
                    == .init(cancelled: 1, unchanged: 2))

            // The review moves beyond the window: an update, not a cancellation.
            let moved = SyncedItem(itemID: "review", occurrences: [occurrence("review", day: 40, recurring: false)])
            #expect(try await fixture.apply(SyncBatch(items: [moved], isComplete: false, cursor: "token-3")) == .init(updated: 1))

            // The series is deleted.
            #expect(
                try await fixture.apply(SyncBatch(items: [], removedItemIDs: ["standup"], isComplete: false, cursor: "token-4"))
                    == .init(cancelled: 2))
            let reasons = try await fixture.published().filter { $0.type == "meeting.cancelled.v1" }.map {
                try MessageCoding.decode(Envelope<MeetingCancelled>.self, from: Array($0.body.utf8)).payload.reason
            }
            #expect(reasons == ["no longer part of the series", "deleted from the calendar", "deleted from the calendar"])
        }
    }
}
