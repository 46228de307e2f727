import Store

/// The newest revision a service has applied for each entity it follows. Events about one
/// entity can arrive out of order (a retry waits in a delay queue while a later change goes
/// through; replicas consume in parallel): a handler applies an event only if it is newer than
/// what it already applied, and remembers it, in the same transaction as its effects.
/// Remembering a cancellation this way is what keeps a late, older upsert from bringing a
/// cancelled meeting back.
public struct Revisions: Sendable {
    public let schema: String

    public init(schema: String) throws {
        self.schema = try validatedIdentifier(schema)
    }

    /// Records `revision` for the entity and returns true if it is newer than any recorded
    /// before; returns false (and records nothing) for stale news. The row lock it takes
    /// serialises concurrent handlers of the same entity.
    public func acceptNewer(_ entity: String, id: String, revision: Int, on connection: PostgresConnection) throws -> Bool {
        try connection.queryOne(
            """
            INSERT INTO \(schema).revisions (entity, entity_id, revision) VALUES ($1, $2, $3)
            ON CONFLICT (entity, entity_id) DO UPDATE SET revision = EXCLUDED.revision, updated_at = now()
            WHERE \(schema).revisions.revision < EXCLUDED.revision
            RETURNING revision
            """, [entity, id, revision]) != nil
    }

    /// `acceptNewer` for many entities at once (each id once); returns the ids whose revision was
    /// newer.
    public func acceptNewer(_ entity: String, revisions: [(id: String, revision: Int)], on connection: PostgresConnection)
        throws -> Set<String>
    {
        Set(
            try connection.query(
                """
                INSERT INTO \(schema).revisions (entity, entity_id, revision)
                SELECT $1, u.id, u.revision FROM unnest($2::text[], $3::bigint[]) AS u(id, revision)
                ON CONFLICT (entity, entity_id) DO UPDATE SET revision = EXCLUDED.revision, updated_at = now()
                WHERE \(schema).revisions.revision < EXCLUDED.revision
                RETURNING entity_id
                """, [entity, PostgresArray(revisions.map(\.id)), PostgresArray(revisions.map(\.revision))]
            ).map { try $0.string("entity_id") })
    }
}
