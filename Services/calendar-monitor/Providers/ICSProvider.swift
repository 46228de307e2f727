import Foundation
import HTTPClient
import ICalendar

/// The embedded default calendar: an iCalendar file, or a URL (a calendar's "secret address").
/// Every sync reads the whole calendar and expands its recurrences in the window; for a URL the
/// ETag is the cursor, so an unchanged calendar costs one 304 and no parsing.
struct ICSProvider: CalendarProvider {
    let http: HTTPClient

    func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch {
        guard let location = connection.settings.location else {
            throw CalendarSyncError.failed("the connection names no calendar file or URL")
        }
        let zone = connection.settings.timeZone.flatMap(TimeZone.init(identifier:)) ?? .gmt
        if !location.lowercased().hasPrefix("http://"), !location.lowercased().hasPrefix("https://") {
            let text: String
            do {
                text = try String(contentsOfFile: location, encoding: .utf8)
            } catch {
                throw CalendarSyncError.failed("cannot read \(location): \(error.localizedDescription)")
            }
            return .complete(try ICalendar.occurrences(from: text, window: window, defaultTimeZone: zone))
        }
        var headers: [(name: String, value: String)] = [("Accept", "text/calendar")]
        if let etag = connection.cursor { headers.append(("If-None-Match", etag)) }
        let response = try await http.send(OutboundRequest(url: location, headers: headers))
        switch response.status {
        case 304:
            return SyncBatch(items: [], isComplete: false, cursor: connection.cursor)
        case 200..<300:
            return .complete(
                try ICalendar.occurrences(from: response.text, window: window, defaultTimeZone: zone),
                cursor: response.headers["etag"])
        case 401, 403:
            throw CalendarSyncError.authorizationRevoked("the calendar URL answered \(response.status)")
        case 429, 503:
            throw CalendarSyncError.rateLimited(retryAfter: nil)
        default:
            throw CalendarSyncError.failed("the calendar URL answered \(response.status)")
        }
    }
}
