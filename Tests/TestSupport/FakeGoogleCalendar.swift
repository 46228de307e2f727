import Foundation
import Hummingbird
import Synchronization

/// A local stand-in for Google's OAuth token endpoint and Calendar API v3, following the
/// documented contract closely enough to catch a provider that does not. The calendar-monitor
/// tests script it event by event; bench-calendar fills it with ten thousand calendars.
///
/// - `POST /token` (https://developers.google.com/identity/protocols/oauth2/web-server#offline):
///   `grant_type=refresh_token` with the client's id and secret gives an access token with
///   `expires_in`; a revoked or unknown refresh token answers 400 `invalid_grant`.
/// - `GET /calendar/v3/calendars/{id}/events`
///   (https://developers.google.com/calendar/api/v3/reference/events/list): requires a live
///   Bearer token (401 `authError` otherwise) that may read the calendar (404 `notFound`
///   otherwise, and for a calendar that does not exist); only expanded instances
///   (`singleEvents=true`); pages hold at most `min(maxResults, pageSize)` items and link with
///   `nextPageToken`, and a page request must repeat the first request's parameters; the last
///   page carries `nextSyncToken`. With `syncToken`, `timeMin`/`timeMax`/`orderBy`/`q`/… and
///   `showDeleted=false` are refused (400); only events changed since the token come back,
///   deleted ones as `status: cancelled` with little more than their id; a token this server
///   did not issue, or issued before `invalidateSyncTokens()`, answers 410 `fullSyncRequired`
///   (https://developers.google.com/calendar/api/guides/sync).
/// - Scripted failures for the next list requests: 429 with `Retry-After`, 403
///   `rateLimitExceeded` (https://developers.google.com/calendar/api/guides/errors).
/// - `POST /calendar/v3/calendars/{id}/events/watch` and `POST /calendar/v3/channels/stop`
///   (https://developers.google.com/calendar/api/guides/push): unique channel ids of at most 64
///   characters, an https address, `params.ttl` capped at `channelTTLCap`; the answer is an
///   `api#channel` with `resourceId` and `expiration` in milliseconds as a string.
///
/// Each event is rendered to JSON once per revision, so that serving a page costs no more than
/// copying bytes: the bench measures calendar-monitor, not this fake. State is mutable, so a
/// test changes the calendar between syncs.
public final class FakeGoogleCalendar: Sendable {
    public static let clientID = "client-123.apps.googleusercontent.com"
    public static let clientSecret = "client-secret"
    /// The zone of a calendar made by putting an event in it.
    static let defaultTimeZone = "Europe/Berlin"

    /// An Event resource (https://developers.google.com/calendar/api/v3/reference/events): the
    /// fields the provider reads, and the ones it skips that make a page weigh what Google's do.
    public struct Event: Codable, Sendable, Equatable {
        public struct Time: Codable, Sendable, Equatable {
            public var date: String?
            public var dateTime: String?
            public var timeZone: String?

            public init(date: String? = nil, dateTime: String? = nil, timeZone: String? = nil) {
                self.date = date
                self.dateTime = dateTime
                self.timeZone = timeZone
            }

            /// As Google writes a time in a zone: local wall-clock time with its offset
            /// (`2026-12-10T10:00:00+01:00`), and the zone's name.
            public init(_ instant: Date, in zone: TimeZone) {
                self.init(
                    dateTime: instant.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone)),
                    timeZone: zone.identifier)
            }

