import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Synchronization
import TestSupport

@testable import CalendarMonitor

/// A local Microsoft Graph (calendar view delta) and Microsoft identity platform v2.0 token
/// endpoint, following the documented contract:
///
/// - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=refresh_token`: client id and secret
///   checked; a new access token (`expires_in` 3599) and a rotated refresh token (the old one
///   stays valid, as Microsoft documents); a revoked grant answers 400 `invalid_grant` with an
///   AADSTS description, `error_codes`, `timestamp`, `trace_id` and `correlation_id`.
/// - `GET /v1.0/me/calendarView/delta`: a bearer token that is unknown or expired answers 401
///   `InvalidAuthenticationToken`; the initial request needs `startDateTime` and `endDateTime`;
///   `Prefer: odata.maxpagesize=N` caps each page (10 without it); `Prefer: outlook.timezone`
///   picks the zone of `start`/`end` (UTC without it). Pages link on with `@odata.nextLink`
///   (an opaque `$skiptoken`) and a round ends with `@odata.deltaLink` (an opaque
///   `$deltatoken`). A delta round returns what changed since its token: changed events in the
///   window in full, deleted ones and ones changed outside the window as
///   `{"id", "@removed": {"reason": "deleted"}}`. An unknown token answers 410 Gone with a
///   `Location` to start over.
/// - Throttling on demand: 429 (or 503) with `Retry-After`.
///
/// Events are instances (single events, occurrences, exceptions), as a calendar view holds
/// them. Tests change them between syncs; every request is recorded.
final class FakeMicrosoftGraph: Sendable {
    struct Person: Sendable, Equatable {
        var name: String
        var address: String
    }

    struct Invitee: Sendable, Equatable {
        var person: Person
        /// none, organizer, tentativelyAccepted, accepted, declined, notResponded
        var response = "none"
        /// required, optional, resource
        var type = "required"
    }

    struct Event: Sendable, Equatable {
        var id: String
        var subject: String
        var bodyHTML = ""
        var location: String?
        var start: Date
        var end: Date
        /// All-day events are stored at UTC midnight and served as dates (midnight, any zone).
        var isAllDay = false
        var isCancelled = false
        var showAs = "busy"
        var organizer = Person(name: "Alex Rivera", address: "alex@example.com")
        var attendees: [Invitee] = []
        var joinURL: String?
        /// singleInstance, occurrence, exception
        var type = "singleInstance"
        var seriesMasterID: String?
    }

    struct RecordedRequest: Sendable {
        var method: String
        var path: String
        /// Lower-cased names, percent-decoded values.
        var query: [String: String]
        var authorization: String?
        /// Every preference of every Prefer header, e.g. `odata.maxpagesize=3`.
        var preferences: [String]
        var form: [String: String]
        var status: Int
        /// Entries in the page served (delta requests).
        var served: Int
    }

    static let clientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
    static let clientSecret = "fake~client~secret"

    private let backend: Backend
    private let server: FakeServer

    var graphURL: String { server.url + "/v1.0" }
    var tokenURL: String { server.url + "/common/oauth2/v2.0/token" }

    private init(server: FakeServer, backend: Backend) {
        self.server = server
        self.backend = backend
    }

    static func start() async throws -> FakeMicrosoftGraph {
        let backend = Backend()
        let server = try await FakeServer { router, _ in backend.register(in: router) }
        backend.state.withLock { $0.baseURL = server.url }
        return FakeMicrosoftGraph(server: server, backend: backend)
    }

    func stop() { server.stop() }

    /// An OAuth client for this fake, asking for the scopes the provider documents.
    func oauth(http: HTTPClient) -> OAuthClient {
        OAuthClient(
            tokenURL: tokenURL, clientID: Self.clientID, clientSecret: Self.clientSecret,
            scope: MicrosoftGraphProvider.scope(graphURL: graphURL), http: http)
    }

