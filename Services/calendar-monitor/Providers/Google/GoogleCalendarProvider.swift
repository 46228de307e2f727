import Crypto
import Delivery
import Foundation
import HTTPClient
import Logging

/// Google Calendar API v3 (https://developers.google.com/calendar/api/v3/reference).
///
/// **Reading.** `events.list` with `singleEvents=true` (every instance of a series is an event of
/// its own, with its own `id`) and `showDeleted=true` (deleted instances come back as
/// `status: cancelled`), paged with `pageToken` until the page that carries `nextSyncToken`.
///
/// - A *full sync* is bounded by the sync window: `timeMin` = window start, `timeMax` = window
///   end (Google filters on end > timeMin and start < timeMax, the same overlap MeetingSync uses),
///   so a series without an end is not expanded forever. Its batch is complete.
/// - An *incremental sync* sends only `syncToken` (Google refuses `timeMin`/`timeMax`/`orderBy`/…
///   together with a sync token; every other parameter stays as in the full sync). It returns
///   every change since the token, inside the window or not; MeetingSync creates nothing outside
///   the window, so changes far away cost nothing.
/// - The window slides but a sync token does not: an event that was beyond the window at the full
///   sync and has not changed since never shows up in an incremental sync. So the cursor also
///   records the window end of its full sync, and once the window has moved `fullSyncEvery` past
///   it (default 6 hours) the next sync is a full one again. A meeting thus appears at the latest
///   `fullSyncEvery` after it entered the window (at 14 days ahead, by default).
/// - A sync token Google no longer honours (410 Gone, `fullSyncRequired`) is dropped and the same
///   call does a full sync.
///
/// **Items.** Each instance is an item of its own (`itemID` = `uid` = the instance's `id`,
/// `recurrenceID` nil), so that an incremental change to one instance does not cancel its
/// siblings. A cancelled event with a start becomes a cancelled occurrence; one that arrives as a
/// bare id (as deleted events do in incremental results) is reported in `removedItemIDs`.
/// Out-of-office, focus-time, working-location and birthday events are not meetings and are
/// skipped.
///
/// **Auth.** Bearer access tokens from `OAuthClient`; a 401 forces one refresh and one retry.
/// Refreshed credentials come back in `SyncBatch.refreshedCredentials`. Tokens are never logged.
///
/// **Push.** With `push` settings, after a successful read a connection without a channel, or
/// whose channel expires within `renewBefore`, gets a new one (`events.watch`), and the old one
/// is stopped (`channels.stop`). The channel token is `GoogleChannelToken.token(...)`, which
/// bot-gateway checks. A failed renewal is logged and retried at the next sync.
package struct GoogleCalendarProvider: CalendarProvider {
    static let defaultAPIURL = "https://www.googleapis.com/calendar/v3"

    /// Where Google delivers push notifications (bot-gateway's public
    /// `/webhooks/google-calendar`), and the secret that channel tokens are derived from.
    struct PushSettings: Sendable {
        var address: String
        var secret: String
        /// Requested channel lifetime (`params.ttl`); Google may grant less.
        var ttl: Duration = .seconds(7 * 86_400)
        /// A channel that expires sooner than this is replaced.
        var renewBefore: Duration = .seconds(3600)

    }

    let apiURL: String
    let oauth: OAuthClient
    let http: HTTPClient
    let push: PushSettings?
    let logger: Logger
    /// How far the window may move past the last full sync before the next sync is a full one.
    var fullSyncEvery: Duration = .seconds(6 * 3600)
    /// A guard against a server that pages forever.
    var maxPages = 1000
    static let pageSize = 250

    init(
        apiURL: String = GoogleCalendarProvider.defaultAPIURL, oauth: OAuthClient, http: HTTPClient, push: PushSettings?,
        logger: Logger = Logger(label: "google-calendar")
    ) {
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.oauth = oauth
        self.http = http
        self.push = push
        self.logger = logger
    }

    package func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch {
        guard let calendarID = connection.settings.calendarID, !calendarID.isEmpty else {
            throw CalendarSyncError.failed("the connection names no Google calendar (settings.calendarID)")
        }
        var session = try await Session.start(oauth: oauth, http: http, credentials: connection.credentials)
        let fallbackZone = connection.settings.timeZone.flatMap(TimeZone.init(identifier:))
        var batch: SyncBatch
        if let cursor = Cursor(connection.cursor),
            window.end.timeIntervalSince(cursor.windowEnd) < fullSyncEvery.secondsValue
        {
            do {
                let listed = try await list(calendarID, [("syncToken", cursor.syncToken)], session: &session)
                batch = Self.batch(
                    listed, isComplete: false, cursor: Cursor(syncToken: listed.nextSyncToken, windowEnd: cursor.windowEnd),
                    fallbackZone: fallbackZone, logger: logger)
            } catch GoogleFailure.fullSyncRequired {
                logger.notice("Google refused the sync token (410); reading the calendar in full")
                batch = try await fullSync(calendarID, window: window, session: &session, fallbackZone: fallbackZone)
            }
        } else {
            batch = try await fullSync(calendarID, window: window, session: &session, fallbackZone: fallbackZone)
        }
        batch.updatedSettings = await renewChannelIfDue(connection, calendarID: calendarID, session: &session, now: Date())
        batch.refreshedCredentials = session.refreshed ? session.credentials : nil
        return batch
    }

    private func fullSync(
        _ calendarID: String, window: DateInterval, session: inout Session, fallbackZone: TimeZone?
    ) async throws -> SyncBatch {
        let listed = try await list(
            calendarID, [("timeMin", Self.rfc3339(window.start)), ("timeMax", Self.rfc3339(window.end))], session: &session)
        return Self.batch(
            listed, isComplete: true, cursor: Cursor(syncToken: listed.nextSyncToken, windowEnd: window.end),
            fallbackZone: fallbackZone, logger: logger)
    }

    // MARK: - events.list

    struct Listing: Sendable {
        var events: [GoogleEvent]
        /// The calendar's own time zone, from the response.
        var timeZone: String?
        var nextSyncToken: String
    }

    /// Every page of one `events.list` query (`extra` adds the time bounds or the sync token).
    func list(_ calendarID: String, _ extra: [(String, String)], session: inout Session) async throws -> Listing {
        let base: [(String, String)] = [("singleEvents", "true"), ("showDeleted", "true"), ("maxResults", String(Self.pageSize))]
        var events: [GoogleEvent] = []
        var timeZone: String?
        var pageToken: String?
        for _ in 0..<maxPages {
            var query = base + extra
            if let pageToken { query.append(("pageToken", pageToken)) }
            let response = try await session.send(
                OutboundRequest(
                    url: eventsURL(calendarID) + "?" + Self.queryString(query), headers: [("Accept", "application/json")]))
            guard response.status == 200 else {
                if response.status == 410 { throw GoogleFailure.fullSyncRequired }
                throw Self.failure(response, doing: "listing events")
            }
            let page: EventsPage
            do {
                page = try EventsPage(parsing: response.body)
            } catch {
                throw CalendarSyncError.failed("Google sent an events page that does not decode: \(error)")
            }
            events += page.items ?? []
            timeZone = page.timeZone ?? timeZone
            if let next = page.nextPageToken, !next.isEmpty {
                pageToken = next
                continue
            }
            guard let syncToken = page.nextSyncToken, !syncToken.isEmpty else {
                throw CalendarSyncError.failed("Google's last events page carried neither nextPageToken nor nextSyncToken")
            }
            return Listing(events: events, timeZone: timeZone, nextSyncToken: syncToken)
        }
        throw CalendarSyncError.failed("Google returned more than \(maxPages) pages of events; giving up on this sync")
    }

    /// Turns listed events into a batch: one item per event id (the last version of an id wins).
    static func batch(
        _ listing: Listing, isComplete: Bool, cursor: Cursor, fallbackZone: TimeZone?, logger: Logger
    ) -> SyncBatch {
        let calendarZone = listing.timeZone.flatMap(TimeZone.init(identifier:)) ?? fallbackZone ?? .gmt
        var order: [String] = []
        var items: [String: SyncedItem] = [:]
        var removed: [String] = []
        for event in listing.events where event.isMeeting {
            if let mapped = event.calendarEvent(calendarZone: calendarZone) {
                if items[event.id] == nil { order.append(event.id) }
                items[event.id] = SyncedItem(itemID: event.id, occurrences: [mapped])
                removed.removeAll { $0 == event.id }
            } else if event.status == "cancelled" {
                // Deleted events may come back as little more than their id.
                if items.removeValue(forKey: event.id) != nil { order.removeAll { $0 == event.id } }
                if !removed.contains(event.id) { removed.append(event.id) }
            } else {
                logger.warning("skipping a Google event without a readable start", metadata: ["event_id": "\(event.id)"])
            }
        }
        return SyncBatch(
            items: order.compactMap { items[$0] }, removedItemIDs: removed, isComplete: isComplete, cursor: cursor.text)
    }

    private func eventsURL(_ calendarID: String) -> String {
        "\(apiURL)/calendars/\(Self.pathSegment(calendarID))/events"
    }

    // MARK: - Push channels

    /// Opens a new channel when the connection has none or its channel expires within
    /// `renewBefore`, then stops the old one. Returns the settings to store, or nil when nothing
    /// changed. Never throws: a failed renewal must not fail the sync.
    func renewChannelIfDue(
        _ connection: CalendarConnection, calendarID: String, session: inout Session, now: Date
    ) async -> ConnectionSettings? {
        guard let push else { return nil }
        let current = connection.settings
        if current.channelID != nil, let expires = current.channelExpiresAt,
            expires.timeIntervalSince(now) > push.renewBefore.secondsValue
        {
            return nil
        }
        let channelID = UUID().uuidString.lowercased()
        let ttlSeconds = Int64(push.ttl.secondsValue)
        let request = WatchRequest(
            id: channelID, type: "web_hook", address: push.address,
            token: GoogleChannelToken.token(channelID: channelID, secret: push.secret),
            expiration: String(Int64(now.timeIntervalSince1970 * 1000) + ttlSeconds * 1000),
            params: ["ttl": String(ttlSeconds)])
        let channel: WatchedChannel
        do {
            let response = try await session.send(
                try OutboundRequest.json(
                    url: eventsURL(calendarID) + "/watch", request, headers: [("Accept", "application/json")]))
            guard response.isSuccess else {
                logger.warning(
                    "cannot open a Google push channel; polling continues and the next sync tries again",
                    metadata: ["error": "\(Self.failure(response, doing: "opening a push channel"))"])
                return nil
            }
            channel = try response.decode(WatchedChannel.self)
        } catch {
            logger.warning(
                "cannot open a Google push channel; polling continues and the next sync tries again",
                metadata: ["error": "\(error)"])
            return nil
        }
        var updated = current
        updated.channelID = channel.id ?? channelID
        updated.channelResourceID = channel.resourceId
        updated.channelExpiresAt =
            channel.expiration.flatMap { Int64($0) }.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            ?? now.addingTimeInterval(push.ttl.secondsValue)
        logger.info(
            "Google push channel opened",
            metadata: ["channel": "\(updated.channelID ?? "")", "expires": "\(updated.channelExpiresAt.map { "\($0)" } ?? "")"])
        if let oldID = current.channelID, let oldResource = current.channelResourceID {
            await stopChannel(id: oldID, resourceID: oldResource, session: &session)
        }
        return updated
    }

    /// `channels.stop`. A failure only means the old channel runs until it expires; its
    /// notifications then name a channel no connection watches, which calendar-monitor ignores.
    private func stopChannel(id: String, resourceID: String, session: inout Session) async {
        do {
            let response = try await session.send(
                try OutboundRequest.json(url: "\(apiURL)/channels/stop", StopRequest(id: id, resourceId: resourceID)))
            if response.isSuccess || response.status == 404 {
                logger.info("Google push channel stopped", metadata: ["channel": "\(id)", "status": "\(response.status)"])
            } else {
                logger.notice(
                    "cannot stop the previous Google push channel; it lapses when it expires",
                    metadata: ["channel": "\(id)", "error": "\(Self.failure(response, doing: "stopping a push channel"))"])
            }
        } catch {
            logger.notice(
                "cannot stop the previous Google push channel; it lapses when it expires",
                metadata: ["channel": "\(id)", "error": "\(error)"])
        }
    }

    struct WatchRequest: Encodable {
        var id: String
        var type: String
        var address: String
        var token: String
        /// Milliseconds since the epoch, as a string (the Channel resource's int64 format).
        var expiration: String
        var params: [String: String]
    }

    struct WatchedChannel: Decodable {
        var id: String?
        var resourceId: String?
        var expiration: String?
    }

    struct StopRequest: Encodable {
        var id: String
        var resourceId: String
    }

    // MARK: - Errors

    enum GoogleFailure: Error {
        /// 410 Gone: the sync token is no longer valid.
        case fullSyncRequired
    }

    /// Google's error body: `{"error": {"code", "message", "errors": [{"domain", "reason", …}],
    /// "status", "details": [{"reason"}]}}` (https://developers.google.com/calendar/api/guides/errors).
    struct ErrorBody: Decodable {
        struct Inner: Decodable {
            struct Item: Decodable { var reason: String? }
            var code: Int?
            var message: String?
            var status: String?
            var errors: [Item]?
            var details: [Item]?
        }
        var error: Inner?

        var reasons: [String] {
            ((error?.errors ?? []) + (error?.details ?? [])).compactMap(\.reason)
        }
    }

    static let rateLimitReasons: Set<String> = [
        "ratelimitexceeded", "userratelimitexceeded", "quotaexceeded", "dailylimitexceeded",
    ]

    /// What an unsuccessful answer means for the scheduler.
    static func failure(_ response: OutboundResponse, doing what: String) -> CalendarSyncError {
        let body = try? response.decode(ErrorBody.self)
        // RATE_LIMIT_EXCEEDED (ErrorInfo) and rateLimitExceeded (legacy errors[]) are the same reason.
        let reasons = (body?.reasons ?? []).map { $0.lowercased().replacingOccurrences(of: "_", with: "") }
        let summary =
            "Google answered \(response.status)\(body?.reasons.first.map { " \($0)" } ?? "") while \(what)"
            + (body?.error?.message.map { ": \($0)" } ?? "")
        if response.status == 429 || (response.status == 403 && reasons.contains(where: rateLimitReasons.contains)) {
            return .rateLimited(retryAfter: response.retryAfter())
        }
        if response.status == 403,
            reasons.contains(where: { $0 == "insufficientpermissions" || $0 == "accesstokenscopeinsufficient" })
        {
            return .authorizationRevoked(summary)
        }
        return .failed(summary)
    }

    // MARK: - Auth

    /// The access token for one sync: refreshed up front when about to expire, and once more
    /// (forced) when Google answers 401.
    struct Session {
        let oauth: OAuthClient
        let http: HTTPClient
        private(set) var credentials: ConnectionCredentials
        private(set) var refreshed: Bool
        private var forcedRefresh = false

        static func start(oauth: OAuthClient, http: HTTPClient, credentials: ConnectionCredentials?) async throws -> Session {
            let (current, refreshed) = try await oauth.authorized(credentials)
            return Session(oauth: oauth, http: http, credentials: current, refreshed: refreshed)
        }

        private init(oauth: OAuthClient, http: HTTPClient, credentials: ConnectionCredentials, refreshed: Bool) {
            self.oauth = oauth
            self.http = http
            self.credentials = credentials
            self.refreshed = refreshed
        }

        mutating func send(_ request: OutboundRequest) async throws -> OutboundResponse {
            let response = try await http.send(authorised(request))
            guard response.status == 401, !forcedRefresh else { return response }
            // The access token expired early or was revoked: refresh once (invalid_grant there
            // means the owner withdrew access) and try again.
            forcedRefresh = true
            var stale = credentials
            stale.accessToken = nil
            credentials = try await oauth.authorized(stale).credentials
            refreshed = true
            let retried = try await http.send(authorised(request))
            if retried.status == 401 {
                throw CalendarSyncError.failed("Google answered 401 even with a freshly refreshed access token")
            }
            return retried
        }

        private func authorised(_ request: OutboundRequest) -> OutboundRequest {
            var request = request
            request.headers.append(("Authorization", "Bearer \(credentials.accessToken ?? "")"))
            return request
        }
    }

    // MARK: - Encoding

    /// The sync token plus the window end of the full sync it descends from. Stored as
    /// `g1:<unix seconds>:<sync token>`; anything else (an older format) means a full sync.
    struct Cursor: Equatable {
        var syncToken: String
        var windowEnd: Date

        init(syncToken: String, windowEnd: Date) {
            self.syncToken = syncToken
            self.windowEnd = windowEnd
        }

        init?(_ text: String?) {
            guard let parts = text?.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false), parts.count == 3,
                parts[0] == "g1", let seconds = Int64(parts[1]), !parts[2].isEmpty
            else { return nil }
            self.init(syncToken: String(parts[2]), windowEnd: Date(timeIntervalSince1970: Double(seconds)))
        }

        var text: String { "g1:\(Int64(windowEnd.timeIntervalSince1970.rounded(.down))):\(syncToken)" }
    }

    static func queryString(_ items: [(String, String)]) -> String {
        items.map { "\(OAuthClient.formEncoded($0.0))=\(OAuthClient.formEncoded($0.1))" }.joined(separator: "&")
    }

    /// A calendar id as one path segment ("primary", an address, or …@group.calendar.google.com).
    static func pathSegment(_ text: String) -> String {
        OAuthClient.formEncoded(text)
    }

    static func rfc3339(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}

/// A push channel's token: hex(HMAC-SHA256(key: the UTF-8 secret, message: the UTF-8 channel id)).
/// bot-gateway computes the same (`GoogleChannelToken` in Services/bot-gateway) to check
/// `X-Goog-Channel-Token`; both are pinned to the same test vector.
enum GoogleChannelToken {
    static func token(channelID: String, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(channelID.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let digits = Array("0123456789abcdef")
        return String(code.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }
}
