import CalendarMonitor
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// The bench's own database, bench_calendar_<pid>, on the server ATTACHE_DATABASE_URL names. The
/// pid in its name lets a later run drop what a run that was interrupted left behind.
struct BenchDatabase {
    static let prefix = "bench_calendar_"

    let name: String
    let url: String
    private let admin: PostgresPool

    init?(serverURL: String) {
        guard var components = URLComponents(string: serverURL) else { return nil }
        name = Self.prefix + String(getpid())
        components.path = "/" + name
        guard let url = components.string else { return nil }
        self.url = url
        admin = PostgresPool(url: serverURL, size: 1)
    }

    /// Drops the databases of runs whose process is gone, then creates this run's.
    func create() async throws {
        let stale = try await admin.withConnection { db in
            try db.query(#"SELECT datname FROM pg_database WHERE datname LIKE 'bench\_calendar\_%'"#).map {
                try $0.string("datname")
            }
        }
        for name in stale {
            guard let owner = Int32(name.dropFirst(Self.prefix.count)), kill(owner, 0) == -1, errno == ESRCH else { continue }
            say("dropping \(name), left behind by an earlier run")
            _ = try await admin.withConnection { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        }
        _ = try await admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
    }

    func drop() async throws {
        _ = try await admin.withConnection { try $0.execute("DROP DATABASE \(name) WITH (FORCE)") }
    }
}

extension GeneratedCalendars {
    /// Connects every calendar, in bulk: credentials sealed as ConnectionStore seals them (the
    /// calendar's own tokens, the access token valid until `accessTokensExpire`), due in ten years.
    func connect(in pool: PostgresPool, vault: CredentialVault, accessTokensExpire: Date) async throws {
        struct Settings: Encodable {
            var calendarID: String
            var timeZone: String
        }
        let encoder = JSONEncoder()
        for batch in stride(from: 0, to: connections, by: 1000) {
            var ids: [String] = []
            var tenants: [String] = []
            var owners: [String] = []
            var names: [String] = []
            var settings: [String] = []
            var sealed: [String] = []
            for c in batch..<min(batch + 1000, connections) {
                let id = UUID()
                ids.append(id.uuidString.lowercased())
                tenants.append("bench-tenant-\(c / 100)")
                owners.append(Self.owner(c))
                names.append(Self.calendarID(c))
                let setting = Settings(calendarID: Self.calendarID(c), timeZone: Self.zone(of: c).identifier)
                settings.append(String(decoding: try encoder.encode(setting), as: UTF8.self))
                sealed.append(
                    try vault.seal(
                        ConnectionCredentials(
                            refreshToken: Self.refreshToken(c), accessToken: Self.accessToken(c),
                            accessTokenExpiresAt: accessTokensExpire), for: id))
            }
            let parameters: [any PostgresBindable] = [ids, tenants, owners, names, settings, sealed].map { PostgresArray($0) }
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO calendar.connections (id, tenant_id, owner, kind, name, settings, sealed_credentials, next_sync_at)
                    SELECT u.id, u.tenant, u.owner, 'google', u.name, u.settings, u.sealed, now() + interval '10 years'
                    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
                        AS u(id, tenant, owner, name, settings, sealed)
                    """, parameters)
            }
        }
    }
}