    /// Credentials as a consent would leave them: a refresh token and an access token valid
    /// for `accessTokenLifetime` (the client is told the same).
    func credentials(accessTokenLifetime: TimeInterval = 3600) -> ConnectionCredentials {
        let refresh = Self.opaqueToken(prefix: "M.C5")
        let access = Self.opaqueToken(prefix: "eyJ0")
        let expiry = Date().addingTimeInterval(accessTokenLifetime)
        backend.state.withLock {
            $0.refreshTokens.insert(refresh)
            $0.accessTokens[access] = expiry
        }
        return ConnectionCredentials(refreshToken: refresh, accessToken: access, accessTokenExpiresAt: expiry)
    }

    /// Creates or replaces events (a change the next delta round reports).
    func put(_ events: Event...) {
        backend.state.withLock { state in
            for event in events {
                if state.events[event.id] == nil { state.order.append(event.id) }
                state.events[event.id] = event
                state.sequence += 1
                state.changedAt[event.id] = state.sequence
            }
        }
    }

    func delete(_ ids: String...) {
        backend.state.withLock { state in
            for id in ids {
                state.events[id] = nil
                state.order.removeAll { $0 == id }
                state.sequence += 1
                state.changedAt[id] = state.sequence
            }
        }
    }

    func event(_ id: String) -> Event? { backend.state.withLock { $0.events[id] } }

    /// Drops every delta and skip token, as Exchange does when its token cache overflows.
    func forgetSyncState() {
        backend.state.withLock {
            $0.deltaTokens.removeAll()
            $0.skipTokens.removeAll()
        }
    }

    /// Access tokens stop working before the expiry the client was told (revoked, or a clock
    /// that runs ahead).
    func expireAccessTokens() {
        backend.state.withLock { state in
            for token in state.accessTokens.keys { state.accessTokens[token] = .distantPast }
        }
    }

    /// The owner withdrew consent or changed their password: every refresh token is refused.
    func revokeRefreshTokens() {
        backend.state.withLock { $0.revokedRefreshTokens.formUnion($0.refreshTokens) }
    }

    /// The next `count` Graph requests are throttled.
    func throttle(next count: Int, status: Int = 429, retryAfter: String?) {
        backend.state.withLock { $0.throttle = Throttle(remaining: count, status: status, retryAfter: retryAfter) }
    }

    /// Next and delta links point at `origin` instead of this server (a misbehaving Graph).
    func sendLinks(toOrigin origin: String?) {
        backend.state.withLock { $0.linkOrigin = origin }
    }

    var requests: [RecordedRequest] { backend.state.withLock { $0.requests } }
    var deltaRequests: [RecordedRequest] { requests.filter { $0.path.hasSuffix("/delta") } }
    var tokenRequests: [RecordedRequest] { requests.filter { $0.path.hasSuffix("/token") } }
    func clearRequests() { backend.state.withLock { $0.requests.removeAll() } }

    static func opaqueToken(prefix: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return prefix + String((0..<40).map { _ in alphabet.randomElement()! })
    }

    // MARK: - Server side

    struct Throttle: Sendable {
        var remaining: Int
        var status: Int
        var retryAfter: String?
    }

    struct DeltaState: Sendable {
        var windowStart: Date
        var windowEnd: Date
        var sequence: Int
    }

    enum Entry: Sendable {
        case event(Event)
        case removed(String)
    }

    /// A round being paged through: its entries, fixed when it began, and where it ends.
    struct Round: Sendable {
        var entries: [Entry]
        var offset: Int
        var end: DeltaState
    }

    struct State: Sendable {
        var baseURL = ""
        var linkOrigin: String?
        var events: [String: Event] = [:]
        var order: [String] = []
        var changedAt: [String: Int] = [:]
        var sequence = 0
        var deltaTokens: [String: DeltaState] = [:]
        var skipTokens: [String: Round] = [:]
        var accessTokens: [String: Date] = [:]
        var refreshTokens: Set<String> = []
        var revokedRefreshTokens: Set<String> = []
        var throttle: Throttle?
        var requests: [RecordedRequest] = []
    }

    final class Backend: Sendable {
        let state = Mutex(State())

        func register(in router: Router<BasicRequestContext>) {
            router.post("/:tenant/oauth2/v2.0/token") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                return self.token(request, form: formFields(String(buffer: body)))
            }
            router.get("/v1.0/me/calendarView/delta") { request, _ -> Response in
                self.delta(request)
            }
        }

