import Foundation
import ICalendar

package enum ProviderKind: String, Codable, Sendable, CaseIterable {
    case ics, caldav, google, microsoft
}

/// One calendar item as the source holds it (a single event or a recurring series) with its
/// occurrences inside the sync window.
struct SyncedItem: Sendable {
    var itemID: String
    var occurrences: [CalendarEvent]
}

/// What one sync of one connection found.
package struct SyncBatch: Sendable {
    /// Items created or changed: for each, exactly the occurrences now in the window, which
    /// replace what was stored for that item.
    var items: [SyncedItem]
    /// Items deleted at the source.
    var removedItemIDs: [String] = []
    /// True when `items` is everything the source holds in the window (a full sync): stored
    /// items that are not in it were deleted at the source.
    var isComplete: Bool
    /// Where the next sync starts (a sync token, a delta link); nil when the source has none.
    var cursor: String?
    /// Set when the provider refreshed the connection's credentials (a new access token).
    var refreshedCredentials: ConnectionCredentials?
    /// Set when the provider changed the connection's settings (a renewed push channel).
    var updatedSettings: ConnectionSettings?
    /// The events this sync found but could not read, each "where: why", in calendar order.
    /// Nil when the sync did not read the calendar's events (an unchanged feed), so that the
    /// last report still stands.
    var skipped: [String]?
    /// Items with an event that could not be read: none of their stored meetings is cancelled
    /// for being missing, since the unreadable event may be what holds them.
    var unreadableItemIDs: [String] = []
}

/// A calendar source: iCalendar file or URL, CalDAV, Google Calendar, Microsoft Graph.
package protocol CalendarProvider: Sendable {
    /// Fetches what changed since `connection.cursor` (everything when there is none, or when
    /// the source refuses the cursor: the provider then starts over and says so with
    /// `isComplete`).
    func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch
}

/// Why a sync failed, in the terms the scheduler acts on.
enum CalendarSyncError: Error, CustomStringConvertible {
    /// The owner withdrew the authorisation (OAuth `invalid_grant`, a password changed): only
    /// the owner can fix it, so the connection stops until re-authorised.
    case authorizationRevoked(String)
    /// The source asked us to slow down.
    case rateLimited(retryAfter: Duration?)
    /// Anything else: retried with backoff.
    case failed(String)

    var description: String {
        switch self {
        case .authorizationRevoked(let why): "authorisation revoked: \(why)"
        case .rateLimited(let after): "rate limited\(after.map { "; retry after \($0)" } ?? "")"
        case .failed(let why): why
        }
    }
}
