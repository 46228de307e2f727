import Delivery
import Foundation
import HTTPClient
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("Google provider through MeetingSync")
struct GoogleMeetingSyncTests {
    @Test("full then incremental then 410")
    func flow() async throws {
        try await withCalendarDatabase { pool in
            let sync = MeetingSync(pool: pool, outbox: try Outbox(schema: MeetingsSchema.name))
            var fixture = try await GoogleCalendarProviderTests.Fixture.make()
            defer { fixture.stop() }
            GoogleCalendarProviderTests.seed(fixture.fake)
            func run() async throws -> MeetingSync.Report {
                let batch = try await fixture.sync()
                return try await sync.apply(batch, from: fixture.connection, window: fixture.window)
            }
            #expect(try await run() == .init(created: 6))
            fixture.fake.change("standup_2") { $0.summary = "Moved" }
            fixture.fake.delete("standup_3")
            fixture.fake.delete("lunch")
            fixture.fake.change("review") { $0.status = "cancelled" }
            fixture.fake.put(GoogleCalendarProviderTests.event("far", "Far", start: GoogleCalendarProviderTests.at(days: 60)))
            #expect(try await run() == .init(created: 0, updated: 1, cancelled: 3, unchanged: 1))
            fixture.fake.invalidateSyncTokens()
            fixture.fake.delete("offsite")
            let third = try await run()
            #expect(third == .init(cancelled: 1, unchanged: 5), "\(third)")
            let live = try await pool.withConnection { db in
                try db.query("SELECT external_id FROM calendar.meetings WHERE NOT cancelled ORDER BY external_id").map {
                    try $0.string("external_id")
                }
            }
            #expect(live == ["standup_1", "standup_2"])
        }
    }
}