        private func record(_ request: Request, form: [String: String] = [:], status: Int, served: Int = 0) {
            let preferences = request.headers[values: HTTPField.Name("Prefer")!]
                .flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let recorded = RecordedRequest(
                method: request.method.rawValue, path: request.uri.path, query: FakeMicrosoftGraph.query(request.uri.query),
                authorization: request.headers[.authorization], preferences: preferences, form: form, status: status,
                served: served)
            state.withLock { $0.requests.append(recorded) }
        }

        // MARK: Token endpoint

        private func token(_ request: Request, form: [String: String]) -> Response {
            let response = issueToken(form)
            record(request, form: form, status: Int(response.status.code))
            return response
        }

        private func issueToken(_ form: [String: String]) -> Response {
            guard form["grant_type"] == "refresh_token" else {
                return Self.tokenError(
                    400, "unsupported_grant_type", code: 70003,
                    "The app requested an unsupported grant type '\(form["grant_type"] ?? "")'.")
            }
            guard form["client_id"] == FakeMicrosoftGraph.clientID else {
                return Self.tokenError(
                    400, "unauthorized_client", code: 700016,
                    "Application with identifier '\(form["client_id"] ?? "")' was not found in the directory 'Contoso'.")
            }
            guard form["client_secret"] == FakeMicrosoftGraph.clientSecret else {
                return Self.tokenError(
                    401, "invalid_client", code: 7_000_215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
                )
            }
            guard let refreshToken = form["refresh_token"] else {
                return Self.tokenError(
                    400, "invalid_request", code: 900144,
                    "The request body must contain the following parameter: 'refresh_token'.")
            }
            return state.withLock { state -> Response in
                if state.revokedRefreshTokens.contains(refreshToken) {
                    return Self.tokenError(
                        400, "invalid_grant", code: 50173,
                        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '2026-11-02T09:12:44.000Z' and the TokensValidFrom date (before which tokens are not valid) for this user is '2026-12-09T08:00:00.000Z'."
                    )
                }
                guard state.refreshTokens.contains(refreshToken) else {
                    return Self.tokenError(
                        400, "invalid_grant", code: 9_002_313, "Invalid request. Request is malformed or invalid.")
                }
                let access = FakeMicrosoftGraph.opaqueToken(prefix: "eyJ0")
                let rotated = FakeMicrosoftGraph.opaqueToken(prefix: "M.C5")
                state.accessTokens[access] = Date().addingTimeInterval(3599)
                state.refreshTokens.insert(rotated)
                let scope = (form["scope"] ?? "").split(separator: " ").filter { $0 != "offline_access" }.joined(separator: " ")
                return Self.json(
                    200,
                    [
                        "token_type": "Bearer", "scope": scope, "expires_in": 3599, "ext_expires_in": 3599,
                        "access_token": access, "refresh_token": rotated,
                    ])
            }
        }

        /// The v2.0 endpoint's error body.
        static func tokenError(_ status: Int, _ error: String, code: Int, _ message: String) -> Response {
            let trace = UUID().uuidString.lowercased()
            let correlation = UUID().uuidString.lowercased()
            let timestamp = Date().formatted(.iso8601).replacingOccurrences(of: "T", with: " ")
            return json(
                status,
                [
                    "error": error,
                    "error_description":
                        "AADSTS\(code): \(message)\r\nTrace ID: \(trace)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(timestamp)",
                    "error_codes": [code], "timestamp": timestamp, "trace_id": trace, "correlation_id": correlation,
                    "error_uri": "https://login.microsoftonline.com/error?code=\(code)",
                ])
        }

        // MARK: Calendar view delta

        private func delta(_ request: Request) -> Response {
            let (response, served) = serveDelta(request)
            record(request, status: Int(response.status.code), served: served)
            return response
        }

