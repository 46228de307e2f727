import Foundation
import HTTPClient
import ICalendar

/// The signed-in user's primary Outlook calendar (Microsoft 365, Exchange Online, Outlook.com)
/// through Microsoft Graph delta query on a calendar view:
/// https://learn.microsoft.com/en-us/graph/api/event-delta and
/// https://learn.microsoft.com/en-us/graph/delta-query-events.
///
/// - A full sync (no cursor) is `GET {graph}/me/calendarView/delta?startDateTime=…&endDateTime=…`,
///   following `@odata.nextLink` until a page carries `@odata.deltaLink`. The delta link, with
///   the window it was made for, is the cursor (see `Cursor`).
/// - An incremental sync GETs the stored delta link and follows its next links: only events
///   added, changed or removed since (`@removed` entries become `removedItemIDs`).
/// - Graph encodes the window in its state tokens, so a delta link keeps following the window
///   of the full sync that made it. Once the requested window is more than `windowSlack` (a
///   day by default) away from the stored one at either end — time moved on, or the window
///   settings changed — the next sync is a full one for the new window. Until then, events in
///   the sliver beyond the stored window's end wait at most `windowSlack` to be seen.
/// - 410 Gone (or a 4xx whose Graph error code is a sync-state one such as
///   `syncStateNotFound`) means the service lost the sync state: the same call starts over
///   with a full sync ("Synchronization reset" in
///   https://learn.microsoft.com/en-us/graph/delta-query-overview).
/// - Each instance in the view (a single event, an occurrence or exception of a series) is its
///   own item: `itemID` and `uid` are the instance's Graph id, and `recurrenceID` is nil.
///   Series masters never appear in a calendar view.
/// - Times are asked for in UTC (`Prefer: outlook.timezone="UTC"`, also Graph's default).
///   All-day events are midnight-to-midnight dates: they are read in the connection's time
///   zone (`settings.timeZone`, UTC if unset), as the iCalendar provider reads all-day dates.
/// - Links (next and delta) are followed only on the configured Graph origin (scheme, host and
///   port), so the bearer token never leaves for another host. A stored delta link elsewhere
///   (the Graph URL setting changed, or the cursor was tampered with) is not followed: a full
///   sync against the configured Graph starts instead. A next or delta link elsewhere in a
///   response fails the sync.
/// - Throttling (429, and 503/504) is `.rateLimited` with the server's `Retry-After`, after
///   whatever retries the HTTP client's own policy made
///   (https://learn.microsoft.com/en-us/graph/throttling). A 401 refreshes the access token
///   once and retries; a refresh answered with `invalid_grant` is `.authorizationRevoked`
///   (OAuthClient). A 403 (no consent for Calendars.Read, or no mailbox) also needs the owner.
struct MicrosoftGraphProvider: CalendarProvider {
    static let defaultGraphURL = "https://graph.microsoft.com/v1.0"

    let graphURL: String
    let oauth: OAuthClient
    let http: HTTPClient
    /// Sent as `Prefer: odata.maxpagesize`; Graph may send fewer per page.
    let maxPageSize: Int
    /// How far the requested window may drift from the delta link's before a full sync.
    let windowSlack: Duration

    /// A guard against a server that never ends a round.
    static let maxPagesPerRound = 10_000

    init(
        graphURL: String = MicrosoftGraphProvider.defaultGraphURL, oauth: OAuthClient, http: HTTPClient,
        maxPageSize: Int = 50, windowSlack: Duration = .seconds(86_400)
    ) {
        var base = graphURL.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        self.graphURL = base
        self.oauth = oauth
        self.http = http
        self.maxPageSize = max(1, maxPageSize)
        self.windowSlack = windowSlack
    }

    /// The delegated scopes to request at consent and again on every refresh (the v2.0 token
    /// endpoint takes `scope` on refresh): a refresh token (`offline_access`) and read access
    /// to the user's calendars, on the Graph resource of `graphURL` (national clouds have
    /// their own, e.g. https://graph.microsoft.us).
    static func scope(graphURL: String = MicrosoftGraphProvider.defaultGraphURL) -> String {
        let resource =
            URLComponents(string: graphURL).flatMap { components -> String? in
                guard let scheme = components.scheme, let host = components.host else { return nil }
                return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
            } ?? "https://graph.microsoft.com"
        return "offline_access \(resource)/Calendars.Read"
    }

