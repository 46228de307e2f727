import Foundation
import Hummingbird
import Synchronization
import TestSupport

/// A local stand-in for Google's OAuth token endpoint and Calendar API v3, following the
/// documented contract closely enough to catch a provider that does not:
///
/// - `POST /token` (https://developers.google.com/identity/protocols/oauth2/web-server#offline):
///   `grant_type=refresh_token` with the client's id and secret gives an access token with
///   `expires_in`; a revoked or unknown refresh token answers 400 `invalid_grant`.
/// - `GET /calendars/{id}/events` (https://developers.google.com/calendar/api/v3/reference/events/list):
///   requires a live Bearer token (401 `authError` otherwise); only expanded instances
///   (`singleEvents=true`); pages hold at most `min(maxResults, pageSize)` items and link with
///   `nextPageToken`, and a page request must repeat the first request's parameters; the last
///   page carries `nextSyncToken`. With `syncToken`, `timeMin`/`timeMax`/`orderBy`/`q`/… and
///   `showDeleted=false` are refused (400); only events changed since the token come back,
///   deleted ones as `status: cancelled` with little more than their id; a token issued before
///   `invalidateSyncTokens()` answers 410 `fullSyncRequired`
///   (https://developers.google.com/calendar/api/guides/sync).
/// - Scripted failures for the next list requests: 429 with `Retry-After`, 403
///   `rateLimitExceeded` (https://developers.google.com/calendar/api/guides/errors).
/// - `POST /calendars/{id}/events/watch` and `POST /channels/stop`
///   (https://developers.google.com/calendar/api/guides/push): unique channel ids of at most 64
///   characters, an https address, `params.ttl` capped at `channelTTLCap`; the answer is an
///   `api#channel` with `resourceId` and `expiration` in milliseconds as a string.
///
/// State is mutable, so a test changes the calendar between syncs.
final class FakeGoogleCalendar: Sendable {
    static let clientID = "client-123.apps.googleusercontent.com"
    static let clientSecret = "client-secret"

    /// An event as Google stores it; only the fields the provider reads.
    struct Event: Codable, Sendable, Equatable {
        struct Time: Codable, Sendable, Equatable {
            var date: String?
            var dateTime: String?
            var timeZone: String?
        }
        struct Person: Codable, Sendable, Equatable {
            var email: String?
            var displayName: String?
            var responseStatus: String?
            var optional: Bool?
            var resource: Bool?
            var organizer: Bool?
        }
        struct ConferenceData: Codable, Sendable, Equatable {
            struct EntryPoint: Codable, Sendable, Equatable {
                var entryPointType: String
                var uri: String
            }
            var entryPoints: [EntryPoint]
        }

        var kind = "calendar#event"
        var id: String
        var status: String? = "confirmed"
        var eventType: String? = "default"
        var summary: String?
        var description: String?
        var location: String?
        var start: Time?
        var end: Time?
        var sequence: Int? = 0
        var organizer: Person?
        var attendees: [Person]?
        var hangoutLink: String?
        var conferenceData: ConferenceData?
        var recurringEventId: String?
        var originalStartTime: Time?
        var updated: String?
    }

    struct Channel: Sendable, Equatable {
        var id: String
        var resourceID: String
        var calendarID: String
        var address: String
        var token: String?
        var requestedTTL: String?
        var expiration: Date
        var stopped = false
    }

    enum Failure: Sendable {
        case tooManyRequests(retryAfter: String?)
        case rateLimitExceeded403
        case serverError
    }

    struct Stored: Sendable {
        var calendarID: String
        var event: Event
        /// The change counter when it last changed.
        var changedAt: Int
        var deleted = false
    }

    struct PendingPages: Sendable {
        var signature: [String: String]
        var remaining: [[Event]]
        var syncToken: String
    }

    struct State: Sendable {
        var changeCounter = 1
        var events: [String: Stored] = [:]
        var order: [String] = []
        var syncTokensValidFrom = 0
        var pages: [String: PendingPages] = [:]
        var accessTokens: [String: Date] = [:]
        var refreshTokens: Set<String> = []
        var tokenRequests = 0
        var listQueries: [[String: String]] = []
        var listTimes: [ContinuousClock.Instant] = []
        var failures: [Failure] = []
        var watchFailures = 0
        var channels: [Channel] = []
        var pageSize = 250
        var accessTokenLifetime = 3599
        var channelTTLCap = 604_800
        var nextNumber = 0
    }

    let state = Mutex(State())
    private(set) nonisolated(unsafe) var server: FakeServer!

    var apiURL: String { server.url + "/calendar/v3" }
    var tokenURL: String { server.url + "/token" }