        private func serveDelta(_ request: Request) -> (Response, Int) {
            let query = FakeMicrosoftGraph.query(request.uri.query)
            let preferences = request.headers[values: HTTPField.Name("Prefer")!]
                .flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let pageSize =
                preferences.lazy.compactMap { preference -> Int? in
                    guard preference.lowercased().hasPrefix("odata.maxpagesize=") else { return nil }
                    return Int(preference.dropFirst("odata.maxpagesize=".count))
                }.first.map { max(1, $0) } ?? 10
            let zoneName =
                preferences.lazy.compactMap { preference -> String? in
                    guard preference.lowercased().hasPrefix("outlook.timezone=") else { return nil }
                    return preference.dropFirst("outlook.timezone=".count).trimmingCharacters(
                        in: CharacterSet(charactersIn: "\""))
                }.first ?? "UTC"

            return state.withLock { state -> (Response, Int) in
                if var throttle = state.throttle, throttle.remaining > 0 {
                    throttle.remaining -= 1
                    state.throttle = throttle
                    var headers = HTTPFields()
                    if let retryAfter = throttle.retryAfter { headers[.retryAfter] = retryAfter }
                    return (
                        Self.graphError(
                            throttle.status, throttle.status == 429 ? "ApplicationThrottled" : "ServiceUnavailable",
                            "Application is over its MailboxConcurrency limit.", headers: headers), 0
                    )
                }

                guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
                    case let token = String(authorization.dropFirst("Bearer ".count)), !token.isEmpty
                else {
                    return (Self.unauthorized("Access token is empty."), 0)
                }
                guard let expiry = state.accessTokens[token] else {
                    return (Self.unauthorized("IDX14100: JWT is not well formed, there are no dots (.)."), 0)
                }
                guard expiry > Date() else {
                    return (Self.unauthorized("Lifetime validation failed, the token is expired."), 0)
                }

                var round: Round
                if let skipToken = query["$skiptoken"] {
                    guard let pending = state.skipTokens[skipToken] else { return (Self.gone(state), 0) }
                    round = pending
                } else if let deltaToken = query["$deltatoken"] {
                    guard let since = state.deltaTokens[deltaToken] else { return (Self.gone(state), 0) }
                    round = Self.changes(since: since, in: state)
                } else {
                    guard let start = query["startdatetime"].flatMap(FakeMicrosoftGraph.parseDate),
                        let end = query["enddatetime"].flatMap(FakeMicrosoftGraph.parseDate), start < end
                    else {
                        return (
                            Self.graphError(
                                400, "ErrorInvalidParameter",
                                "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
                            ),
                            0
                        )
                    }
                    let window = DeltaState(windowStart: start, windowEnd: end, sequence: state.sequence)
                    let entries = state.order.compactMap { state.events[$0] }.filter { Self.overlaps($0, window) }.map(
                        Entry.event)
                    round = Round(entries: entries, offset: 0, end: window)
                }

                let page = Array(round.entries[round.offset..<min(round.offset + pageSize, round.entries.count)])
                let linkBase = (state.linkOrigin ?? state.baseURL) + "/v1.0/me/calendarView/delta"
                var body: [String: Any] = [
                    "@odata.context": state.baseURL + "/v1.0/$metadata#Collection(event)",
                    "value": page.map { entry -> [String: Any] in
                        switch entry {
                        case .event(let event): Self.render(event, zoneName: zoneName)
                        case .removed(let id):
                            ["@odata.type": "#microsoft.graph.event", "id": id, "@removed": ["reason": "deleted"]]
                        }
                    },
                ]
                if round.offset + page.count < round.entries.count {
                    round.offset += page.count
                    let skipToken = FakeMicrosoftGraph.opaqueToken(prefix: "R0usm")
                    state.skipTokens[skipToken] = round
                    body["@odata.nextLink"] = "\(linkBase)?$skiptoken=\(skipToken)"
                } else {
                    let deltaToken = FakeMicrosoftGraph.opaqueToken(prefix: "R0usmc")
                    state.deltaTokens[deltaToken] = round.end
                    body["@odata.deltaLink"] = "\(linkBase)?$deltatoken=\(deltaToken)"
                }
                return (Self.json(200, body), page.count)
            }
        }

        /// Everything changed since `since`, oldest change first: events in the window in full,
        /// deleted ones and ones now outside the window as removed.
        static func changes(since: DeltaState, in state: State) -> Round {
            let changed = state.changedAt.filter { $0.value > since.sequence }.sorted { $0.value < $1.value }.map(\.key)
            let entries = changed.map { id -> Entry in
                guard let event = state.events[id], overlaps(event, since) else { return .removed(id) }
                return .event(event)
            }
            var end = since
            end.sequence = state.sequence
            return Round(entries: entries, offset: 0, end: end)
        }

