import Foundation
import Runtime

package struct CalendarMonitorConfiguration: ServiceConfiguration {
    package static let identity = ServiceIdentity("calendar-monitor", defaultHTTPPort: 8081)

    /// A calendar to keep connected without an operator command: the embedded default's way
    /// to run with no setup (ATTACHE_CALENDAR_ICS).
    struct DefaultCalendar: Sendable {
        var location: String
        var tenantID: String
        var owner: String
        var timeZone: String
    }

    package var common: CommonConfiguration
    var defaultCalendar: DefaultCalendar?
    package var scheduler: SyncScheduler.Settings
    /// Each provider's own request budget, across all its connections in this replica.
    var requestsPerSecond: Int
    package var vault: CredentialVault?
    /// Microsoft Graph calendars; nil without ATTACHE_MICROSOFT_CLIENT_ID.
    var microsoft: MicrosoftGraphSettings?
    /// Google calendars; nil without ATTACHE_GOOGLE_CLIENT_ID.
    package var google: GoogleCalendarSettings?

    package init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        let zone = env.string("ATTACHE_CALENDAR_TIMEZONE", default: "UTC")
        guard TimeZone(identifier: zone) != nil else {
            throw ConfigurationError(
                setting: "ATTACHE_CALENDAR_TIMEZONE", problem: "must be an IANA time zone such as Europe/Berlin, not '\(zone)'")
        }
        if let location = env.optionalString("ATTACHE_CALENDAR_ICS") {
            if location.lowercased().hasPrefix("http://") || location.lowercased().hasPrefix("https://") {
                _ = try env.url("ATTACHE_CALENDAR_ICS")
            } else if !FileManager.default.isReadableFile(atPath: location) {
                throw ConfigurationError(
                    setting: "ATTACHE_CALENDAR_ICS", problem: "names \(location), which is not a readable file")
            }
            defaultCalendar = DefaultCalendar(
                location: location, tenantID: env.string("ATTACHE_TENANT_ID", default: "default"),
                owner: env.string("ATTACHE_CALENDAR_OWNER", default: "owner@localhost"), timeZone: zone)
        }
        scheduler = SyncScheduler.Settings(
            interval: try env.seconds("ATTACHE_CALENDAR_POLL_SECONDS", default: 900, in: 1...86_400),
            concurrency: try env.integer("ATTACHE_CALENDAR_SYNC_CONCURRENCY", default: 8, in: 1...512),
            windowBehind: .seconds(86_400 * (try env.integer("ATTACHE_CALENDAR_WINDOW_BEHIND_DAYS", default: 1, in: 0...60))),
            windowAhead: .seconds(86_400 * (try env.integer("ATTACHE_CALENDAR_WINDOW_AHEAD_DAYS", default: 14, in: 1...366))))
        requestsPerSecond = try env.integer("ATTACHE_CALENDAR_REQUESTS_PER_SECOND", default: 10, in: 1...10_000)
        if let key = env.optionalString("ATTACHE_CREDENTIALS_KEY") {
            guard let vault = CredentialVault(base64Key: key) else {
                throw ConfigurationError(
                    setting: "ATTACHE_CREDENTIALS_KEY",
                    problem: "must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
            }
            self.vault = vault
        }
        microsoft = try MicrosoftGraphSettings(env)
        google = try GoogleCalendarSettings(env)
    }
}