    private init() {}

    static func start(refreshTokens: Set<String> = ["1//refresh-alex"]) async throws -> FakeGoogleCalendar {
        let fake = FakeGoogleCalendar()
        fake.state.withLock { $0.refreshTokens = refreshTokens }
        fake.server = try await FakeServer { router, _ in fake.routes(router) }
        return fake
    }

    func stop() { server.stop() }

    // MARK: - Changing the calendar

    /// Adds or replaces an event (a new revision: it shows up in the next incremental sync).
    func put(_ event: Event, calendarID: String = "primary") {
        state.withLock { state in
            state.changeCounter += 1
            if state.events[event.id] == nil { state.order.append(event.id) }
            var event = event
            event.updated = Self.rfc3339(Date())
            state.events[event.id] = Stored(calendarID: calendarID, event: event, changedAt: state.changeCounter)
        }
    }

    /// Deletes an event: it stays as `cancelled`, which is how Google reports deletions.
    func delete(_ id: String) {
        state.withLock { state in
            guard var stored = state.events[id] else { return }
            state.changeCounter += 1
            stored.event.status = "cancelled"
            stored.deleted = true
            stored.changedAt = state.changeCounter
            state.events[id] = stored
        }
    }

    /// Changes an event in place (a new revision).
    func change(_ id: String, _ edit: (inout Event) -> Void) {
        state.withLock { state in
            guard var stored = state.events[id] else { return }
            state.changeCounter += 1
            edit(&stored.event)
            stored.changedAt = state.changeCounter
            state.events[id] = stored
        }
    }

    /// Every sync token issued so far answers 410 from now on.
    func invalidateSyncTokens() { state.withLock { $0.syncTokensValidFrom = $0.changeCounter + 1 } }
    /// Every access token issued so far answers 401 from now on.
    func expireAccessTokens() { state.withLock { $0.accessTokens.removeAll() } }
    func revoke(refreshToken: String) { _ = state.withLock { $0.refreshTokens.remove(refreshToken) } }
    func failNextList(_ failures: Failure...) { state.withLock { $0.failures += failures } }
    func failNextWatch(times: Int = 1) { state.withLock { $0.watchFailures += times } }
    func setPageSize(_ size: Int) { state.withLock { $0.pageSize = size } }
    func setChannelTTLCap(seconds: Int) { state.withLock { $0.channelTTLCap = seconds } }

    var listQueries: [[String: String]] { state.withLock { $0.listQueries } }
    var listTimes: [ContinuousClock.Instant] { state.withLock { $0.listTimes } }
    var tokenRequests: Int { state.withLock { $0.tokenRequests } }
    var channels: [Channel] { state.withLock { $0.channels } }

    // MARK: - Routes

    private func routes(_ router: Router<BasicRequestContext>) {
        router.post("/token") { request, _ -> Response in
            let body = String(decoding: try await request.body.collect(upTo: 1 << 16).readableBytesView, as: UTF8.self)
            return self.token(Self.form(body))
        }
        router.get("/calendar/v3/calendars/:calendarID/events") { request, context -> Response in
            guard self.authorised(request) else { return Self.unauthorised() }
            let calendarID = context.parameters.get("calendarID")?.removingPercentEncoding ?? ""
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            return self.list(calendarID, query)
        }
        router.post("/calendar/v3/calendars/:calendarID/events/watch") { request, context -> Response in
            guard self.authorised(request) else { return Self.unauthorised() }
            let calendarID = context.parameters.get("calendarID")?.removingPercentEncoding ?? ""
            let body = try await request.body.collect(upTo: 1 << 16)
            return self.watch(calendarID, Data(body.readableBytesView))
        }
        router.post("/calendar/v3/channels/stop") { request, _ -> Response in
            guard self.authorised(request) else { return Self.unauthorised() }
            let body = try await request.body.collect(upTo: 1 << 16)
            return self.stopChannel(Data(body.readableBytesView))
        }
    }