        static func overlaps(_ event: Event, _ window: DeltaState) -> Bool {
            event.end > window.windowStart && event.start < window.windowEnd
        }

        static func render(_ event: Event, zoneName: String) -> [String: Any] {
            let zone = MicrosoftGraphProvider.timeZone(named: zoneName) ?? .gmt
            func dateTime(_ date: Date) -> [String: Any] {
                ["dateTime": FakeMicrosoftGraph.format(date, in: event.isAllDay ? .gmt : zone), "timeZone": zoneName]
            }
            let preview = MicrosoftGraphProvider.plainText(fromHTML: event.bodyHTML)
            return [
                "@odata.type": "#microsoft.graph.event",
                "@odata.etag": "W/\"\(abs(event.subject.hashValue))\"",
                "id": event.id,
                "iCalUId": "040000008200E00074C5B7101A82E008" + event.id.utf8.map { String(format: "%02X", $0) }.joined(),
                "type": event.type,
                "seriesMasterId": event.seriesMasterID ?? NSNull(),
                "subject": event.subject,
                "bodyPreview": String(preview.prefix(255)),
                "body": ["contentType": "html", "content": event.bodyHTML],
                "start": dateTime(event.start),
                "end": dateTime(event.end),
                "originalStartTimeZone": "W. Europe Standard Time",
                "originalEndTimeZone": "W. Europe Standard Time",
                "isAllDay": event.isAllDay,
                "isCancelled": event.isCancelled,
                "showAs": event.showAs,
                "location": ["displayName": event.location ?? "", "locationType": "default"],
                "locations": event.location.map { [["displayName": $0, "locationType": "default"]] } ?? [],
                "organizer": ["emailAddress": ["name": event.organizer.name, "address": event.organizer.address]],
                "attendees": event.attendees.map { invitee -> [String: Any] in
                    [
                        "type": invitee.type,
                        "status": ["response": invitee.response, "time": "0001-01-01T00:00:00Z"],
                        "emailAddress": ["name": invitee.person.name, "address": invitee.person.address],
                    ]
                },
                "isOnlineMeeting": event.joinURL != nil,
                "onlineMeetingProvider": event.joinURL != nil ? "teamsForBusiness" : "unknown",
                "onlineMeeting": event.joinURL.map { ["joinUrl": $0] as [String: Any] } ?? NSNull(),
                "onlineMeetingUrl": NSNull(),
            ]
        }

        static func unauthorized(_ message: String) -> Response {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] =
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""
            return graphError(401, "InvalidAuthenticationToken", message, headers: headers)
        }

        static func gone(_ state: State) -> Response {
            var headers = HTTPFields()
            headers[.location] = state.baseURL + "/v1.0/me/calendarView/delta?$deltatoken="
            return graphError(
                410, "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
                headers: headers)
        }

        static func graphError(_ status: Int, _ code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
            json(
                status,
                [
                    "error": [
                        "code": code, "message": message,
                        "innerError": [
                            "date": Date().formatted(.iso8601), "request-id": UUID().uuidString.lowercased(),
                            "client-request-id": UUID().uuidString.lowercased(),
                        ],
                    ]
                ], headers: headers)
        }

        static func json(_ status: Int, _ object: [String: Any], headers: HTTPFields = [:]) -> Response {
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            var headers = headers
            headers[.contentType] =
                "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    // MARK: - Wire helpers

    /// A query string with lower-cased names (Graph's are case-insensitive).
    static func query(_ text: String?) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = (String(parts[0]).removingPercentEncoding ?? String(parts[0])).lowercased()
            fields[name] = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        }
        return fields
    }

    /// ISO 8601 with a `Z` or an offset, or without one (then UTC), as Graph accepts.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        guard let local = MicrosoftGraphProvider.LocalDateTime(text) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar.date(
            from: DateComponents(
                year: local.year, month: local.month, day: local.day, hour: local.hour, minute: local.minute,
                second: local.second))
    }

    /// `2026-12-09T10:00:00.0000000`, Graph's seven fractional digits, in `zone`.
    static func format(_ date: Date, in zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.0000000", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
