import CalendarMonitor
import Store
import TestSupport

/// Runs `body` against a database of its own that holds calendar-monitor's schema, dropped
/// afterwards even when `body` throws.
func withCalendarDatabase<T>(_ body: (PostgresPool) async throws -> T) async throws -> T {
    try await TestDatabase.with(schema: MeetingsSchema.name, migrations: MeetingsSchema.migrations, body)
}