    // MARK: - Sync

    func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch {
        let authorized = try await oauth.authorized(connection.credentials)
        var session = Session(credentials: authorized.credentials, refreshed: authorized.refreshed)
        let zone = connection.settings.timeZone.flatMap(TimeZone.init(identifier:)) ?? .gmt

        if let cursor = Cursor(decoding: connection.cursor), isOnGraphOrigin(cursor.deltaLink),
            !hasMoved(from: cursor, to: window)
        {
            if case .finished(let entries, let deltaLink) = try await round(from: cursor.deltaLink, &session),
                let changes = Self.changes(in: entries, defaultTimeZone: zone)
            {
                var next = cursor
                next.deltaLink = deltaLink
                return SyncBatch(
                    items: changes.items, removedItemIDs: changes.removed, isComplete: false, cursor: next.encoded(),
                    refreshedCredentials: session.refreshedCredentials)
            }
            // The sync state is gone, or an entry came without its times: start over.
        }

        // A reset can also hit a full round between its pages (an expired skip token): one more try.
        for _ in 1...2 {
            guard case .finished(let entries, let deltaLink) = try await round(from: fullSyncURL(window), &session) else {
                continue
            }
            let items = Self.collapse(entries).compactMap { entry -> SyncedItem? in
                guard entry.removed == nil, let event = Self.calendarEvent(from: entry, defaultTimeZone: zone) else { return nil }
                return SyncedItem(itemID: entry.id, occurrences: [event])
            }
            return SyncBatch(
                items: items, isComplete: true,
                cursor: Cursor(deltaLink: deltaLink, windowStart: window.start, windowEnd: window.end).encoded(),
                refreshedCredentials: session.refreshedCredentials)
        }
        throw CalendarSyncError.failed("Microsoft Graph kept resetting the sync state (410) during a full sync")
    }

    /// `{graph}/me/calendarView/delta?startDateTime=…&endDateTime=…`, in UTC to the second.
    func fullSyncURL(_ window: DateInterval) -> String {
        let start = window.start.formatted(.iso8601)
        let end = window.end.formatted(.iso8601)
        return "\(graphURL)/me/calendarView/delta?startDateTime=\(start)&endDateTime=\(end)"
    }

    func hasMoved(from cursor: Cursor, to window: DateInterval) -> Bool {
        let slack = windowSlack.secondsValue
        return abs(window.start.timeIntervalSince(cursor.windowStart)) > slack
            || abs(window.end.timeIntervalSince(cursor.windowEnd)) > slack
    }

