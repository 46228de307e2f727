import Delivery
import Foundation
import Shared
import Store

/// The connections table: claiming due connections, and recording how each sync went.
package struct ConnectionStore: Sendable {
    let pool: PostgresPool
    let outbox: Outbox
    let vault: CredentialVault?

    package init(pool: PostgresPool, outbox: Outbox, vault: CredentialVault?) {
        self.pool = pool
        self.outbox = outbox
        self.vault = vault
    }

    /// Claims up to `limit` connections whose sync is due and that no replica is syncing. A claim
    /// holds for `lease` (a replica that dies mid-sync gives the connection up then) or until the
    /// outcome is recorded, which sets the next time.
    func claimDue(limit: Int, lease: Duration) async throws -> [ClaimedConnection] {
        let vault = vault
        let rows = try await pool.transaction { db in
            try db.query(
                """
                UPDATE calendar.connections SET claimed_until = now() + make_interval(secs => $2), last_attempt_at = now()
                WHERE id IN (
                    SELECT id FROM calendar.connections
                    WHERE status = 'active' AND next_sync_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
                    ORDER BY next_sync_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                RETURNING *
                """, [limit, lease.secondsValue])
        }
        return try rows.map { row in
            ClaimedConnection(
                id: try row.uuid("id"), kind: try row.string("kind"),
                consecutiveFailures: try row.int("consecutive_failures"),
                connection: Result { try Self.connection(from: row, vault: vault) })
        }
    }

    /// Makes a connection of the tenant due now (an operator's sync now); false when it has no
    /// active connection of that id.
    static func requestSync(connectionID: UUID, tenantID: String, on db: PostgresConnection) throws -> Bool {
        try db.execute(
            "UPDATE calendar.connections SET next_sync_at = now() WHERE id = $1 AND tenant_id = $2 AND status = 'active'",
            [connectionID, tenantID]) > 0
    }

    /// Makes the connection that watches a push channel due now; false when none does.
    static func requestSync(channelID: String, on db: PostgresConnection) throws -> Bool {
        try db.execute(
            "UPDATE calendar.connections SET next_sync_at = now() WHERE settings->>'channelID' = $1 AND status = 'active'",
            [channelID]) > 0
    }

    /// Records a successful sync. `skipped` replaces the last report of unreadable events; nil
    /// keeps it (the sync did not read the calendar's events). A sync asked for while this one
    /// ran (`next_sync_at` moved past the claim) stays due; otherwise the next is `nextSyncIn` away.
    func recordSuccess(
        _ connection: CalendarConnection, cursor: String?, credentials: ConnectionCredentials?,
        settings: ConnectionSettings?, skipped: SkipReport?, nextSyncIn: Duration
    ) async throws {
        let sealed = try credentials.map { try seal($0, for: connection.id) }
        let settings = try settings.map { try JSONBValue($0) }
        let skipped = try skipped.map { try JSONBValue($0) }
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                UPDATE calendar.connections SET cursor = $2, sealed_credentials = COALESCE($3, sealed_credentials),
                    settings = COALESCE($4, settings), last_skipped = COALESCE($5, last_skipped),
                    next_sync_at = CASE WHEN next_sync_at > last_attempt_at THEN next_sync_at
                                        ELSE now() + make_interval(secs => $6) END,
                    claimed_until = NULL, last_success_at = now(), last_error = NULL, consecutive_failures = 0,
                    updated_at = now()
                WHERE id = $1
                """, [connection.id, cursor, sealed, settings, skipped, nextSyncIn.secondsValue])
        }
    }

    /// Records a failure and when to try again; returns the number of failures in a row.
    @discardableResult
    func recordFailure(_ id: UUID, error: String, retryIn: Duration) async throws -> Int {
        try await pool.withConnection { db in
            try db.queryOne(
                """
                UPDATE calendar.connections SET last_error = $2, consecutive_failures = consecutive_failures + 1,
                    next_sync_at = now() + make_interval(secs => $3), claimed_until = NULL, updated_at = now()
                WHERE id = $1 RETURNING consecutive_failures
                """, [id, error, retryIn.secondsValue])?.int("consecutive_failures") ?? 0
        }
    }

    /// Stops syncing a connection whose authorisation was withdrawn, and tells its owner.
    func markNeedsReauthorisation(_ connection: CalendarConnection, reason: String) async throws {
        let outbox = outbox
        try await outbox.transaction(pool) { db in
            let changed = try db.execute(
                """
                UPDATE calendar.connections SET status = 'needs_reauth', last_error = $2, claimed_until = NULL,
                    updated_at = now()
                WHERE id = $1 AND status <> 'needs_reauth'
                """, [connection.id, reason])
            guard changed == 1 else { return }
            try outbox.append(
                Envelope(
                    tenantID: connection.tenantID, correlationID: connection.id,
                    payload: CalendarReauthorisationNeeded(
                        connectionID: connection.id, owner: connection.owner, provider: connection.kind.rawValue,
                        calendarName: connection.name, reason: reason)), on: db)
        }
    }

    /// Creates the connection, or updates the one with the same tenant, provider and name:
    /// its owner, its settings and, when given, its credentials. Connecting again is also how an
    /// owner re-authorises: the connection becomes active again and syncs at once. Returns its id.
    @discardableResult
    func ensure(
        tenantID: String, owner: String, kind: ProviderKind, name: String, settings: ConnectionSettings,
        credentials: ConnectionCredentials? = nil
    ) async throws -> UUID {
        // Sealed credentials are bound to the row's id, so they are sealed once the id is known.
        guard vault != nil || credentials == nil else { throw CredentialVault.VaultError.noKey }
        let vault = vault
        return try await pool.transaction { db in
            let id = try db.queryOne(
                """
                INSERT INTO calendar.connections (id, tenant_id, owner, kind, name, settings)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (tenant_id, kind, name) DO UPDATE SET owner = EXCLUDED.owner, settings = EXCLUDED.settings,
                    updated_at = now()
                RETURNING id
                """, [UUID(), tenantID, owner, kind.rawValue, name, try JSONBValue(settings)])!.uuid("id")
            if let credentials, let vault {
                try db.execute(
                    """
                    UPDATE calendar.connections SET sealed_credentials = $2, status = 'active', next_sync_at = now(),
                        consecutive_failures = 0, last_error = NULL
                    WHERE id = $1
                    """, [id, try vault.seal(credentials, for: id)])
            }
            return id
        }
    }

    /// Makes a connection due now (a push notification said it changed, or an operator asked).
    func syncSoon(_ id: UUID) async throws -> Bool {
        try await pool.withConnection { db in
            try db.execute(
                "UPDATE calendar.connections SET next_sync_at = now() WHERE id = $1 AND status = 'active'", [id]) == 1
        }
    }

    func seal(_ credentials: ConnectionCredentials, for id: UUID) throws -> String {
        guard let vault else { throw CredentialVault.VaultError.noKey }
        return try vault.seal(credentials, for: id)
    }

    static func connection(from row: Row, vault: CredentialVault?) throws -> CalendarConnection {
        let id = try row.uuid("id")
        var credentials: ConnectionCredentials?
        if let sealed = try row.optionalString("sealed_credentials") {
            guard let vault else { throw CredentialVault.VaultError.noKey }
            credentials = try vault.open(sealed, for: id)
        }
        guard let kind = ProviderKind(rawValue: try row.string("kind")) else {
            throw PermanentFailure("connection \(id) has an unknown provider \(try row.string("kind"))")
        }
        return CalendarConnection(
            id: id, tenantID: try row.string("tenant_id"), owner: try row.string("owner"), kind: kind,
            name: try row.string("name"), settings: try row.decode(ConnectionSettings.self, column: "settings"),
            credentials: credentials, cursor: try row.optionalString("cursor"))
    }
}

/// The events a read of a calendar could not read, as kept with its connection: how many, and
/// the first of them, so that a calendar full of broken events does not make the row huge.
struct SkipReport: Codable, Sendable, Equatable {
    static let listedAtMost = 20

    var count: Int
    /// Each "line N: why", in calendar order.
    var first: [String]

    init(_ skipped: [String]) {
        count = skipped.count
        first = Array(skipped.prefix(Self.listedAtMost))
    }
}
