import Delivery
import Foundation
import HTTPClient
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("A calendar with unreadable events, synced against PostgreSQL")
struct SkippedEventsSyncTests {
    static let now = Date(timeIntervalSince1970: 1_796_810_400)  // 2026-12-09T10:00:00Z

    @Test("its readable meetings land, and what was skipped is shown by connections list and logged")
    func readableMeetingsLandAndSkippedEventsAreReported() async throws {
        try await withCalendarDatabase { pool in
            let outbox = try Outbox(schema: MeetingsSchema.name)
            let store = ConnectionStore(pool: pool, outbox: outbox, vault: nil)
            let file = try #require(
                Bundle.module.url(forResource: "one-unreadable-event", withExtension: "ics", subdirectory: "Fixtures"))
            _ = try await store.ensure(
                tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "Team",
                settings: ConnectionSettings(location: file.path, timeZone: "UTC"))
            let logs = CapturedLogs()
            let scheduler = SyncScheduler(
                store: store, meetings: MeetingSync(pool: pool, outbox: outbox),
                providers: [.ics: ICSProvider(http: HTTPClient(logger: logs.logger))],
                settings: .init(
                    interval: .seconds(900), concurrency: 1, windowBehind: .seconds(86_400),
                    windowAhead: .seconds(14 * 86_400), now: { Self.now }),
                wakeup: WakeSignal(), logger: logs.logger)
            func syncNow() async throws {
                _ = try await pool.withConnection { try $0.execute("UPDATE calendar.connections SET next_sync_at = now()") }
                let claimed = try await store.claimDue(limit: 1, lease: .seconds(60))
                try #require(claimed.count == 1)
                await scheduler.sync(claimed[0])
            }
            func meetings() async throws -> [String] {
                try await pool.withConnection { db in
                    try db.query("SELECT title FROM calendar.meetings WHERE NOT cancelled ORDER BY start_at").map {
                        try $0.string("title")
                    }
                }
            }
            func published() async throws -> Int {
                try await pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM calendar.outbox")!.int("n") }
            }

            try await syncNow()
            #expect(
                try await meetings() == ["Sprint planning", "Coffee with Priya", "Design review", "Customer call", "Retro"])

            let listing = try await ConnectionsCommand.listing(pool)
            #expect(!listing.contains { $0.contains("failure(s) in a row") }, "the sync succeeded: \(listing)")
            let skipped = Array(listing.drop { !$0.contains("skipped") })
            #expect(
                skipped == [
                    "    3 event(s) skipped at the last read, because they cannot be read:",
                    "      line 38: DTSTART value '2026-12-16 10:00' is not a DATE-TIME like 20261121T150000Z or "
                        + "20261121T150000; VEVENT 'Budget sync' that begins on line 37 was skipped",
                    "      line 44: VEVENT 'Offsite (date to be decided)' (UID 1a2s3d4f5g6h7j8k9l0z@google.com) that begins "
                        + "here has no DTSTART, so it cannot be scheduled; it was skipped",
                    "      line 55: parameter CN of ATTENDEE opens a quote that is never closed; VEVENT 'Board prep' that "
                        + "begins on line 49 was skipped",
                ], "\(listing)")
            #expect(logs.all.contains("calendar events skipped"), "\(logs.all)")
            #expect(logs.all.contains("line 55: parameter CN of ATTENDEE opens a quote that is never closed"))

            // The next read of the same file matches every meeting again, the one without a UID too.
            let before = try await published()
            try await syncNow()
            #expect(try await published() == before, "an unchanged calendar publishes nothing")
            #expect(try await meetings().count == 5)
        }
    }

    @Test("a meeting whose event turns unreadable is kept until it reads again; one deleted from the file is cancelled")
    func unreadableEventKeepsItsMeeting() async throws {
        try await withCalendarDatabase { pool in
            let outbox = try Outbox(schema: MeetingsSchema.name)
            let store = ConnectionStore(pool: pool, outbox: outbox, vault: nil)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("attache-\(UUID()).ics")
            defer { try? FileManager.default.removeItem(at: file) }
            _ = try await store.ensure(
                tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "Team",
                settings: ConnectionSettings(location: file.path, timeZone: "UTC"))
            let scheduler = SyncScheduler(
                store: store, meetings: MeetingSync(pool: pool, outbox: outbox),
                providers: [.ics: ICSProvider(http: HTTPClient(logger: TestStack.logger))],
                settings: .init(
                    interval: .seconds(900), concurrency: 1, windowBehind: .seconds(86_400),
                    windowAhead: .seconds(14 * 86_400), now: { Self.now }),
                wakeup: WakeSignal(), logger: TestStack.logger)
            func sync(_ events: [(uid: String, title: String, start: String)]) async throws -> [String] {
                let body = events.map {
                    "BEGIN:VEVENT\r\nUID:\($0.uid)\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:\($0.start)\r\n"
                        + "DURATION:PT30M\r\nSUMMARY:\($0.title)\r\nEND:VEVENT\r\n"
                }
                try ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + body.joined() + "END:VCALENDAR\r\n")
                    .write(to: file, atomically: true, encoding: .utf8)
                _ = try await pool.withConnection { try $0.execute("UPDATE calendar.connections SET next_sync_at = now()") }
                let claimed = try await store.claimDue(limit: 1, lease: .seconds(60))
                try #require(claimed.count == 1)
                await scheduler.sync(claimed[0])
                return try await pool.withConnection { db in
                    try db.query("SELECT title FROM calendar.meetings WHERE NOT cancelled ORDER BY start_at").map {
                        try $0.string("title")
                    }
                }
            }
            let review = (uid: "review@example.com", title: "Design review", start: "20261210T100000Z")
            let retro = (uid: "retro@example.com", title: "Retro", start: "20261211T100000Z")
            #expect(try await sync([review, retro]) == ["Design review", "Retro"])
            // An export garbles the review's start: it cannot be read, but it was not deleted.
            #expect(try await sync([(review.uid, review.title, "2026-12-10 10:00"), retro]) == ["Design review", "Retro"])
            // Deleted from the file: cancelled.
            #expect(try await sync([retro]) == ["Retro"])
        }
    }
}