    /// Whether `link` is on the configured Graph's scheme, host and port (and names no user).
    func isOnGraphOrigin(_ link: String) -> Bool {
        guard let origin = Self.origin(of: link) else { return false }
        return origin == Self.origin(of: graphURL)
    }

    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), components.user == nil, components.password == nil,
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        return "\(scheme)://\(host):\(components.port ?? (scheme == "https" ? 443 : 80))"
    }

    // MARK: - Rounds and pages

    /// What one sync call knows about its access token.
    private struct Session {
        var credentials: ConnectionCredentials
        var refreshed: Bool
        var refreshedAfterUnauthorized = false

        var refreshedCredentials: ConnectionCredentials? { refreshed ? credentials : nil }
    }

    private enum RoundOutcome {
        case finished(entries: [GraphEvent], deltaLink: String)
        case resyncRequired
    }

    private enum PageOutcome {
        case page(DeltaPage)
        case resyncRequired
    }

    /// Follows next links from `start` until a page carries the delta link.
    private func round(from start: String, _ session: inout Session) async throws -> RoundOutcome {
        var url = start
        var entries: [GraphEvent] = []
        for _ in 0..<Self.maxPagesPerRound {
            guard case .page(let page) = try await fetchPage(url, &session) else { return .resyncRequired }
            entries += page.value
            if let deltaLink = page.deltaLink {
                guard isOnGraphOrigin(deltaLink) else { throw refusedLink(deltaLink, kind: "delta link") }
                return .finished(entries: entries, deltaLink: deltaLink)
            }
            guard let nextLink = page.nextLink else {
                throw CalendarSyncError.failed("a Microsoft Graph delta page had neither @odata.nextLink nor @odata.deltaLink")
            }
            guard isOnGraphOrigin(nextLink) else { throw refusedLink(nextLink, kind: "next link") }
            url = nextLink
        }
        throw CalendarSyncError.failed("Microsoft Graph sent more than \(Self.maxPagesPerRound) delta pages in one round")
    }

    private func refusedLink(_ link: String, kind: String) -> CalendarSyncError {
        // The host only: the link's query holds a state token.
        let host = URLComponents(string: link).map { "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" } ?? "an unreadable URL"
        return .failed("Microsoft Graph sent a \(kind) to \(host), not to the configured Graph host; refusing to follow it")
    }

    private func fetchPage(_ url: String, _ session: inout Session) async throws -> PageOutcome {
        while true {
            let response = try await http.send(
                OutboundRequest(
                    url: url,
                    headers: [
                        ("Authorization", "Bearer \(session.credentials.accessToken ?? "")"),
                        ("Accept", "application/json"),
                        ("Prefer", "odata.maxpagesize=\(maxPageSize)"),
                        ("Prefer", "outlook.timezone=\"UTC\""),
                    ]))
            if response.isSuccess {
                do {
                    return .page(try response.decode(DeltaPage.self))
                } catch {
                    throw CalendarSyncError.failed("Microsoft Graph sent a delta page that does not read as one: \(error)")
                }
            }
            let code = (try? response.decode(GraphErrorResponse.self))?.error.code
            let named = code.map { " \($0)" } ?? ""
            switch response.status {
            case 401 where !session.refreshedAfterUnauthorized:
                // The token expired early or was revoked: refresh once, whatever its stated expiry.
                session.refreshedAfterUnauthorized = true
                var stale = session.credentials
                stale.accessToken = nil
                session.credentials = try await oauth.authorized(stale).credentials
                session.refreshed = true
                continue
            case 401:
                throw CalendarSyncError.failed(
                    "Microsoft Graph refused a freshly refreshed access token (401\(named)); check the Microsoft "
                        + "client settings and the scope")
            case 403:
                throw CalendarSyncError.authorizationRevoked(
                    "Microsoft Graph denied access to the calendar (403\(named)); the owner must consent to Calendars.Read again")
            case 410:
                return .resyncRequired
            case 400 where Self.isSyncStateError(code), 404 where Self.isSyncStateError(code):
                return .resyncRequired
            case 429, 503, 504:
                throw CalendarSyncError.rateLimited(retryAfter: response.retryAfter())
            default:
                throw CalendarSyncError.failed("Microsoft Graph answered \(response.status)\(named)")
            }
        }
    }

    /// Graph's codes for a delta token it no longer honours (`syncStateNotFound`,
    /// `syncStateInvalid`, `resyncRequired`…).
    static func isSyncStateError(_ code: String?) -> Bool {
        guard let code = code?.lowercased() else { return false }
        return code.contains("syncstate") || code.contains("resync")
    }

    // MARK: - From entries to a batch

    /// The last state of each id, in order of first appearance: delta may replay an entity
    /// several times in one round (delta-query-overview, "Replays").
    static func collapse(_ entries: [GraphEvent]) -> [GraphEvent] {
        var order: [String] = []
        var latest: [String: GraphEvent] = [:]
        for entry in entries {
            if latest[entry.id] == nil { order.append(entry.id) }
            latest[entry.id] = entry
        }
        return order.map { latest[$0]! }
    }

    /// The changed items and removed ids of an incremental round, or nil when an entry lacks
    /// the times to build an event from (Graph may send only changed properties; a full sync
    /// then brings whole events).
    static func changes(in entries: [GraphEvent], defaultTimeZone: TimeZone) -> (items: [SyncedItem], removed: [String])? {
        var items: [SyncedItem] = []
        var removed: [String] = []
        for entry in collapse(entries) {
            if entry.removed != nil {
                // Also for events outside the window that changed (event-delta, "Response"):
                // a stored meeting that moved out of the window is cancelled, others are unknown.
                removed.append(entry.id)
            } else if entry.type == "seriesMaster" {
                continue
            } else if let event = calendarEvent(from: entry, defaultTimeZone: defaultTimeZone) {
                items.append(SyncedItem(itemID: entry.id, occurrences: [event]))
            } else {
                return nil
            }
        }
        return (items, removed)
    }

    /// One Graph event as a CalendarEvent; nil without a readable start and end.
    static func calendarEvent(from event: GraphEvent, defaultTimeZone: TimeZone) -> CalendarEvent? {
        guard event.type != "seriesMaster" else { return nil }
        let isAllDay = event.isAllDay ?? false
        guard let start = date(from: event.start, isAllDay: isAllDay, defaultTimeZone: defaultTimeZone),
            let end = date(from: event.end, isAllDay: isAllDay, defaultTimeZone: defaultTimeZone)
        else { return nil }

        let bodyText: String
        if let body = event.body?.content, !body.isEmpty {
            bodyText = event.body?.contentType?.lowercased() == "html" ? plainText(fromHTML: body) : body
        } else {
            bodyText = ""
        }
        let trimmedBody = bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        let description = trimmedBody.isEmpty ? (event.bodyPreview ?? "") : trimmedBody

        let location =
            nonEmpty(event.location?.displayName)
            ?? nonEmpty((event.locations ?? []).compactMap { nonEmpty($0.displayName) }.joined(separator: "; "))

        let status: EventStatus
        if event.isCancelled == true {
            status = .cancelled
        } else if event.showAs?.lowercased() == "tentative" {
            status = .tentative
        } else {
            status = .confirmed
        }

        let organizer = event.organizer?.emailAddress.flatMap { address -> Attendee? in
            guard let email = nonEmpty(address.address) else { return nil }
            return Attendee(email: email, name: nonEmpty(address.name), participation: nil, role: nil)
        }
        let attendees = (event.attendees ?? []).compactMap { attendee -> Attendee? in
            guard let email = nonEmpty(attendee.emailAddress?.address) else { return nil }
            let response = attendee.status?.response?.lowercased()
            return Attendee(
                email: email, name: nonEmpty(attendee.emailAddress?.name), participation: participation(response),
                role: response == "organizer" ? "CHAIR" : role(attendee.type))
        }

        // The online meeting's own link first; then links written into the location or body.
        let meetingLinks = [event.onlineMeeting?.joinUrl, event.onlineMeetingUrl].compactMap { nonEmpty($0) }
        let textCandidates =
            [event.location?.displayName].compactMap { $0 } + (event.locations ?? []).compactMap(\.displayName)
            + [event.body?.content, event.bodyPreview].compactMap { $0 }
        let conferenceURL =
            ConferenceLink.find(in: meetingLinks + textCandidates)
            ?? meetingLinks.first { $0.lowercased().hasPrefix("https://") }

        return CalendarEvent(
            uid: event.id, recurrenceID: nil, sequence: 0, title: event.subject ?? "", description: description,
            location: location, start: start, end: end, isAllDay: isAllDay, status: status, organizer: organizer,
            attendees: attendees, conferenceURL: conferenceURL, recurrenceRule: nil)
    }

    static func participation(_ response: String?) -> String? {
        switch response {
        case "accepted", "organizer": "ACCEPTED"
        case "declined": "DECLINED"
        case "tentativelyaccepted": "TENTATIVE"
        case "notresponded", "none": "NEEDS-ACTION"
        default: nil
        }
    }

    static func role(_ type: String?) -> String? {
        switch type?.lowercased() {
        case "required": "REQ-PARTICIPANT"
        case "optional": "OPT-PARTICIPANT"
        case "resource": "NON-PARTICIPANT"
        default: nil
        }
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }
}

// MARK: - Cursor

extension MicrosoftGraphProvider {
    /// What the connection stores as its cursor: the delta link and the window of the full
    /// sync it continues, as compact JSON. Anything else in the cursor means a full sync.
    struct Cursor: Codable, Equatable {
        var deltaLink: String
        var windowStart: Date
        var windowEnd: Date

        init(deltaLink: String, windowStart: Date, windowEnd: Date) {
            self.deltaLink = deltaLink
            self.windowStart = windowStart
            self.windowEnd = windowEnd
        }

        init?(decoding text: String?) {
            guard let text, let data = text.data(using: .utf8) else { return nil }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            guard let cursor = try? decoder.decode(Cursor.self, from: data) else { return nil }
            self = cursor
        }

        func encoded() -> String {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }
    }
}
