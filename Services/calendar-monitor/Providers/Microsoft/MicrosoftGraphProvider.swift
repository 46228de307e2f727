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
        let resource = URLComponents(string: graphURL).flatMap { components -> String? in
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

        let location = nonEmpty(event.location?.displayName)
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
        let conferenceURL = ConferenceLink.find(in: meetingLinks + textCandidates)
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

    // MARK: - Dates

    /// A `dateTimeTimeZone`: `2026-12-09T10:00:00.0000000` in the named zone (UTC, an IANA or a
    /// Windows name). All-day values are dates, read at midnight in `defaultTimeZone`.
    static func date(from value: GraphDateTime?, isAllDay: Bool, defaultTimeZone: TimeZone) -> Date? {
        guard let value, let local = LocalDateTime(value.dateTime) else { return nil }
        let zone: TimeZone
        if isAllDay {
            zone = defaultTimeZone
        } else if let offset = local.utcOffset {
            zone = TimeZone(secondsFromGMT: offset) ?? .gmt
        } else {
            zone = timeZone(named: value.timeZone) ?? defaultTimeZone
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var components = DateComponents(year: local.year, month: local.month, day: local.day)
        if isAllDay {
            components.hour = 0
            components.minute = 0
            components.second = 0
        } else {
            components.hour = local.hour
            components.minute = local.minute
            components.second = local.second
            components.nanosecond = local.nanosecond
        }
        return calendar.date(from: components)
    }

    static func timeZone(named name: String?) -> TimeZone? {
        guard let name = name?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { return .gmt }
        let lowered = name.lowercased()
        // Graph also writes "tzone://Microsoft/Utc" for UTC.
        if ["utc", "gmt", "z", "etc/utc"].contains(lowered) || lowered.hasSuffix("/utc") { return .gmt }
        return WindowsTimeZones.timeZone(forTZID: name)
    }

    /// `YYYY-MM-DD[THH:MM[:SS[.fffffff]]][Z|±HH:MM]`, checked field by field.
    struct LocalDateTime: Equatable {
        var year, month, day: Int
        var hour = 0, minute = 0, second = 0, nanosecond = 0
        var utcOffset: Int?

        init?(_ text: String) {
            let text = text.trimmingCharacters(in: .whitespaces)
            let parts = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
            let dateFields = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard dateFields.count == 3, dateFields[0].count == 4, dateFields[1].count == 2, dateFields[2].count == 2,
                let year = Int(dateFields[0]), let month = Int(dateFields[1]), let day = Int(dateFields[2]),
                (1...12).contains(month), (1...31).contains(day)
            else { return nil }
            (self.year, self.month, self.day) = (year, month, day)
            guard parts.count == 2 else { return }

            var time = Substring(parts[1])
            if time.hasSuffix("Z") || time.hasSuffix("z") {
                utcOffset = 0
                time = time.dropLast()
            } else if let signIndex = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
                let offset = time[time.index(after: signIndex)...].split(separator: ":")
                guard offset.count == 2, let hours = Int(offset[0]), let minutes = Int(offset[1]) else { return nil }
                utcOffset = (time[signIndex] == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
                time = time[..<signIndex]
            }
            let clock = time.split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), let hour = Int(clock[0]), let minute = Int(clock[1]),
                (0...23).contains(hour), (0...59).contains(minute)
            else { return nil }
            (self.hour, self.minute) = (hour, minute)
            if clock.count == 3 {
                let secondParts = clock[2].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                guard let second = Int(secondParts[0]), (0...60).contains(second) else { return nil }
                self.second = min(second, 59)
                if secondParts.count == 2 {
                    let digits = secondParts[1].prefix(9)
                    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                        let fraction = Int(digits)
                    else { return nil }
                    nanosecond = fraction * Int(pow(10, Double(9 - digits.count)))
                }
            }
        }
    }

    // MARK: - HTML bodies

    /// Readable text from an HTML body: block ends and `<br>` become line breaks, a link keeps
    /// its address (`Join <https://…>`, as Outlook's own text rendering does), entities are decoded.
    static func plainText(fromHTML html: String) -> String {
        func replacing(_ pattern: String, with template: String, in text: String) -> String {
            text.replacingOccurrences(of: pattern, with: template, options: [.regularExpression, .caseInsensitive])
        }
        var text = html
        text = replacing("<!--[\\s\\S]*?-->", with: "", in: text)
        text = replacing("<(head|style|script|title)\\b[\\s\\S]*?</\\1\\s*>", with: "", in: text)
        text = replacing("\\s+", with: " ", in: text)  // in HTML, line breaks in the source are spaces
        // The link's address goes between private-use marks, so that stripping tags leaves it be.
        text = replacing(
            "<a\\b[^>]*?\\bhref\\s*=\\s*\"(https?://[^\"]*)\"[^>]*>([\\s\\S]*?)</a\\s*>", with: "$2 \u{E000}$1\u{E001}", in: text)
        text = replacing("(https?://[^\\s<]+) \u{E000}\\1\u{E001}", with: "$1", in: text)  // the text was the address
        text = replacing("<br\\s*/?>", with: "\n", in: text)
        text = replacing("</(p|div|li|tr|h[1-6]|table|blockquote)\\s*>", with: "\n", in: text)
        text = replacing("<[^>]*>", with: "", in: text)
        text = decodingEntities(text)
            .replacingOccurrences(of: "\u{E000}", with: "<").replacingOccurrences(of: "\u{E001}", with: ">")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "\u{00A0}", with: " ").trimmingCharacters(in: .whitespaces)
        }
        var result: [String] = []
        for line in lines where !(line.isEmpty && (result.last?.isEmpty ?? true)) {
            result.append(line)
        }
        return result.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "ndash": "–", "mdash": "—",
        "hellip": "…", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "bull": "•", "copy": "©", "reg": "®",
    ]

    static func decodingEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            rest = rest[ampersand...]
            guard let semicolon = rest.prefix(12).firstIndex(of: ";") else {
                result.append("&")
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semicolon]
            var decoded: String?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                decoded = UInt32(name.dropFirst(2), radix: 16).flatMap { Unicode.Scalar($0) }.map { String(Character($0)) }
            } else if name.hasPrefix("#") {
                decoded = UInt32(name.dropFirst()).flatMap { Unicode.Scalar($0) }.map { String(Character($0)) }
            } else {
                decoded = namedEntities[name.lowercased()]
            }
            if let decoded {
                result += decoded
                rest = rest[rest.index(after: semicolon)...]
            } else {
                result.append("&")
                rest = rest.dropFirst()
            }
        }
        return result + rest
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

