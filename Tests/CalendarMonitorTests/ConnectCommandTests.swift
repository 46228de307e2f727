import Foundation
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

/// `calendar-monitor connections …` as an operator runs it.
@Suite("Connecting calendars")
struct ConnectCommandTests {
    @Test("a Microsoft calendar connects with a refresh token from the environment; the token is stored sealed")
    func connectMicrosoft() async throws {
        let graph = try await FakeMicrosoftGraph.start()
        defer { graph.stop() }
        try await TestDatabase.with { url in
            let refreshToken = graph.credentials().refreshToken!
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let environment = [
                "ATTACHE_DATABASE_URL": url, "ATTACHE_CREDENTIALS_KEY": key,
                "ATTACHE_MICROSOFT_CLIENT_ID": FakeMicrosoftGraph.clientID,
                "ATTACHE_MICROSOFT_CLIENT_SECRET": FakeMicrosoftGraph.clientSecret,
                "ATTACHE_MICROSOFT_TOKEN_URL": graph.tokenURL, "ATTACHE_MICROSOFT_GRAPH_URL": graph.graphURL,
                "ALEX_REFRESH_TOKEN": refreshToken,
            ]
            func run(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
                let process = try ChildProcess(
                    try ServiceBinaries.path("calendar-monitor"), ["connections"] + arguments, environment: environment,
                    logPath: ServiceBinaries.logPath("connections"))
                return (await process.exitStatus(within: .seconds(30)), process.output)
            }

            let added = try await run([
                "add", "microsoft", "--tenant", "acme", "--owner", "alex@example.com", "--name", "Work",
                "--refresh-token-env", "ALEX_REFRESH_TOKEN",
            ])
            #expect(added.status == 0, "\(added.output)")
            #expect(added.output.contains("connected"))
            #expect(!added.output.contains(refreshToken), "the token must not be printed")

            let pool = PostgresPool(url: url, size: 1)
            let sealed = try await pool.withConnection {
                try $0.queryOne("SELECT sealed_credentials, id FROM calendar.connections")!
            }
            let blob = try sealed.string("sealed_credentials")
            #expect(
                !blob.contains(refreshToken)
                    && !(Data(base64Encoded: blob).map { String(decoding: $0, as: UTF8.self).contains(refreshToken) } ?? false),
                "credentials are encrypted at rest")
            let opened = try #require(CredentialVault(base64Key: key)).open(blob, for: try sealed.uuid("id"))
            #expect(opened.refreshToken?.isEmpty == false, "the rotated refresh token Microsoft handed back is kept")
            #expect(opened.accessToken != nil, "the token was checked (and refreshed) when connecting")

            let listed = try await run(["list"])
            #expect(listed.status == 0)
            #expect(listed.output.contains("microsoft  acme/alex@example.com  “Work”  active"), "\(listed.output)")

            graph.revokeRefreshTokens()
            let refused = try await run([
                "add", "microsoft", "--tenant", "acme", "--owner", "sam@example.com", "--name", "Work",
                "--refresh-token-env", "ALEX_REFRESH_TOKEN",
            ])
            #expect(refused.status != 0)
            #expect(refused.output.contains("invalid_grant"), "\(refused.output)")
        }
    }
}

extension ConnectCommandTests {
    @Test("a CalDAV account connects one connection per event calendar; connecting again re-authorises a stopped one")
    func connectCalDAVAndReauthorise() async throws {
        let radicale = try RadicaleServer.fromStack()
        let suffix = UUID().uuidString.prefix(6).lowercased()
        _ = try await radicale.makeCalendar("team-\(suffix)", displayName: "Team \(suffix)")
        try await TestDatabase.with { url in
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            var environment = [
                "ATTACHE_DATABASE_URL": url, "ATTACHE_CREDENTIALS_KEY": key, "CALDAV_PASSWORD": radicale.password,
            ]
            func run(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
                let process = try ChildProcess(
                    try ServiceBinaries.path("calendar-monitor"), ["connections"] + arguments, environment: environment,
                    logPath: ServiceBinaries.logPath("connections"))
                return (await process.exitStatus(within: .seconds(30)), process.output)
            }
            let add = [
                "add", "caldav", "--tenant", "acme", "--owner", "alex@example.com", "--name", "radicale", "--url",
                radicale.baseURL,
                "--username", radicale.username, "--password-env", "CALDAV_PASSWORD",
            ]
            let added = try await run(add)
            #expect(added.status == 0, "\(added.output)")
            #expect(added.output.contains("(Team \(suffix))"), "\(added.output)")
            #expect(!added.output.contains(radicale.password))

            // The password stopped working and the connection was stopped…
            let pool = PostgresPool(url: url, size: 1)
            _ = try await pool.withConnection { db in
                try db.execute(
                    "UPDATE calendar.connections SET status = 'needs_reauth', consecutive_failures = 3, last_error = 'refused'")
            }
            // …until the owner connects it again.
            environment["CALDAV_PASSWORD"] = radicale.password
            #expect(try await run(add).status == 0)
            let rows = try await pool.withConnection { db in
                try db.query(
                    "SELECT status, consecutive_failures, last_error FROM calendar.connections WHERE name = $1",
                    ["radicale/Team \(suffix)"])
            }
            #expect(rows.count == 1, "connecting again updates the connection rather than adding one")
            #expect(try rows.first?.string("status") == "active")
            #expect(try rows.first?.int("consecutive_failures") == 0)
            #expect(try rows.first?.optionalString("last_error") == nil)
        }
    }
}
