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

    @Test("a sync asked for while one runs does not run beside it, and runs once more when the first ends")
    func requestWhileSyncing() async throws {
        try await TestDatabase.with(schema: MeetingsSchema.name, migrations: MeetingsSchema.migrations) { pool in
            let store = ConnectionStore(pool: pool, outbox: try Outbox(schema: MeetingsSchema.name), vault: nil)
            let id = try await store.ensure(
                tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "Work",
                settings: ConnectionSettings(location: "https://calendar.example.com/work.ics"))
            func claim() async throws -> [ClaimedConnection] { try await store.claimDue(limit: 10, lease: .seconds(300)) }
            func succeed(_ claimed: ClaimedConnection) async throws {
                try await store.recordSuccess(
                    try claimed.connection.get(), cursor: nil, credentials: nil, settings: nil, skipped: nil,
                    nextSyncIn: .seconds(900))
            }

            let running = try #require(try await claim().first)
            #expect(running.id == id)
            // Sync now from the console, while the sync runs.
            #expect(try await pool.transaction { try ConnectionStore.requestSync(connectionID: id, tenantID: "acme", on: $0) })
            #expect(try await claim().isEmpty, "the running sync keeps its claim: no second sync beside it")

            try await succeed(running)
            let again = try #require(try await claim().first, "the request was kept for when the sync ended")
            #expect(again.id == id)

            // Without a request, the end of a sync schedules the next one an interval away.
            try await succeed(again)
            #expect(try await claim().isEmpty)
            #expect(
                try await pool.transaction { try ConnectionStore.requestSync(connectionID: id, tenantID: "other", on: $0) }
                    == false, "another tenant's request reaches nothing")
        }
    }
}