            /// The instant `dateTime` names; nil for an all-day `date`.
            public var instant: Date? { dateTime.flatMap(FakeGoogleCalendar.parse) }
        }

        public struct Person: Codable, Sendable, Equatable {
            public var email: String?
            public var displayName: String?
            public var responseStatus: String?
            public var optional: Bool?
            public var resource: Bool?
            public var organizer: Bool?
            /// Google's `self`: this person is the calendar's owner.
            public var isSelf: Bool?

            enum CodingKeys: String, CodingKey {
                case email, displayName, responseStatus, optional, resource, organizer
                case isSelf = "self"
            }

            public init(
                email: String? = nil, displayName: String? = nil, responseStatus: String? = nil, optional: Bool? = nil,
                resource: Bool? = nil, organizer: Bool? = nil, isSelf: Bool? = nil
            ) {
                self.email = email
                self.displayName = displayName
                self.responseStatus = responseStatus
                self.optional = optional
                self.resource = resource
                self.organizer = organizer
                self.isSelf = isSelf
            }
        }

        public struct ConferenceData: Codable, Sendable, Equatable {
            public struct EntryPoint: Codable, Sendable, Equatable {
                public var entryPointType: String
                public var uri: String
                public var label: String?
                public var pin: String?

                public init(entryPointType: String, uri: String, label: String? = nil, pin: String? = nil) {
                    self.entryPointType = entryPointType
                    self.uri = uri
                    self.label = label
                    self.pin = pin
                }
            }

            public struct Solution: Codable, Sendable, Equatable {
                public struct Key: Codable, Sendable, Equatable {
                    public var type: String
                }
                public var key: Key
                public var name: String

                public init(type: String, name: String) {
                    key = Key(type: type)
                    self.name = name
                }
            }

            public var entryPoints: [EntryPoint]
            public var conferenceSolution: Solution?
            public var conferenceId: String?

            public init(entryPoints: [EntryPoint], conferenceSolution: Solution? = nil, conferenceId: String? = nil) {
                self.entryPoints = entryPoints
                self.conferenceSolution = conferenceSolution
                self.conferenceId = conferenceId
            }
        }

        public struct Reminders: Codable, Sendable, Equatable {
            public var useDefault: Bool

            public init(useDefault: Bool) { self.useDefault = useDefault }
        }

        public var kind = "calendar#event"
        public var etag: String?
        public var id: String
        public var status: String?
        public var htmlLink: String?
        public var created: String?
        public var updated: String?
        public var eventType: String?
        public var summary: String?
        public var description: String?
        public var location: String?
        public var creator: Person?
        public var organizer: Person?
        public var start: Time?
        public var end: Time?
        public var iCalUID: String?
        public var sequence: Int?
        public var attendees: [Person]?
        public var hangoutLink: String?
        public var conferenceData: ConferenceData?
        public var reminders: Reminders?
        public var recurringEventId: String?
        public var originalStartTime: Time?

        public init(
            id: String, status: String? = "confirmed", eventType: String? = "default", summary: String? = nil,
            description: String? = nil, location: String? = nil, start: Time? = nil, end: Time? = nil, sequence: Int? = 0,
            organizer: Person? = nil, attendees: [Person]? = nil, hangoutLink: String? = nil,
            conferenceData: ConferenceData? = nil, recurringEventId: String? = nil, originalStartTime: Time? = nil
        ) {
            self.id = id
            self.status = status
            self.eventType = eventType
            self.summary = summary
            self.description = description
            self.location = location
            self.start = start
            self.end = end
            self.sequence = sequence
            self.organizer = organizer
            self.attendees = attendees
            self.hangoutLink = hangoutLink
            self.conferenceData = conferenceData
            self.recurringEventId = recurringEventId
            self.originalStartTime = originalStartTime
        }

        /// How a deleted event appears in incremental results: its id and status, and for an
        /// instance of a series the series and the instance's original start.
        var tombstone: Event {
            Event(
                id: id, status: "cancelled", eventType: nil, sequence: nil, recurringEventId: recurringEventId,
                originalStartTime: originalStartTime)
        }
    }

    public struct Channel: Sendable, Equatable {
        public var id: String
        public var resourceID: String
        public var calendarID: String
        public var address: String
        public var token: String?
        public var requestedTTL: String?
        public var expiration: Date
        public var stopped = false
    }

    public enum Failure: Sendable {
        case tooManyRequests(retryAfter: String?)
        case rateLimitExceeded403
        case serverError
    }

    /// What the server has done, for a bench to read before and after a run.
    public struct Counts: Sendable {
        /// First pages of listings without, and with, a sync token.
        public var fullListings = 0
        public var incrementalListings = 0
        public var pages = 0
        public var eventsServed = 0
        /// 410 answers: sync tokens refused.
        public var gone = 0
        /// Other refused listings (400, 401, 404).
        public var rejected = 0
        public var tokenRequests = 0
        /// Time spent answering listings.
        public var handlerSeconds = 0.0

        public static func - (a: Counts, b: Counts) -> Counts {
            Counts(
                fullListings: a.fullListings - b.fullListings, incrementalListings: a.incrementalListings - b.incrementalListings,
                pages: a.pages - b.pages, eventsServed: a.eventsServed - b.eventsServed, gone: a.gone - b.gone,
                rejected: a.rejected - b.rejected, tokenRequests: a.tokenRequests - b.tokenRequests,
                handlerSeconds: a.handlerSeconds - b.handlerSeconds)
        }
    }

    /// One revision of an event: its JSON (and, once deleted, its tombstone's), rendered once.
    struct Stored: Sendable {
        var calendarID: String
        var json: [UInt8]
        var tombstoneJSON: [UInt8]?
        var start: Date?
        var end: Date?
        /// The change counter when it last changed.
        var changedAt: Int
        var deleted = false
    }

    struct StoredCalendar: Sendable {
        var timeZone: String
        /// Event ids in the order they were first put.
        var eventIDs: [String] = []
    }

    /// What a token may read: nil means every calendar.
    struct Grant: Sendable {
        var calendars: Set<String>?
        var expiresAt = Date.distantFuture
    }

    struct PendingPages: Sendable {
        var signature: [String: String]
        var remaining: [[[UInt8]]]
        var syncToken: String
    }

    struct State: Sendable {
        var changeCounter = 1
        var calendars: [String: StoredCalendar] = ["primary": StoredCalendar(timeZone: FakeGoogleCalendar.defaultTimeZone)]
        var events: [String: Stored] = [:]
        var syncTokensValidFrom = 0
        var pages: [String: PendingPages] = [:]
        var accessTokens: [String: Grant] = [:]
        var refreshTokens: [String: Grant] = [:]
        var listQueries: [[String: String]] = []
        var listTimes: [ContinuousClock.Instant] = []
        var failures: [Failure] = []
        var watchFailures = 0
        var channels: [Channel] = []
        var pageSize: Int
        var accessTokenLifetime = 3599
        var channelTTLCap = 604_800
        var nextNumber = 0
        var counts = Counts()
    }

    let state: Mutex<State>
    private(set) nonisolated(unsafe) var server: FakeServer!

    public var apiURL: String { server.url + "/calendar/v3" }
    public var tokenURL: String { server.url + "/token" }

    private init(pageSize: Int) {
        state = Mutex(State(pageSize: pageSize))
    }

    /// Starts the server. `refreshTokens` may read every calendar; `pageSize` is the most
    /// events a page holds, whatever `maxResults` asks.
    public static func start(refreshTokens: Set<String> = ["1//refresh-alex"], pageSize: Int = 250) async throws
        -> FakeGoogleCalendar
    {
        let fake = FakeGoogleCalendar(pageSize: pageSize)
        fake.state.withLock { state in
            for token in refreshTokens { state.refreshTokens[token] = Grant() }
        }
        fake.server = try await FakeServer { router, _ in fake.routes(router) }
        return fake
    }

    public func stop() { server.stop() }

    // MARK: - Changing the calendar

    /// A calendar of its own zone, which pages of its events name.
    public func addCalendar(_ calendarID: String, timeZone: String) {
        state.withLock { $0.calendars[calendarID] = StoredCalendar(timeZone: timeZone) }
    }

    /// Adds or replaces an event (a new revision: it shows up in the next incremental sync),
    /// making its calendar if there is none.
    public func put(_ event: Event, calendarID: String = "primary") {
        var event = event
        event.updated = Self.rfc3339(Date())
        let revision = Self.stored(event, calendarID: calendarID)
        state.withLock { state in
            state.changeCounter += 1
            if state.calendars[calendarID] == nil {
                state.calendars[calendarID] = StoredCalendar(timeZone: Self.defaultTimeZone)
            }
            if state.events[event.id]?.calendarID != calendarID { state.calendars[calendarID]?.eventIDs.append(event.id) }
            var stored = revision
            stored.changedAt = state.changeCounter
            state.events[event.id] = stored
        }
    }

    /// Deletes an event: it stays as `cancelled`, which is how Google reports deletions.
    public func delete(_ id: String) {
        revise(id) { event, deleted in
            event.status = "cancelled"
            deleted = true
        }
    }

    /// Changes an event in place (a new revision).
    public func change(_ id: String, _ edit: (inout Event) -> Void) {
        revise(id) { event, _ in edit(&event) }
    }

    /// The event as stored now.
    public func event(_ id: String) -> Event? {
        guard let json = state.withLock({ $0.events[id]?.json }) else { return nil }
        return try? JSONDecoder().decode(Event.self, from: Data(json))
    }

    /// Stores a new revision of a stored event: `edit` changes the event and whether it is deleted.
    private func revise(_ id: String, _ edit: (inout Event, inout Bool) -> Void) {
        state.withLock { state in
            guard let stored = state.events[id], var event = try? JSONDecoder().decode(Event.self, from: Data(stored.json))
            else { return }
            var deleted = stored.deleted
            edit(&event, &deleted)
            state.changeCounter += 1
            var revision = Self.stored(event, calendarID: stored.calendarID)
            revision.changedAt = state.changeCounter
            revision.deleted = deleted
            if deleted { revision.tombstoneJSON = Self.render(event.tombstone) }
            state.events[id] = revision
        }
    }

    private static func stored(_ event: Event, calendarID: String) -> Stored {
        Stored(
            calendarID: calendarID, json: render(event), start: bounds(event.start), end: bounds(event.end), changedAt: 0)
    }

    /// Lets `refreshToken` refresh, and `accessToken` (already issued) read until `expiresAt`,
    /// the calendars named (nil: every calendar).
    public func grant(refreshToken: String, accessToken: String? = nil, expiresAt: Date? = nil, calendars: Set<String>? = nil) {
        state.withLock { state in
            state.refreshTokens[refreshToken] = Grant(calendars: calendars)
            if let accessToken {
                state.accessTokens[accessToken] = Grant(calendars: calendars, expiresAt: expiresAt ?? .distantFuture)
            }
        }
    }

    /// Every sync token issued so far answers 410 from now on.
    public func invalidateSyncTokens() { state.withLock { $0.syncTokensValidFrom = $0.changeCounter + 1 } }
    /// Every access token issued so far answers 401 from now on.
    public func expireAccessTokens() { state.withLock { $0.accessTokens.removeAll() } }
    public func revoke(refreshToken: String) { _ = state.withLock { $0.refreshTokens.removeValue(forKey: refreshToken) } }
    public func failNextList(_ failures: Failure...) { state.withLock { $0.failures += failures } }
    public func failNextWatch(times: Int = 1) { state.withLock { $0.watchFailures += times } }
    public func setPageSize(_ size: Int) { state.withLock { $0.pageSize = size } }
    public func setChannelTTLCap(seconds: Int) { state.withLock { $0.channelTTLCap = seconds } }

    /// The query of every authorised listing, oldest first.
    public var listQueries: [[String: String]] { state.withLock { $0.listQueries } }
    public var listTimes: [ContinuousClock.Instant] { state.withLock { $0.listTimes } }
    public var tokenRequests: Int { state.withLock { $0.counts.tokenRequests } }
    public var channels: [Channel] { state.withLock { $0.channels } }
    public var counts: Counts { state.withLock { $0.counts } }

    // MARK: - Routes

    private func routes(_ router: Router<BasicRequestContext>) {
        router.post("/token") { request, _ -> Response in
            let body = String(decoding: try await request.body.collect(upTo: 1 << 16).readableBytesView, as: UTF8.self)
            return self.token(formFields(body))
        }
        router.get("/calendar/v3/calendars/:calendarID/events") { request, context -> Response in
            let started = ContinuousClock.now
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let calendarID = context.parameters.get("calendarID")?.removingPercentEncoding ?? ""
            let response = self.list(calendarID, query, authorization: request.headers[.authorization])
            let elapsed = (ContinuousClock.now - started).components
            self.state.withLock {
                $0.counts.handlerSeconds += Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            }
            return response
        }
        router.post("/calendar/v3/calendars/:calendarID/events/watch") { request, context -> Response in
            guard self.grant(for: request.headers[.authorization]) != nil else { return Self.unauthorised() }
            let calendarID = context.parameters.get("calendarID")?.removingPercentEncoding ?? ""
            let body = try await request.body.collect(upTo: 1 << 16)
            return self.watch(calendarID, Data(body.readableBytesView))
        }
        router.post("/calendar/v3/channels/stop") { request, _ -> Response in
            guard self.grant(for: request.headers[.authorization]) != nil else { return Self.unauthorised() }
            let body = try await request.body.collect(upTo: 1 << 16)
            return self.stopChannel(Data(body.readableBytesView))
        }
    }

    private func token(_ form: [String: String]) -> Response {
        state.withLock { state in
            state.counts.tokenRequests += 1
            guard form["client_id"] == Self.clientID, form["client_secret"] == Self.clientSecret else {
                return Self.json(401, #"{"error": "invalid_client", "error_description": "The OAuth client was not found."}"#)
            }
            guard form["grant_type"] == "refresh_token" else {
                return Self.json(400, #"{"error": "unsupported_grant_type"}"#)
            }
            guard let refresh = form["refresh_token"], let grant = state.refreshTokens[refresh] else {
                return Self.json(400, #"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#)
            }
            state.nextNumber += 1
            let access = "ya29.fake-\(state.nextNumber)-\(UUID().uuidString.prefix(8))"
            state.accessTokens[access] = Grant(
                calendars: grant.calendars, expiresAt: Date().addingTimeInterval(Double(state.accessTokenLifetime)))
            return Self.json(
                200,
                #"{"access_token": "\#(access)", "expires_in": \#(state.accessTokenLifetime), "scope": "https://www.googleapis.com/auth/calendar.readonly", "token_type": "Bearer"}"#
            )
        }
    }

    /// What a live `Authorization: Bearer` token may read; nil when there is none.
    private func grant(for authorization: String?) -> Grant? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let token = String(authorization.dropFirst("Bearer ".count))
        return state.withLock { state in
            guard let grant = state.accessTokens[token], grant.expiresAt > Date() else { return nil }
            return grant
        }
    }

    private func list(_ calendarID: String, _ query: [String: String], authorization: String?) -> Response {
        guard let grant = grant(for: authorization) else {
            state.withLock { $0.counts.rejected += 1 }
            return Self.unauthorised()
        }
        let outcome = state.withLock { state in
            state.listQueries.append(query)
            state.listTimes.append(.now)
            let outcome = Self.list(calendarID, query, grant: grant, state: &state)
            switch outcome {
            case .success(let page):
                state.counts.pages += 1
                state.counts.eventsServed += page.items.count
            case .failure(.gone):
                state.counts.gone += 1
            case .failure(.rejected):
                state.counts.rejected += 1
            case .failure(.scripted):
                break
            }
            return outcome
        }
        switch outcome {
        case .success(let page): return page.response
        case .failure(let refusal): return refusal.response
        }
    }

    /// A listing refused: what to answer, and how the counts see it.
    enum ListRefusal: Error {
        case gone(Response)
        case rejected(Response)
        case scripted(Response)

        var response: Response {
            switch self {
            case .gone(let response), .rejected(let response), .scripted(let response): response
            }
        }
    }

    /// One page of `events.list`.
    struct Page: Sendable {
        var calendarID: String
        var timeZone: String
        var items: [[UInt8]] = []
        var nextPageToken: String?
        var nextSyncToken: String?

        /// The page as JSON, its items copied in as rendered.
        var response: Response {
            var buffer = ByteBufferAllocator().buffer(capacity: items.reduce(400) { $0 + $1.count + 1 })
            buffer.writeString(
                #"{"kind":"calendar#events","summary":\#(jsonString(calendarID)),"timeZone":\#(jsonString(timeZone)),"accessRole":"owner","defaultReminders":[{"method":"popup","minutes":10}],"#
            )
            if let nextPageToken { buffer.writeString(#""nextPageToken":\#(jsonString(nextPageToken)),"#) }
            if let nextSyncToken { buffer.writeString(#""nextSyncToken":\#(jsonString(nextSyncToken)),"#) }
            buffer.writeString(#""items":["#)
            for (number, item) in items.enumerated() {
                if number > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeBytes(item)
            }
            buffer.writeString("]}")
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=UTF-8"], body: .init(byteBuffer: buffer))
        }
    }

    private static func list(
        _ calendarID: String, _ query: [String: String], grant: Grant, state: inout State
    ) -> Result<Page, ListRefusal> {
        if !state.failures.isEmpty {
            switch state.failures.removeFirst() {
            case .tooManyRequests(let retryAfter):
                var response = error(429, domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded")
                if let retryAfter { response.headers[.retryAfter] = retryAfter }
                return .failure(.scripted(response))
            case .rateLimitExceeded403:
                return .failure(
                    .scripted(error(403, domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded")))
            case .serverError:
                return .failure(.scripted(error(500, domain: "global", reason: "backendError", message: "Backend Error")))
            }
        }
        guard let calendar = state.calendars[calendarID], grant.calendars?.contains(calendarID) ?? true else {
            return .failure(.rejected(error(404, domain: "global", reason: "notFound", message: "Not Found")))
        }
        guard query["singleEvents"] == "true" else {
            return .failure(
                .rejected(
                    error(
                        400, domain: "global", reason: "invalid",
                        message: "this fake serves expanded instances only (singleEvents=true)")))
        }
        var page = Page(calendarID: calendarID, timeZone: calendar.timeZone)
        // Paging: "perform the exact same request as previously and append a pageToken".
        if let pageToken = query["pageToken"] {
            var signature = query
            signature["pageToken"] = nil
            guard var pending = state.pages[pageToken], pending.signature == signature else {
                return .failure(
                    .rejected(
                        error(
                            400, domain: "global", reason: "invalid", message: "Invalid page token value or changed parameters."))
                )
            }
            state.pages[pageToken] = nil
            page.items = pending.remaining.removeFirst()
            continuePaging(pending, into: &page, state: &state)
            return .success(page)
        }
        // An event put into another calendar since is that calendar's now.
        let stored = calendar.eventIDs.compactMap { state.events[$0] }.filter { $0.calendarID == calendarID }
        let results: [[UInt8]]
        if let syncToken = query["syncToken"] {
            let restricted = [
                "timeMin", "timeMax", "orderBy", "q", "iCalUID", "updatedMin", "privateExtendedProperty",
                "sharedExtendedProperty",
            ]
            if restricted.contains(where: { query[$0] != nil }) || query["showDeleted"] == "false" {
                return .failure(
                    .rejected(
                        error(
                            400, domain: "calendar", reason: "syncTokenWithRequestRestrictions",
                            message: "Sync token cannot be used with other request restrictions.")))
            }
            guard syncToken.hasPrefix("sync-"), let since = Int(syncToken.dropFirst(5)) else {
                return .failure(.rejected(error(400, domain: "global", reason: "invalid", message: "Invalid sync token value.")))
            }
            guard since >= state.syncTokensValidFrom, since <= state.changeCounter else {
                return .failure(
                    .gone(
                        error(
                            410, domain: "calendar", reason: "fullSyncRequired",
                            message: "Sync token is no longer valid, a full sync is required.")))
            }
            state.counts.incrementalListings += 1
            results = stored.filter { $0.changedAt > since }.map { $0.deleted ? $0.tombstoneJSON ?? $0.json : $0.json }
        } else {
            var limits: [String: Date] = [:]
            for name in ["timeMin", "timeMax"] {
                guard let text = query[name] else { continue }
                guard let limit = parse(text) else {
                    return .failure(
                        .rejected(error(400, domain: "global", reason: "invalidParameter", message: "Invalid value for: \(name)"))
                    )
                }
                limits[name] = limit
            }
            let showDeleted = query["showDeleted"] == "true"
            state.counts.fullListings += 1
            results =
                stored
                .filter { showDeleted || !$0.deleted }
                .filter { stored in
                    guard let start = stored.start, let end = stored.end else { return false }
                    // timeMin bounds the end (exclusive), timeMax the start (exclusive).
                    return (limits["timeMin"].map { end > $0 } ?? true) && (limits["timeMax"].map { start < $0 } ?? true)
                }
                .map(\.json)
        }
        let size = max(1, min(Int(query["maxResults"] ?? "250") ?? 250, state.pageSize))
        var chunks = stride(from: 0, to: results.count, by: size).map { Array(results[$0..<min($0 + size, results.count)]) }
        if chunks.isEmpty { chunks = [[]] }
        page.items = chunks.removeFirst()
        continuePaging(
            PendingPages(signature: query, remaining: chunks, syncToken: "sync-\(state.changeCounter)"), into: &page,
            state: &state)
        return .success(page)
    }

    /// Ends a page with the sync token after the last page, or a page token for the rest.
    private static func continuePaging(_ pending: PendingPages, into page: inout Page, state: inout State) {
        if pending.remaining.isEmpty {
            page.nextSyncToken = pending.syncToken
        } else {
            let token = "page-" + UUID().uuidString.prefix(12).lowercased() + "/+="
            state.pages[token] = pending
            page.nextPageToken = token
        }
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
            guard
                let index = state.channels.firstIndex(where: {
                    $0.id == request.id && $0.resourceID == request.resourceId && !$0.stopped
                })
            else {
                return Self.error(
                    404, domain: "global", reason: "notFound", message: "Channel '\(request.id)' not found for project")
            }
            state.channels[index].stopped = true
            return Response(status: .noContent)
        }
    }

    // MARK: - Helpers

    static func render(_ event: Event) -> [UInt8] {
        Array((try? JSONEncoder().encode(event)) ?? Data())
    }

    /// Where an event's time lies, for filtering by timeMin and timeMax.
    static func bounds(_ time: Event.Time?) -> Date? {
        if let dateTime = time?.dateTime { return parse(dateTime) }
        if let day = time?.date { return parse(day + "T00:00:00Z") }  // good enough for filtering tests
        return nil
    }

    /// RFC 3339 as the provider writes it (`2026-01-05T10:00:00Z`, perhaps with fractions or an offset).
    static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
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
