import CalendarMonitor
import Store
import TestSupport

/// Runs `body` against a database of its own that holds calendar-monitor's schema, dropped
/// afterwards even when `body` throws.
func withCalendarDatabase<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
    try await TestDatabase.with { url in
        let pool = PostgresPool(url: url, size: 2)
        try await Migrator.migrate(
            pool, schema: MeetingsSchema.name, migrations: MeetingsSchema.allMigrations, logger: TestStack.logger)
        return try await body(pool)
    }
}
