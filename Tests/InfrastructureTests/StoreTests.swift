import Foundation
import Store
import TestSupport
import Testing

/// A schema name no other test uses and a pool for `body`; the schema is dropped afterwards.
private func withSchema<T>(
    _ name: String, poolSize: Int = 1, _ body: (PostgresPool, String) async throws -> T
) async throws -> T {
    let pool = PostgresPool(url: try TestStack.databaseURL(), size: poolSize)
    let schema = TestStack.uniqueName(name)
    return try await using(
        (pool, schema),
        tearDown: { pool, schema in
            _ = try await pool.withConnection { try $0.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        }
    ) { try await body($0.0, $0.1) }
}

@Suite("Store over libpq")
struct StoreTests {
    @Test("values travel as parameters: hostile text is stored literally and every type round-trips")
    func parametersRoundTrip() async throws {
        try await withSchema("store", poolSize: 2) { pool, schema in
            let hostile = "Robert'); DROP TABLE \(schema).things; --"
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let row = try await pool.transaction { db in
                try db.execute("CREATE SCHEMA \(schema)")
                try db.execute(
                    "CREATE TABLE \(schema).things (id uuid, name text, at timestamptz, n bigint, flag boolean, note text)")
                try db.execute(
                    "INSERT INTO \(schema).things VALUES ($1, $2, $3, $4, $5, $6)",
                    [id, hostile, when, 9_007_199_254_740_993 as Int, true, nil as String?])
                return try db.queryOne("SELECT * FROM \(schema).things WHERE name = $1", [hostile])
            }
            let found = try #require(row)
            #expect(try found.uuid("id") == id)
            #expect(try found.string("name") == hostile)
            #expect(abs(try found.date("at").timeIntervalSince(when)) < 0.000_001)
            #expect(try found.int("n") == 9_007_199_254_740_993)
            #expect(try found.bool("flag"))
            #expect(try found.optionalString("note") == nil)
            #expect(throws: PostgresError.self) { try found.string("note") }
        }
    }

    @Test("an error inside a transaction rolls back everything it wrote")
    func transactionRollsBack() async throws {
        try await withSchema("rollback", poolSize: 2) { pool, schema in
            try await pool.withConnection { db in
                try db.execute("CREATE SCHEMA \(schema)")
                try db.execute("CREATE TABLE \(schema).t (n int PRIMARY KEY)")
            }
            await #expect(throws: PostgresError.self) {
                try await pool.transaction { db in
                    try db.execute("INSERT INTO \(schema).t VALUES (1)")
                    try db.execute("INSERT INTO \(schema).t VALUES (1)")  // duplicate key
                }
            }
            let count = try await pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM \(schema).t")!.int("n") }
            #expect(count == 0)
        }
    }

    @Test("replicas migrating at the same moment apply each migration exactly once")
    func migrationsApplyOnce() async throws {
        try await withSchema("migrate") { pool, schema in
            let url = try TestStack.databaseURL()
            let migrations = [
                Migration("0001_create", "CREATE TABLE {schema}.log (entry text); CREATE TABLE {schema}.other (x int);"),
                Migration("0002_seed", "INSERT INTO {schema}.log VALUES ('seeded')"),
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await Migrator.migrate(
                            PostgresPool(url: url, size: 1), schema: schema, migrations: migrations, logger: TestStack.logger)
                    }
                }
                try await group.waitForAll()
            }
            // A later start with one more migration applies only that one.
            try await Migrator.migrate(
                PostgresPool(url: url, size: 1), schema: schema,
                migrations: migrations + [Migration("0003_more", "INSERT INTO {schema}.log VALUES ('more')")],
                logger: TestStack.logger)
            let entries = try await pool.withConnection { db in
                try db.query("SELECT entry FROM \(schema).log ORDER BY entry").map { try $0.string("entry") }
            }
            #expect(entries == ["more", "seeded"])
        }
    }

    @Test("a failed migration names itself and leaves nothing half-applied")
    func failedMigrationIsAtomic() async throws {
        try await withSchema("badmigration", poolSize: 1) { pool, schema in
            let bad = Migration("0001_broken", "CREATE TABLE {schema}.a (x int); CREATE TABLE {schema}.a (x int);")
            do {
                try await Migrator.migrate(pool, schema: schema, migrations: [bad], logger: TestStack.logger)
                Issue.record("the broken migration was accepted")
            } catch let error as MigrationError {
                #expect(error.migration == "0001_broken")
            }
            let tables = try await pool.withConnection { db in
                try db.queryOne(
                    "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'a'", [schema])!
                    .int("n")
            }
            #expect(tables == 0)
        }
    }

    @Test("batched writes: arrays carry hostile text, NULLs and every type, and each statement runs once for all its rows")
    func batchedWrites() async throws {
        try await withSchema("batched") { pool, schema in
            let rows: [(UUID, String?, Date, Int, Bool)] = [
                (UUID(), #"quote " backslash \ comma , braces {} NULL 'x'"#, Date(timeIntervalSince1970: -86_400.25), 1, true),
                (UUID(), nil, Date(timeIntervalSince1970: 1_795_000_000.000_001), -2, false),
                (UUID(), "", Date(timeIntervalSince1970: 0), 3, true),
                (UUID(), "émoji 🗓 and a\nnewline", Date(timeIntervalSince1970: 4_102_444_800.5), 4, false),
                (UUID(), #""leading quote, doubled "" and \\ and trailing \"#, Date(timeIntervalSince1970: 1), 5, true),
            ]
            let statements = try await pool.transaction { db in
                try db.execute("CREATE SCHEMA \(schema)")
                try db.execute("CREATE TABLE \(schema).things (id uuid, name text, at timestamptz, n bigint, flag boolean)")
                try db.execute("CREATE TABLE \(schema).statements (n serial)")
                try db.execute(
                    """
                    CREATE FUNCTION \(schema).count_statement() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN INSERT INTO \(schema).statements DEFAULT VALUES; RETURN NULL; END $$
                    """)
                try db.execute(
                    """
                    CREATE TRIGGER counted AFTER INSERT ON \(schema).things
                    FOR EACH STATEMENT EXECUTE FUNCTION \(schema).count_statement()
                    """)
                var writes = BatchedWrites()
                for (id, name, at, n, flag) in rows {
                    writes.add(
                        """
                        INSERT INTO \(schema).things
                        SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bool[])
                        """, [id, name, at, n, flag])
                }
                try writes.execute(on: db)
                return try db.queryOne("SELECT count(*) AS n FROM \(schema).statements")!.int("n")
            }
            #expect(statements == 1)
            let stored = try await pool.withConnection { db in
                try db.query("SELECT * FROM \(schema).things ORDER BY n").map {
                    (try $0.uuid("id"), try $0.optionalString("name"), try $0.date("at"), try $0.int("n"), try $0.bool("flag"))
                }
            }
            #expect(stored.count == rows.count)
            for (row, back) in zip(rows.sorted { $0.3 < $1.3 }, stored) {
                #expect(back.0 == row.0)
                #expect(back.1 == row.1)
                #expect(back.2.isSameStoredInstant(as: row.2), "\(back.2) was written as \(row.2)")
                #expect(back.3 == row.3)
                #expect(back.4 == row.4)
            }
        }
    }

    @Test("with every connection busy, urgent work is served before work that queued earlier")
    func urgentWaitersFirst() async throws {
        let pool = PostgresPool(url: try TestStack.databaseURL(), size: 1)
        let order = Calls()
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withSession { _ in
                for await _ in release.stream { break }
            }
        }
        try await eventually("the only connection taken") { pool.waiting == 0 && pool.isExhausted }
        let normal = Task { try await pool.withConnection { _ in order.record("normal") } }
        try await eventually("normal work waiting") { pool.waiting == 1 }
        let urgent = Task { try await pool.withConnection(priority: .urgent) { _ in order.record("urgent") } }
        try await eventually("urgent work waiting") { pool.waiting == 2 }
        release.continuation.yield()
        try await holder.value
        try await normal.value
        try await urgent.value
        #expect(order.all == ["urgent", "normal"])
    }

    @Test("a statement is prepared once per connection; one whose table changed under it is prepared again and answers")
    func preparedStatements() async throws {
        try await withSchema("prepared") { pool, schema in
            let select = "SELECT * FROM \(schema).t ORDER BY a"
            let rows = try await pool.withConnection { db in
                try db.execute("CREATE SCHEMA \(schema)")
                try db.execute("CREATE TABLE \(schema).t (a int)")
                try db.execute("INSERT INTO \(schema).t VALUES ($1)", [1])
                _ = try db.query(select)
                let rows = try db.query(select)
                let copies = try db.queryOne(
                    "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = $1", [select])!.int("n")
                #expect(copies == 1, "the second run reuses the first's statement")
                // A migration while the service runs: the prepared `SELECT *` has a new shape.
                try db.execute("ALTER TABLE \(schema).t ADD COLUMN b int DEFAULT 7")
                let widened = try #require(try db.queryOne(select))
                #expect(try widened.int("b") == 7, "outside a transaction the statement answers at once")
                return rows
            }
            #expect(try rows.map { try $0.int("a") } == [1])

            try await pool.withConnection { try $0.execute("ALTER TABLE \(schema).t ADD COLUMN c int DEFAULT 8") }
            // Inside a transaction the failure has aborted it; the transaction run again succeeds.
            await #expect(throws: PostgresError.self) { try await pool.transaction { try $0.queryOne(select) } }
            let row = try #require(try await pool.transaction { try $0.queryOne(select) })
            #expect(try row.int("c") == 8)
        }
    }

    @Test("past the bound on prepared statements, new statements still run, unprepared")
    func preparedBound() async throws {
        try await withSchema("bound") { pool, _ in
            let extra = 40
            let sums = try await pool.withConnection { db in
                try (0..<(PostgresConnection.mostPrepared + extra)).map { k in
                    try db.queryOne("SELECT $1::int + \(k) AS n", [1])!.int("n")
                }
            }
            #expect(sums == Array(1...(PostgresConnection.mostPrepared + extra)))
            let prepared = try await pool.withConnection {
                try $0.queryOne("SELECT count(*) AS n FROM pg_prepared_statements")!.int("n")
            }
            #expect(prepared == PostgresConnection.mostPrepared)
        }
    }

    @Test("a connection whose server went away while it sat idle is replaced before it is lent")
    func idleConnectionChecked() async throws {
        let admin = PostgresPool(url: try TestStack.databaseURL(), size: 1)
        for idleCheck in [Duration.zero, .seconds(3600)] {
            let pool = PostgresPool(url: try TestStack.databaseURL(), size: 1, idleCheck: idleCheck)
            let first = try await backendID(pool)
            try await terminate([first], using: admin)
            if idleCheck == .zero {
                let second = try await backendID(pool)
                #expect(second != first)
            } else {
                // Unchecked, the dead connection fails whoever gets it next.
                await #expect(throws: PostgresError.self) { try await backendID(pool) }
            }
        }
    }

    @Test("once one connection finds its server gone, the pool checks the others before lending them")
    func lossChecksEveryConnection() async throws {
        let admin = PostgresPool(url: try TestStack.databaseURL(), size: 1)
        let pool = PostgresPool(url: try TestStack.databaseURL(), size: 2, idleCheck: .seconds(3600))
        let before = try await bothBackendIDs(pool)
        try await terminate(before, using: admin)
        // The first to use a connection after the restart learns of it the hard way …
        await #expect(throws: PostgresError.self) { try await backendID(pool) }
        // … and from then on neither connection fails its caller.
        let after = try await bothBackendIDs(pool)
        #expect(Set(after).isDisjoint(with: before))
    }

    private func backendID(_ pool: PostgresPool) async throws -> Int {
        try await pool.withConnection { try $0.queryOne("SELECT pg_backend_pid() AS pid")!.int("pid") }
    }

    /// Both connections of a two-connection pool, held at once so that each is asked.
    private func bothBackendIDs(_ pool: PostgresPool) async throws -> [Int] {
        try await pool.withSession { first in
            try await pool.withSession { second in
                let query = { @Sendable (db: PostgresConnection) in try db.queryOne("SELECT pg_backend_pid() AS pid")!.int("pid")
                }
                return [try await first.run(query), try await second.run(query)]
            }
        }
    }

    /// What a server restart does to a connection: the server ends its session.
    private func terminate(_ backends: [Int], using admin: PostgresPool) async throws {
        try await admin.withConnection { db in
            for backend in backends { try db.execute("SELECT pg_terminate_backend($1, 5000)", [backend]) }
        }
    }
}