// MARK: - Graph's JSON

extension MicrosoftGraphProvider {
    /// One page of a delta round.
    struct DeltaPage: Decodable {
        var value: [GraphEvent]
        var nextLink: String?
        var deltaLink: String?

        enum CodingKeys: String, CodingKey {
            case value
            case nextLink = "@odata.nextLink"
            case deltaLink = "@odata.deltaLink"
        }
    }

    /// The parts of Graph's `event` resource that a meeting needs
    /// (https://learn.microsoft.com/en-us/graph/api/resources/event). A removed instance has only
    /// `id` and `@removed`.
    struct GraphEvent: Decodable, Sendable {
        struct Removed: Decodable, Sendable { var reason: String? }
        struct Body: Decodable, Sendable {
            var contentType: String?
            var content: String?
        }
        struct Location: Decodable, Sendable { var displayName: String? }
        struct EmailAddress: Decodable, Sendable {
            var name: String?
            var address: String?
        }
        struct Recipient: Decodable, Sendable { var emailAddress: EmailAddress? }
        struct ResponseStatus: Decodable, Sendable { var response: String? }
        struct AttendeeEntry: Decodable, Sendable {
            var type: String?
            var status: ResponseStatus?
            var emailAddress: EmailAddress?
        }
        struct OnlineMeeting: Decodable, Sendable { var joinUrl: String? }

        var id: String
        var removed: Removed?
        var type: String?
        var subject: String?
        var body: Body?
        var bodyPreview: String?
        var location: Location?
        var locations: [Location]?
        var start: GraphDateTime?
        var end: GraphDateTime?
        var isAllDay: Bool?
        var isCancelled: Bool?
        var showAs: String?
        var organizer: Recipient?
        var attendees: [AttendeeEntry]?
        var onlineMeeting: OnlineMeeting?
        var onlineMeetingUrl: String?

        enum CodingKeys: String, CodingKey {
            case id, type, subject, body, bodyPreview, location, locations, start, end, isAllDay, isCancelled, showAs, organizer,
                attendees, onlineMeeting, onlineMeetingUrl
            case removed = "@removed"
        }
    }

    /// Graph's `dateTimeTimeZone`.
    struct GraphDateTime: Decodable, Sendable {
        var dateTime: String
        var timeZone: String?
    }

    /// Graph's error body: `{"error": {"code": "…", "message": "…"}}`.
    struct GraphErrorResponse: Decodable {
        struct Detail: Decodable {
            var code: String?
            var message: String?
        }
        var error: Detail
    }
}
