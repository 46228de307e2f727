import Logging

/// One schema change. Migrations are applied in the order given and recorded by name, so a
/// name must never be reused or edited once shipped: add a new one instead.
public struct Migration: Sendable {
    public var name: String
    public var sql: String

    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}

public enum Migrator {
    /// Creates `schema` if needed and applies the migrations it has not seen yet, each in its own
    /// transaction. A session advisory lock serialises replicas that start at the same moment:
    /// the second waits, then finds nothing left to do. `{schema}` in migration SQL is replaced
    /// with the (validated) schema name.
    public static func migrate(
        _ pool: PostgresPool, schema: String, migrations: [Migration], logger: Logger
    ) async throws {
        let schema = try validatedIdentifier(schema)
        let applied = try await pool.withConnection { connection in
            try connection.execute("SELECT pg_advisory_lock(hashtext($1))", ["attache.migrations." + schema])
            defer { _ = try? connection.execute("SELECT pg_advisory_unlock(hashtext($1))", ["attache.migrations." + schema]) }
            try connection.execute("CREATE SCHEMA IF NOT EXISTS \(schema)")
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                    name text PRIMARY KEY,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """)
            let done = Set(try connection.query("SELECT name FROM \(schema).schema_migrations").map { try $0.string("name") })
            var applied: [String] = []
            for migration in migrations where !done.contains(migration.name) {
                try connection.execute("BEGIN")
                do {
                    try connection.executeScript(migration.sql.replacingOccurrences(of: "{schema}", with: schema))
                    try connection.execute("INSERT INTO \(schema).schema_migrations (name) VALUES ($1)", [migration.name])
                    try connection.execute("COMMIT")
                } catch {
                    _ = try? connection.execute("ROLLBACK")
                    throw MigrationError(schema: schema, migration: migration.name, underlying: error)
                }
                applied.append(migration.name)
            }
            return applied
        }
        for name in applied { logger.info("applied migration", metadata: ["schema": "\(schema)", "migration": "\(name)"]) }
    }
}

public struct MigrationError: Error, CustomStringConvertible {
    public var schema: String
    public var migration: String
    public var underlying: any Error
    public var description: String { "migration \(migration) of schema \(schema) failed: \(underlying)" }
}
