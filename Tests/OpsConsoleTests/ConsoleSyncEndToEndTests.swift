import Foundation
import Store
import TestSupport
import Testing

/// Sync now through the real calendar-monitor process: the console's request crosses the broker
/// and the service syncs the calendar long before its next scheduled time.
@Suite("Operators' console: sync now with calendar-monitor running")
struct ConsoleSyncEndToEndTests {
    static func calendar(_ events: [(uid: String, title: String, start: Date)]) -> String {
        let format = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().time(includingFractionalSeconds: false)
            .dateTimeSeparator(.standard).timeSeparator(.omitted).dateSeparator(.omitted)
        let body = events.map { event in
            """
            BEGIN:VEVENT\r
            UID:\(event.uid)\r
            DTSTAMP:\(event.start.formatted(format))\r
            DTSTART:\(event.start.formatted(format))\r
            DTEND:\(event.start.addingTimeInterval(1800).formatted(format))\r
            SUMMARY:\(event.title)\r
            ORGANIZER:mailto:alex@example.com\r
            END:VEVENT\r

            """
        }.joined()
        return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Attache tests//EN\r\n\(body)END:VCALENDAR\r\n"
    }

    @Test("an operator's sync now makes calendar-monitor read the calendar again at once, not at its next poll 15 minutes on")
    func syncNowReachesCalendarMonitor() async throws {
        try await withConsole { console in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.uniqueName("sync-now"))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let file = folder.appendingPathComponent("team.ics")
            try Self.calendar([]).write(to: file, atomically: true, encoding: .utf8)

            let process = try ServiceBinaries.start(
                "calendar-monitor",
                environment: [
                    "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"),
                    "ATTACHE_DATABASE_URL": console.databaseURL, "ATTACHE_BUS_PREFIX": console.prefix,
                    "ATTACHE_CALENDAR_ICS": file.path,
                    "ATTACHE_CALENDAR_POLL_SECONDS": "900", "ATTACHE_HTTP_PORT": String(try freePort()),
                ])
            do {
                try await exercise(console, file: file)
            } catch {
                Issue.record("\(error)\n\(process.output.suffix(3000))")
            }
            process.signal(SIGTERM)
            let status = await process.exitStatus(within: .seconds(40))
            #expect(status == 0, "\(process.output.suffix(2000))")
            if status == nil { process.signal(SIGKILL) }
        }
    }

    func exercise(_ console: ConsoleHarness, file: URL) async throws {
        // The first sync at start finds the empty calendar; the next poll is 15 minutes away.
        try await eventually("the first sync") {
            (try? await console.pool.withConnection { db in
                try db.queryOne("SELECT 1 FROM calendar.connections WHERE last_success_at IS NOT NULL") != nil
            }) == true
        }
        let id = try await console.pool.withConnection { db in
            try db.queryOne("SELECT id FROM calendar.connections")!.uuid("id")
        }
        try Self.calendar([("sync-now-1@example.com", "Added after the first sync", Date().addingTimeInterval(86_400))])
            .write(to: file, atomically: true, encoding: .utf8)

        let (session, csrf) = try await console.signIn()
        let response = try await console.post(
            "/connections/\(id.uuidString.lowercased())/sync", [("csrf", csrf)], session: session)
        #expect(response.status == 303)
        try await eventually("the meeting added after the first sync") {
            (try? await console.pool.withConnection { db in
                try db.query("SELECT title FROM calendar.meetings").map { try $0.string("title") }
            }) == ["Added after the first sync"]
        }
    }
}
