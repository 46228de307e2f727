import Foundation
import HTTPClient
import Runtime
import Store

/// `calendar-monitor connections …`: the operator's view of calendar connections.
///
///   connections list
///   connections add ics --tenant T --owner O --name N --location PATH_OR_URL [--timezone Europe/Berlin]
///   connections add microsoft --tenant T --owner O --name N (--code C --redirect-uri U | --refresh-token-env VAR)
///   connections sync ID          sync now (at the next scheduler tick)
///
/// Uses ATTACHE_DATABASE_URL (and ATTACHE_CREDENTIALS_KEY for connections with secrets).
enum ConnectionsCommand {
    static let usage = """
        usage: calendar-monitor connections list
               calendar-monitor connections add ics --tenant T --owner O --name N --location PATH_OR_URL [--timezone ZONE]
               calendar-monitor connections add microsoft --tenant T --owner O --name N
                   (--code CODE --redirect-uri URI | --refresh-token-env VARIABLE) [--timezone ZONE]
               calendar-monitor connections add google --tenant T --owner O --name N [--calendar primary]
                   (--code CODE --redirect-uri URI | --refresh-token-env VARIABLE) [--timezone ZONE]
               calendar-monitor connections add caldav --tenant T --owner O --name N --url BASE_URL
                   --username U --password-env VARIABLE [--timezone ZONE]
               calendar-monitor connections sync CONNECTION_ID
        """

    static func run(_ arguments: [String]) async -> Int32 {
        do {
            let environment = Environment()
            let pool = PostgresPool(
                url: environment.string("ATTACHE_DATABASE_URL", default: "postgresql://postgres@127.0.0.1:5432/attache"),
                size: 1)
            switch arguments.first {
            case "list":
                try await list(pool)
            case "add":
                try await add(Array(arguments.dropFirst()), pool: pool)
            case "sync":
                guard let id = arguments.dropFirst().first.flatMap(UUID.init(uuidString:)) else { return fail(usage) }
                let updated = try await pool.withConnection { db in
                    try db.execute("UPDATE calendar.connections SET next_sync_at = now() WHERE id = $1", [id])
                }
                print(updated == 1 ? "connection \(id) will sync at the next tick" : "no connection \(id)")
            default:
                return fail(usage)
            }
            return 0
        } catch {
            return fail("\(error)")
        }
    }

    static func list(_ pool: PostgresPool) async throws {
        for line in try await listing(pool) { print(line) }
    }

    /// The lines `connections list` prints.
    static func listing(_ pool: PostgresPool) async throws -> [String] {
        let rows = try await pool.withConnection { db in
            try db.query(
                """
                SELECT id, tenant_id, owner, kind, name, status, cursor IS NOT NULL AS has_cursor, last_success_at,
                       last_attempt_at, next_sync_at, consecutive_failures, last_error, last_skipped,
                       (SELECT count(*) FROM calendar.meetings m
                        WHERE m.source = c.kind || ':' || c.id::text AND NOT m.cancelled) AS meetings
                FROM calendar.connections c ORDER BY tenant_id, owner, name
                """)
        }
        if rows.isEmpty { return ["no calendar connections"] }
        var lines: [String] = []
        for row in rows {
            lines.append(
                "\(try row.string("id"))  \(try row.string("kind"))  \(try row.string("tenant_id"))/\(try row.string("owner"))  “\(try row.string("name"))”  \(try row.string("status"))"
            )
            let cursor = try row.bool("has_cursor") ? "incremental (cursor held)" : "full sync next"
            lines.append(
                "    meetings \(try row.string("meetings")); \(cursor); last success \(try row.optionalString("last_success_at") ?? "never"); next \(try row.string("next_sync_at"))"
            )
            if let error = try row.optionalString("last_error") {
                lines.append("    \(try row.string("consecutive_failures")) failure(s) in a row; last error: \(error)")
            }
            if try row.optionalString("last_skipped") != nil {
                let skipped = try row.decode(SkipReport.self, column: "last_skipped")
                if skipped.count > 0 {
                    lines.append("    \(skipped.count) event(s) skipped at the last read, because they cannot be read:")
                    lines += skipped.first.map { "      \($0)" }
                    if skipped.count > skipped.first.count {
                        lines.append("      … and \(skipped.count - skipped.first.count) more")
                    }
                }
            }
        }
        return lines
    }