    private func token(_ form: [String: String]) -> Response {
        state.withLock { state in
            state.tokenRequests += 1
            guard form["client_id"] == Self.clientID, form["client_secret"] == Self.clientSecret else {
                return Self.json(401, #"{"error": "invalid_client", "error_description": "The OAuth client was not found."}"#)
            }
            guard form["grant_type"] == "refresh_token" else {
                return Self.json(400, #"{"error": "unsupported_grant_type"}"#)
            }
            guard let refresh = form["refresh_token"], state.refreshTokens.contains(refresh) else {
                return Self.json(400, #"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#)
            }
            state.nextNumber += 1
            let access = "ya29.fake-\(state.nextNumber)-\(UUID().uuidString.prefix(8))"
            state.accessTokens[access] = Date().addingTimeInterval(Double(state.accessTokenLifetime))
            return Self.json(
                200,
                #"{"access_token": "\#(access)", "expires_in": \#(state.accessTokenLifetime), "scope": "https://www.googleapis.com/auth/calendar.readonly", "token_type": "Bearer"}"#)
        }
    }

    private func authorised(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let token = String(header.dropFirst("Bearer ".count))
        return state.withLock { state in
            guard let expiry = state.accessTokens[token] else { return false }
            return expiry > Date()
        }
    }

    private func list(_ calendarID: String, _ query: [String: String]) -> Response {
        state.withLock { state -> Response in
            state.listQueries.append(query)
            state.listTimes.append(.now)
            if !state.failures.isEmpty {
                switch state.failures.removeFirst() {
                case .tooManyRequests(let retryAfter):
                    var response = Self.error(429, domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded")
                    if let retryAfter { response.headers[.retryAfter] = retryAfter }
                    return response
                case .rateLimitExceeded403:
                    return Self.error(403, domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded")
                case .serverError:
                    return Self.error(500, domain: "global", reason: "backendError", message: "Backend Error")
                }
            }
            guard query["singleEvents"] == "true" else {
                return Self.error(400, domain: "global", reason: "invalid", message: "this fake serves expanded instances only (singleEvents=true)")
            }
            // Paging: "perform the exact same request as previously and append a pageToken".
            if let pageToken = query["pageToken"] {
                var signature = query
                signature["pageToken"] = nil
                guard var pending = state.pages[pageToken], pending.signature == signature else {
                    return Self.error(400, domain: "global", reason: "invalid", message: "Invalid page token value or changed parameters.")
                }
                state.pages[pageToken] = nil
                let page = pending.remaining.removeFirst()
                return self.page(page, pending: pending, state: &state)
            }
            let results: [Event]
            if let syncToken = query["syncToken"] {
                let restricted = ["timeMin", "timeMax", "orderBy", "q", "iCalUID", "updatedMin", "privateExtendedProperty", "sharedExtendedProperty"]
                if restricted.contains(where: { query[$0] != nil }) || query["showDeleted"] == "false" {
                    return Self.error(
                        400, domain: "calendar", reason: "syncTokenWithRequestRestrictions",
                        message: "Sync token cannot be used with other request restrictions.")
                }
                guard syncToken.hasPrefix("sync-"), let since = Int(syncToken.dropFirst(5)) else {
                    return Self.error(400, domain: "global", reason: "invalid", message: "Invalid sync token value.")
                }
                guard since >= state.syncTokensValidFrom else {
                    return Self.error(
                        410, domain: "calendar", reason: "fullSyncRequired",
                        message: "Sync token is no longer valid, a full sync is required.")
                }
                results = state.order.compactMap { state.events[$0] }
                    .filter { $0.calendarID == calendarID && $0.changedAt > since }
                    .map { $0.deleted ? Self.tombstone($0.event) : $0.event }
            } else {
                let timeMin = query["timeMin"].flatMap(Self.parse)
                let timeMax = query["timeMax"].flatMap(Self.parse)
                let showDeleted = query["showDeleted"] == "true"
                results = state.order.compactMap { state.events[$0] }
                    .filter { $0.calendarID == calendarID && (showDeleted || $0.event.status != "cancelled") }
                    .filter { stored in
                        guard let (start, end) = Self.bounds(stored.event) else { return false }
                        // timeMin bounds the end (exclusive), timeMax the start (exclusive).
                        return (timeMin.map { end > $0 } ?? true) && (timeMax.map { start < $0 } ?? true)
                    }
                    .map(\.event)
            }
            let size = max(1, min(Int(query["maxResults"] ?? "250") ?? 250, state.pageSize))
            var chunks = stride(from: 0, to: results.count, by: size).map { Array(results[$0..<min($0 + size, results.count)]) }
            if chunks.isEmpty { chunks = [[]] }
            let first = chunks.removeFirst()
            return self.page(first, pending: PendingPages(signature: query, remaining: chunks, syncToken: "sync-\(state.changeCounter)"), state: &state)
        }
    }

    private func page(_ items: [Event], pending: PendingPages, state: inout State) -> Response {
        struct Page: Encodable {
            var kind = "calendar#events"
            var summary = "alex@example.com"
            var timeZone = "Europe/Berlin"
            var items: [Event]
            var nextPageToken: String?
            var nextSyncToken: String?
        }
        var page = Page(items: items)
        if pending.remaining.isEmpty {
            page.nextSyncToken = pending.syncToken
        } else {
            let token = "page-" + UUID().uuidString.prefix(12).lowercased() + "/+="
            state.pages[token] = pending
            page.nextPageToken = token
        }
        return Self.json(200, String(decoding: try! JSONEncoder().encode(page), as: UTF8.self))
    }

    private func watch(_ calendarID: String, _ body: Data) -> Response {
        struct WatchRequest: Decodable {
            var id: String
            var type: String
            var address: String
            var token: String?
            var expiration: String?
            var params: [String: String]?
        }
        guard let request = try? JSONDecoder().decode(WatchRequest.self, from: body) else {
            return Self.error(400, domain: "global", reason: "parseError", message: "Parse Error")
        }
        return state.withLock { state -> Response in
            if state.watchFailures > 0 {
                state.watchFailures -= 1
                return Self.error(500, domain: "global", reason: "backendError", message: "Backend Error")
            }
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")
            guard request.type == "web_hook", request.address.hasPrefix("https://"), request.id.count <= 64, !request.id.isEmpty,
                request.id.unicodeScalars.allSatisfy(allowed.contains), (request.token?.count ?? 0) <= 256
            else {
                return Self.error(400, domain: "global", reason: "invalid", message: "Invalid channel.")
            }
            guard !state.channels.contains(where: { $0.id == request.id }) else {
                return Self.error(400, domain: "global", reason: "channelIdNotUnique", message: "Channel id not unique.")
            }
            let ttl = min(request.params?["ttl"].flatMap { Int($0) } ?? 604_800, state.channelTTLCap)
            let channel = Channel(
                id: request.id, resourceID: "resource-" + calendarID, calendarID: calendarID, address: request.address,
                token: request.token, requestedTTL: request.params?["ttl"], expiration: Date().addingTimeInterval(Double(ttl)))
            state.channels.append(channel)
            let milliseconds = Int64(channel.expiration.timeIntervalSince1970 * 1000)
            return Self.json(
                200,
                """
                {"kind": "api#channel", "id": "\(channel.id)", "resourceId": "\(channel.resourceID)",
                 "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/\(calendarID)/events?alt=json",
                 "token": "\(channel.token ?? "")", "expiration": "\(milliseconds)"}
                """)
        }
    }

    private func stopChannel(_ body: Data) -> Response {
        struct StopRequest: Decodable {
            var id: String
            var resourceId: String
        }
        guard let request = try? JSONDecoder().decode(StopRequest.self, from: body) else {
            return Self.error(400, domain: "global", reason: "parseError", message: "Parse Error")
        }
        return state.withLock { state -> Response in
            guard let index = state.channels.firstIndex(where: { $0.id == request.id && $0.resourceID == request.resourceId && !$0.stopped })
            else {
                return Self.error(404, domain: "global", reason: "notFound", message: "Channel '\(request.id)' not found for project")
            }
            state.channels[index].stopped = true
            return Response(status: .noContent)
        }
    }

    // MARK: - Helpers

    /// How a deleted event appears in incremental results: its id and status, and for an instance
    /// of a series the series and the instance's original start.
    static func tombstone(_ event: Event) -> Event {
        Event(
            id: event.id, status: "cancelled", eventType: nil, sequence: nil, recurringEventId: event.recurringEventId,
            originalStartTime: event.originalStartTime)
    }

    static func bounds(_ event: Event) -> (Date, Date)? {
        func date(_ time: Event.Time?) -> Date? {
            if let dateTime = time?.dateTime { return parse(dateTime) }
            if let day = time?.date { return parse(day + "T00:00:00Z") }  // good enough for filtering tests
            return nil
        }
        guard let start = date(event.start), let end = date(event.end) else { return nil }
        return (start, end)
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }

    static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func json(_ status: Int, _ body: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Google's error shape (https://developers.google.com/calendar/api/guides/errors).
    static func error(_ status: Int, domain: String, reason: String, message: String) -> Response {
        json(
            status,
            """
            {"error": {"errors": [{"domain": "\(domain)", "reason": "\(reason)", "message": "\(message)"}],
             "code": \(status), "message": "\(message)"}}
            """)
    }

    static func unauthorised() -> Response {
        var response = json(
            401,
            """
            {"error": {"errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
             "locationType": "header", "location": "Authorization"}], "code": 401, "message": "Invalid Credentials"}}
            """)
        response.headers[.wwwAuthenticate] = #"Bearer realm="https://accounts.google.com/", error="invalid_token""#
        return response
    }
}
