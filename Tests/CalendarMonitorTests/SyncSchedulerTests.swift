import Delivery
import Foundation
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

/// A source whose sync fails while the database restarts under it.
private struct FailsDuringDatabaseRestart: CalendarProvider {
    func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch {
        try await TestStack.chaos("stop-postgresql")
        Task {
            try await Task.sleep(for: .seconds(2))
            try await TestStack.chaos("start-postgresql")
        }
        throw CalendarSyncError.failed("the connection to the source dropped")
    }
}

@Suite("Sync scheduling", .serialized)
struct SyncSchedulerTests {
    @Test(
        "a sync that fails while the database restarts frees its claim when the database is back: the next try follows the backoff, not the lease"
    )
    func failedSyncReleasesClaim() async throws {
        try await TestStack.withChaosDatabase { server in
            try await TestDatabase.with(on: server, schema: MeetingsSchema.name, migrations: MeetingsSchema.migrations) { pool in
                let outbox = try Outbox(schema: MeetingsSchema.name)
                let store = ConnectionStore(pool: pool, outbox: outbox, vault: nil)
                let id = try await store.ensure(
                    tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "Work",
                    settings: ConnectionSettings(location: "https://calendar.example.com/work.ics"))
                let settings = SyncScheduler.Settings(
                    interval: .seconds(900), concurrency: 1, windowBehind: .seconds(86_400), windowAhead: .seconds(86_400 * 14),
                    lease: .seconds(300), recordRetry: .milliseconds(200))
                let scheduler = SyncScheduler(
                    store: store, meetings: MeetingSync(pool: pool, outbox: outbox),
                    providers: [.ics: FailsDuringDatabaseRestart()],
                    settings: settings, wakeup: WakeSignal(), logger: TestStack.logger)

                let claimed = try #require(try await store.claimDue(limit: 1, lease: settings.lease).first)
                await scheduler.sync(claimed)

                let row = try #require(
                    try await pool.withConnection { db in
                        try db.queryOne(
                            """
                            SELECT consecutive_failures, last_error, extract(epoch FROM next_sync_at - now())::int AS due_in
                            FROM calendar.connections WHERE id = $1
                            """, [id])
                    })
                #expect(try row.int("consecutive_failures") == 1)
                #expect(try row.string("last_error").contains("the connection to the source dropped"))
                // The first backoff step is 30 s (with jitter); the lease would have held it for 300.
                let dueIn = try row.int("due_in")
                #expect(dueIn <= 45, "next try in \(dueIn) s")
            }
        }
    }
}