    static func add(_ arguments: [String], pool: PostgresPool) async throws {
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }
        guard let kind = arguments.first.flatMap(ProviderKind.init(rawValue:)), let tenant = option("--tenant"),
            let owner = option("--owner"), let name = option("--name")
        else { throw UsageError(text: usage) }
        let configuration = try CalendarMonitorConfiguration(Environment())
        try await Migrator.migrate(
            pool, schema: MeetingsSchema.name, migrations: MeetingsSchema.allMigrations, logger: .init(label: "connections"))
        let store = ConnectionStore(pool: pool, outbox: try .init(schema: MeetingsSchema.name), vault: configuration.vault)
        let timeZone = option("--timezone") ?? "UTC"
        let http = HTTPClient(logger: .init(label: "connections"))
        let id: UUID
        switch kind {
        case .ics:
            guard let location = option("--location") else { throw UsageError(text: usage) }
            id = try await store.ensure(
                tenantID: tenant, owner: owner, kind: .ics, name: name,
                settings: ConnectionSettings(location: location, timeZone: timeZone))
        case .microsoft:
            guard let microsoft = configuration.microsoft else {
                throw ConfigurationError(
                    setting: "ATTACHE_MICROSOFT_CLIENT_ID", problem: "is required to connect a Microsoft calendar")
            }
            id = try await store.ensure(
                tenantID: tenant, owner: owner, kind: .microsoft, name: name, settings: ConnectionSettings(timeZone: timeZone),
                credentials: try await authorise(microsoft.oauth(http: http), option))
        case .caldav:
            // One connection per calendar the account holds, named after the account's name.
            guard let base = option("--url"), let username = option("--username"), let variable = option("--password-env")
            else { throw UsageError(text: usage) }
            guard let password = ProcessInfo.processInfo.environment[variable], !password.isEmpty else {
                throw ConfigurationError(setting: variable, problem: "is empty: it should hold the CalDAV password")
            }
            let calendars = try await CalDAVProvider.discoverCalendars(
                baseURL: base, username: username, password: password, http: http)
            guard !calendars.isEmpty else { throw UsageError(text: "no event calendars found for \(username) at that server") }
            for calendar in calendars {
                let connected = try await store.ensure(
                    tenantID: tenant, owner: owner, kind: .caldav, name: "\(name)/\(calendar.name)",
                    settings: ConnectionSettings(location: calendar.url, username: username, timeZone: timeZone),
                    credentials: ConnectionCredentials(password: password))
                print("connected \(connected) (\(calendar.name)): it syncs at the next scheduler tick")
            }
            return
        case .google:
            guard let google = configuration.google else {
                throw ConfigurationError(setting: "ATTACHE_GOOGLE_CLIENT_ID", problem: "is required to connect a Google calendar")
            }
            id = try await store.ensure(
                tenantID: tenant, owner: owner, kind: .google, name: name,
                settings: ConnectionSettings(calendarID: option("--calendar") ?? "primary", timeZone: timeZone),
                credentials: try await authorise(google.oauth(http: http), option))
        }
        print("connected \(id): it syncs at the next scheduler tick")
    }

    /// Credentials from an authorisation code (`--code` and `--redirect-uri`, from the provider's
    /// consent redirect) or a refresh token read from the environment variable `--refresh-token-env`
    /// names: never from the command line, where it would be kept in shell history.
    static func authorise(_ oauth: OAuthClient, _ option: (String) -> String?) async throws -> ConnectionCredentials {
        if let code = option("--code"), let redirect = option("--redirect-uri") {
            return try await oauth.exchange(code: code, redirectURI: redirect)
        }
        if let variable = option("--refresh-token-env") {
            guard let token = ProcessInfo.processInfo.environment[variable], !token.isEmpty else {
                throw ConfigurationError(setting: variable, problem: "is empty: it should hold the refresh token")
            }
            // Checked now rather than at the first sync: a bad token is the operator's to fix.
            return try await oauth.authorized(ConnectionCredentials(refreshToken: token)).credentials
        }
        throw UsageError(text: "give --code CODE --redirect-uri URI, or --refresh-token-env VARIABLE")
    }

    struct UsageError: Error, CustomStringConvertible {
        var text: String
        var description: String { text }
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("calendar-monitor: \(message)\n".utf8))
        return 2
    }
}
