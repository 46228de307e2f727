import Foundation
import Runtime

/// Where the calendar comes from. Today the embedded default provider: an iCalendar file or URL.
enum CalendarSource: Sendable, CustomStringConvertible {
    case file(String)
    case url(URL)

    /// The key meetings are stored under, so that two calendars never share external ids.
    var key: String {
        switch self {
        case .file(let path): "ics:file:\(URL(fileURLWithPath: path).standardizedFileURL.path)"
        case .url(let url): "ics:url:\(url.absoluteString)"
        }
    }

    var description: String {
        switch self {
        case .file(let path): path
        // The URL may carry a private token (calendar "secret address"): log the host only.
        case .url(let url): "\(url.scheme ?? "https")://\(url.host ?? "?")/…"
        }
    }
}

struct CalendarMonitorConfiguration: Sendable {
    var common: CommonConfiguration
    var source: CalendarSource
    var pollInterval: Duration
    var tenantID: String
    var timeZone: TimeZone
    var windowAhead: Duration
    var windowBehind: Duration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(service: "calendar-monitor", defaultHTTPPort: 8081, environment: env)
        let location = try env.requiredString(
            "ATTACHE_CALENDAR_ICS", hint: "the path or http(s) URL of the iCalendar (.ics) file to watch")
        if location.lowercased().hasPrefix("http://") || location.lowercased().hasPrefix("https://") {
            guard let url = try env.url("ATTACHE_CALENDAR_ICS") else { throw ConfigurationError(setting: "ATTACHE_CALENDAR_ICS", problem: "is empty") }
            source = .url(url)
        } else {
            guard FileManager.default.isReadableFile(atPath: location) else {
                throw ConfigurationError(setting: "ATTACHE_CALENDAR_ICS", problem: "names \(location), which is not a readable file")
            }
            source = .file(location)
        }
        pollInterval = try env.seconds("ATTACHE_CALENDAR_POLL_SECONDS", default: 900, in: 1...86_400)
        tenantID = env.string("ATTACHE_TENANT_ID", default: "default")
        let zone = env.string("ATTACHE_CALENDAR_TIMEZONE", default: "UTC")
        guard let timeZone = TimeZone(identifier: zone) else {
            throw ConfigurationError(setting: "ATTACHE_CALENDAR_TIMEZONE", problem: "must be an IANA time zone such as Europe/Berlin, not '\(zone)'")
        }
        self.timeZone = timeZone
        windowAhead = .seconds(14 * 86_400)
        windowBehind = .seconds(86_400)
    }
}
