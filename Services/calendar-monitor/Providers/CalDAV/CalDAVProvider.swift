import Foundation
import HTTPClient
import ICalendar

/// A CalDAV calendar (RFC 4791), read with collection synchronisation (RFC 6578).
///
/// The connection's `settings.location` is the calendar collection's URL, `settings.username`
/// and `credentials.password` its Basic credentials. Each calendar object resource (one UID: an
/// event or a recurring series with its overrides) is one item, its id the resource's path
/// (percent-decoded, so that two spellings of one href are one item).
///
/// - No cursor: a `sync-collection` report from the empty token lists every resource; the batch
///   is complete and its cursor the server's new sync token.
/// - A cursor: the same report from that token lists what changed and what was removed since.
///   A token the server no longer honours (`DAV:valid-sync-token`: 403 or 409; any 400, 403,
///   409 or 410 to a tokened report is taken so) starts over with a full sync in the same call.
/// - A truncated result (a 507 response for the collection, RFC 6578 §3.6) is continued from
///   the token that came with it, up to `maxPages` reports.
/// - The data comes inside the report (`calendar-data`); resources a server lists without it
///   are fetched with `calendar-multiget`. A server without `sync-collection` is read whole with
///   a `calendar-query` on every sync (no cursor).
struct CalDAVProvider: CalendarProvider {
    let http: HTTPClient
    /// Ask for calendar-data in the sync report. False lists hrefs only and fetches them with
    /// calendar-multiget, as for a server that leaves the data out (tests use it).
    var dataInSyncReport = true
    /// Reports read in one sync while the server keeps truncating.
    var maxPages = 100
    /// Resources fetched by one calendar-multiget.
    var multigetBatchSize = 100

    init(http: HTTPClient) {
        self.http = http
    }

    init(http: HTTPClient, dataInSyncReport: Bool, maxPages: Int = 100, multigetBatchSize: Int = 100) {
        self.http = http
        self.dataInSyncReport = dataInSyncReport
        self.maxPages = maxPages
        self.multigetBatchSize = multigetBatchSize
    }

    func sync(_ connection: CalendarConnection, window: DateInterval) async throws -> SyncBatch {
        guard let location = connection.settings.location, let collection = Self.httpURL(location) else {
            throw CalendarSyncError.failed("the connection names no CalDAV calendar URL")
        }
        let session = DAVSession(
            http: http, username: connection.settings.username, password: connection.credentials?.password)
        let zone = connection.settings.timeZone.flatMap(TimeZone.init(identifier:)) ?? .gmt
        if let cursor = connection.cursor, !cursor.isEmpty {
            do {
                return try await changes(in: collection, since: cursor, session: session, window: window, zone: zone)
            } catch SyncReportProblem.tokenRefused {
                // Expired, or the collection was recreated: start over (the batch says so).
            }
        }
        do {
            return try await changes(in: collection, since: "", session: session, window: window, zone: zone)
        } catch SyncReportProblem.unsupported {
            return try await everything(in: collection, session: session, window: window, zone: zone)
        }
    }

    // MARK: - sync-collection

    enum SyncReportProblem: Error {
        /// The server refused the sync token (DAV:valid-sync-token).
        case tokenRefused
        /// The server does not offer the sync-collection report on this collection.
        case unsupported
    }

    /// What one resource turned out to be, as reports come in.
    private enum Pending {
        case data(String)
        case fetch(href: String)
        case removed
    }

    /// Everything since `token` ("" for everything), following truncated results.
    private func changes(
        in collection: URL, since start: String, session: DAVSession, window: DateInterval, zone: TimeZone
    ) async throws -> SyncBatch {
        let collectionPath = Self.itemID(forHref: collection.absoluteString, relativeTo: collection)
        var pending = PendingSet()
        var token = start
        var page = 0
        while true {
            page += 1
            let (response, url) = try await session.send(
                "REPORT", collection, depth: "0", body: Self.syncCollectionBody(token: token, withData: dataInSyncReport))
            guard response.status == 207 else {
                // RFC 6578 §3.2: a token the server no longer honours fails the DAV:valid-sync-token
                // precondition, with 403 (Radicale, SabreDAV) or 409. Servers differ, and a cursor
                // refused for ever would stop the connection for good, so any such refusal of a
                // tokened report starts over; a real problem (say, access withdrawn) then fails the
                // full sync that follows, and is reported from there.
                if !token.isEmpty, [400, 403, 409, 410].contains(response.status) {
                    guard token == start else {
                        throw CalendarSyncError.failed(
                            "the CalDAV server refused (\(response.status)) the sync token it had just given with a truncated report"
                        )
                    }
                    throw SyncReportProblem.tokenRefused
                }
                if token.isEmpty, Self.meansReportUnsupported(response) { throw SyncReportProblem.unsupported }
                throw Self.failure(response, doing: "the sync-collection report on \(Self.redacted(collection))")
            }
            let multistatus = try Self.multistatus(response, doing: "the sync-collection report")
            var truncated = false
            for member in multistatus.responses {
                let id = Self.itemID(forHref: member.href, relativeTo: url)
                if member.status == 507 || member.errors.contains("number-of-matches-within-limits") {
                    truncated = true
                    continue
                }
                // The collection itself (iCloud lists it) and child collections are not events.
                if Self.samePath(id, collectionPath) || member.href.hasSuffix("/") { continue }
                if member.isRemoved {
                    pending.set(id, .removed)
                } else if dataInSyncReport, let data = member.property(DAVNamespace.caldav, "calendar-data")?.text,
                    !data.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                {
                    pending.set(id, .data(data))
                } else {
                    pending.set(id, .fetch(href: member.href))
                }
            }
            guard let next = multistatus.syncToken, !next.isEmpty else {
                throw CalendarSyncError.failed("the CalDAV server's sync-collection report carried no sync token")
            }
            guard truncated else {
                token = next
                break
            }
            guard next != token else {
                throw CalendarSyncError.failed("the CalDAV server truncated its sync report but gave no newer sync token")
            }
            guard page < maxPages else {
                throw CalendarSyncError.failed("the CalDAV server still truncated its sync report after \(maxPages) reports")
            }
            token = next
        }
        try await fetchMissingData(&pending, in: collection, session: session)
        return try batch(from: pending, isComplete: start.isEmpty, cursor: token, window: window, zone: zone)
    }

    /// A full read with calendar-query, for a server without sync-collection: complete, no cursor.
    private func everything(
        in collection: URL, session: DAVSession, window: DateInterval, zone: TimeZone
    ) async throws -> SyncBatch {
        let (response, url) = try await session.send("REPORT", collection, depth: "1", body: Self.calendarQueryBody)
        guard response.status == 207 else {
            throw Self.failure(response, doing: "the calendar-query report on \(Self.redacted(collection))")
        }
        let collectionPath = Self.itemID(forHref: collection.absoluteString, relativeTo: collection)
        var pending = PendingSet()
        for member in try Self.multistatus(response, doing: "the calendar-query report").responses {
            let id = Self.itemID(forHref: member.href, relativeTo: url)
            if Self.samePath(id, collectionPath) || member.href.hasSuffix("/") || member.isRemoved { continue }
            if let data = member.property(DAVNamespace.caldav, "calendar-data")?.text,
                !data.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                pending.set(id, .data(data))
            } else {
                pending.set(id, .fetch(href: member.href))
            }
        }
        try await fetchMissingData(&pending, in: collection, session: session)
        return try batch(from: pending, isComplete: true, cursor: nil, window: window, zone: zone)
    }

    /// Fetches, with calendar-multiget, the resources listed without their data. One gone
    /// meanwhile (404) counts as removed.
    private func fetchMissingData(_ pending: inout PendingSet, in collection: URL, session: DAVSession) async throws {
        let wanted = pending.order.compactMap { id -> (id: String, href: String)? in
            if case .fetch(let href) = pending.states[id] { return (id, href) }
            return nil
        }
        var start = 0
        while start < wanted.count {
            let chunk = wanted[start..<min(start + max(1, multigetBatchSize), wanted.count)]
            start += chunk.count
            let (response, url) = try await session.send(
                "REPORT", collection, depth: "1", body: Self.multigetBody(hrefs: chunk.map(\.href)))
            guard response.status == 207 else {
                throw Self.failure(response, doing: "the calendar-multiget report on \(Self.redacted(collection))")
            }
            for member in try Self.multistatus(response, doing: "the calendar-multiget report").responses {
                let id = Self.itemID(forHref: member.href, relativeTo: url)
                guard case .fetch = pending.states[id] else { continue }
                if member.isRemoved {
                    pending.set(id, .removed)
                } else if let data = member.property(DAVNamespace.caldav, "calendar-data")?.text,
                    !data.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                {
                    pending.set(id, .data(data))
                }
            }
            if let missing = chunk.first(where: { if case .fetch = pending.states[$0.id] { true } else { false } }) {
                throw CalendarSyncError.failed(
                    "the CalDAV server returned no calendar data for \(Self.resourceName(missing.id)) in its calendar-multiget answer"
                )
            }
        }
    }

    private func batch(
        from pending: PendingSet, isComplete: Bool, cursor: String?, window: DateInterval, zone: TimeZone
    ) throws -> SyncBatch {
        var items: [SyncedItem] = []
        var removed: [String] = []
        var skipped: [String] = []
        var unreadable: [String] = []
        for id in pending.order {
            switch pending.states[id] {
            case .data(let text):
                let contents: ICalendar.Contents
                do {
                    contents = try Self.occurrences(inCalendarObject: text, window: window, timeZone: zone)
                } catch {
                    // Strict, as for an iCalendar feed, when the object as a whole cannot be read
                    // (truncated, not iCalendar): skipping it would make its meetings look deleted.
                    throw CalendarSyncError.failed(
                        "the calendar object \(Self.resourceName(id)) is not valid iCalendar: \(error)")
                }
                items.append(SyncedItem(itemID: id, occurrences: contents.events))
                skipped += contents.skipped.map { "\(Self.resourceName(id)) \(SyncBatch.skip($0))" }
                if !contents.skipped.isEmpty { unreadable.append(id) }
            case .removed:
                removed.append(id)
            case .fetch, nil:
                break  // fetchMissingData leaves none
            }
        }
        // An incremental sync reads only the objects that changed: its report replaces the last
        // one when it found something to report, and a full sync always replaces it.
        return SyncBatch(
            items: items, removedItemIDs: removed, isComplete: isComplete, cursor: cursor,
            skipped: isComplete || !skipped.isEmpty ? skipped : nil, unreadableItemIDs: unreadable)
    }

    /// Turns one calendar object resource's iCalendar text into the occurrences of its events.
    /// The only place this provider reads calendar data.
    ///
    /// The occurrences of one calendar object (a series with its overridden instances) in the window.
    private static func occurrences(
        inCalendarObject text: String, window: DateInterval, timeZone: TimeZone
    ) throws -> ICalendar.Contents {
        try ICalendar.occurrences(from: text, window: window, defaultTimeZone: timeZone)
    }

    /// Resource states in the order first seen; a later report overrides an earlier one.
    private struct PendingSet {
        var order: [String] = []
        var states: [String: Pending] = [:]

        mutating func set(_ id: String, _ state: Pending) {
            if states[id] == nil { order.append(id) }
            states[id] = state
        }
    }

    // MARK: - Discovery

    /// The calendars holding events that `username` can reach from `baseURL` (the server's root,
    /// a principal, a calendar home or a calendar): the current user's principal (RFC 5397, and
    /// the RFC 6764 well-known URL if the base does not say), its calendar homes (RFC 4791
    /// §6.2.1), and in each the collections that are calendars and accept VEVENTs.
    static func discoverCalendars(
        baseURL: String, username: String, password: String, http: HTTPClient
    ) async throws -> [(url: String, name: String)] {
        guard let base = httpURL(baseURL) else {
            throw CalendarSyncError.failed("the CalDAV address given is not an http(s) URL")
        }
        let session = DAVSession(http: http, username: username, password: password)
        var principal = try await currentUserPrincipal(at: base, session: session)
        if principal == nil, let wellKnown = URL(string: "/.well-known/caldav", relativeTo: base)?.absoluteURL {
            principal = try await currentUserPrincipal(at: wellKnown, session: session)
        }
        var homes: [URL] = []
        if let principal {
            let (multistatus, url) = try await propfind(
                principal, depth: "0", properties: [(DAVNamespace.caldav, "calendar-home-set")], session: session)
            homes =
                multistatus.responses.first?
                .property(DAVNamespace.caldav, "calendar-home-set")?
                .children(DAVNamespace.dav, "href")
                .compactMap { URL(string: $0.trimmedText, relativeTo: url)?.absoluteURL } ?? []
        }
        // No principal or no home: the URL given may be a calendar home, or a calendar, itself.
        if homes.isEmpty { homes = [base] }

        var calendars: [(url: String, name: String)] = []
        var seen = Set<String>()
        for home in homes {
            let (multistatus, url) = try await propfind(
                home, depth: "1",
                properties: [
                    (DAVNamespace.dav, "resourcetype"), (DAVNamespace.dav, "displayname"),
                    (DAVNamespace.caldav, "supported-calendar-component-set"),
                ], session: session)
            for member in multistatus.responses {
                guard let type = member.property(DAVNamespace.dav, "resourcetype"),
                    type.child(DAVNamespace.caldav, "calendar") != nil,
                    supportsEvents(member.property(DAVNamespace.caldav, "supported-calendar-component-set")),
                    let calendarURL = URL(string: member.href, relativeTo: url)?.absoluteURL
                else { continue }
                let key = itemID(forHref: calendarURL.absoluteString, relativeTo: calendarURL)
                guard seen.insert(key.hasSuffix("/") ? String(key.dropLast()) : key).inserted else { continue }
                let displayName = member.property(DAVNamespace.dav, "displayname")?.trimmedText ?? ""
                let lastSegment = key.split(separator: "/").last.map(String.init) ?? key
                calendars.append((calendarURL.absoluteString, displayName.isEmpty ? lastSegment : displayName))
            }
        }
        return calendars
    }

    /// RFC 4791 §5.2.3: without the property, a calendar takes every component type.
    private static func supportsEvents(_ componentSet: XMLElementNode?) -> Bool {
        guard let componentSet else { return true }
        return componentSet.children(DAVNamespace.caldav, "comp").contains { $0.attributes["name"]?.uppercased() == "VEVENT" }
    }

    /// The principal `url` names, if it answers; refused credentials and rate limits are thrown,
    /// any other failure is nil (the caller tries elsewhere, and in the end reports the base
    /// URL's own failure).
    private static func currentUserPrincipal(at url: URL, session: DAVSession) async throws -> URL? {
        do {
            let (multistatus, answeredURL) = try await propfind(
                url, depth: "0", properties: [(DAVNamespace.dav, "current-user-principal")], session: session)
            guard
                let href = multistatus.responses.first?
                    .property(DAVNamespace.dav, "current-user-principal")?
                    .child(DAVNamespace.dav, "href")?.trimmedText, !href.isEmpty
            else { return nil }
            return URL(string: href, relativeTo: answeredURL)?.absoluteURL
        } catch CalendarSyncError.failed {
            return nil
        }
    }

    private static func propfind(
        _ url: URL, depth: String, properties: [(namespace: String, name: String)], session: DAVSession
    ) async throws -> (DAVMultistatus, URL) {
        var body =
            #"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>"#
        for property in properties {
            body += property.namespace == DAVNamespace.dav ? "<d:\(property.name)/>" : "<c:\(property.name)/>"
        }
        body += "</d:prop></d:propfind>"
        let (response, answeredURL) = try await session.send("PROPFIND", url, depth: depth, body: body)
        guard response.status == 207 else { throw failure(response, doing: "PROPFIND \(redacted(url))") }
        return (try multistatus(response, doing: "PROPFIND \(redacted(url))"), answeredURL)
    }

    // MARK: - Requests and answers

    static func syncCollectionBody(token: String, withData: Bool) -> String {
        let tokenElement = token.isEmpty ? "<d:sync-token/>" : "<d:sync-token>\(token.xmlEscaped)</d:sync-token>"
        return
            #"<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">"#
            + tokenElement + "<d:sync-level>1</d:sync-level><d:prop><d:getetag/>"
            + (withData ? "<c:calendar-data/>" : "") + "</d:prop></d:sync-collection>"
    }

    static func multigetBody(hrefs: [String]) -> String {
        #"<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">"#
            + "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
            + hrefs.map { "<d:href>\($0.xmlEscaped)</d:href>" }.joined() + "</c:calendar-multiget>"
    }

    static let calendarQueryBody =
        #"<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">"#
        + "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
        + #"<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>"#
        + "</c:calendar-query>"

    private static func multistatus(_ response: OutboundResponse, doing what: String) throws -> DAVMultistatus {
        do {
            return try DAVMultistatus(parsing: response.body)
        } catch {
            throw CalendarSyncError.failed("\(what): \(error)")
        }
    }

    /// A server without sync-collection: 403 with DAV:supported-report (RFC 3253 §3.6), or a
    /// method or report it does not implement.
    private static func meansReportUnsupported(_ response: OutboundResponse) -> Bool {
        switch response.status {
        case 405, 501: return true
        case 400, 403:
            guard let root = try? XMLElementNode.parse(response.body) else { return false }
            return root.descendant(DAVNamespace.dav, "supported-report") != nil
        default: return false
        }
    }

    /// The scheduler's view of a failed request.
    static func failure(_ response: OutboundResponse, doing what: String) -> CalendarSyncError {
        switch response.status {
        case 401:
            return .authorizationRevoked("CalDAV credentials refused")
        case 429, 503:
            let seconds = response.headers["retry-after"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            return .rateLimited(retryAfter: seconds.map { .seconds(max(0, $0)) })
        case 404, 410:
            return .failed("\(what): not found (\(response.status)); was the calendar deleted or moved?")
        default:
            return .failed("\(what) answered \(response.status)")
        }
    }

    /// The item id for an href: the absolute path, percent-decoded.
    static func itemID(forHref href: String, relativeTo base: URL) -> String {
        let trimmed = href.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = URL(string: trimmed, relativeTo: base)?.absoluteURL,
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        else { return trimmed }
        let path = components.percentEncodedPath
        return path.removingPercentEncoding ?? path
    }

    private static func samePath(_ a: String, _ b: String) -> Bool {
        func trimmed(_ path: String) -> Substring { path.hasSuffix("/") ? path.dropLast() : Substring(path) }
        return trimmed(a) == trimmed(b)
    }

    static func httpURL(_ text: String) -> URL? {
        guard let url = URL(string: text.trimmingCharacters(in: .whitespaces)),
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { return nil }
        return url
    }

    /// A URL fit for messages and logs: scheme, host and port only, as HTTPClient logs URLs
    /// (CalDAV paths name people: /calendars/alex@example.com/work/).
    static func redacted(_ url: URL) -> String { redacted(url.absoluteString) }

    static func redacted(_ text: String) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme, let host = components.host else {
            return "(invalid URL)"
        }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")/…"
    }

    /// A resource named in a message: its last path segment (usually UID.ics), not the whole path.
    static func resourceName(_ itemID: String) -> String {
        itemID.split(separator: "/").last.map(String.init) ?? itemID
    }
}

/// Sends WebDAV requests with Basic credentials, following redirects within the same host (so
/// the credentials never travel to another one, nor from https to http).
struct DAVSession: Sendable, CustomStringConvertible, CustomReflectable {
    let http: HTTPClient
    /// The Authorization header's value. Never logged: `description` leaves it out.
    private let authorization: String?
    var maxRedirects = 5
    var timeout: Duration = .seconds(120)

    init(http: HTTPClient, username: String?, password: String?) {
        self.http = http
        if let username, !username.isEmpty || password != nil {
            authorization = "Basic " + Data("\(username):\(password ?? "")".utf8).base64EncodedString()
        } else {
            authorization = nil
        }
    }

    var description: String { "DAVSession(authorization: \(authorization == nil ? "none" : "***"))" }
    var customMirror: Mirror { Mirror(self, children: ["authorization": authorization == nil ? "none" : "***"]) }

    /// Sends the request and returns the final answer with the URL that gave it.
    func send(_ method: String, _ url: URL, depth: String?, body: String) async throws -> (OutboundResponse, URL) {
        var current = url
        var redirects = 0
        while true {
            var headers: [(name: String, value: String)] = [("Content-Type", "application/xml; charset=utf-8")]
            if let depth { headers.append(("Depth", depth)) }
            if let authorization { headers.append(("Authorization", authorization)) }
            let response: OutboundResponse
            do {
                response = try await http.send(
                    OutboundRequest(
                        method: method, url: current.absoluteString, headers: headers, body: Array(body.utf8), timeout: timeout))
            } catch {
                throw CalendarSyncError.failed("CalDAV request failed: \(error)")
            }
            guard [301, 302, 307, 308].contains(response.status), let location = response.headers["location"] else {
                return (response, current)
            }
            guard redirects < maxRedirects, let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw CalendarSyncError.failed("\(method) \(CalDAVProvider.redacted(url)): too many redirects")
            }
            guard next.host?.lowercased() == current.host?.lowercased(),
                !(current.scheme?.lowercased() == "https" && next.scheme?.lowercased() != "https")
            else {
                throw CalendarSyncError.failed(
                    "\(method) \(CalDAVProvider.redacted(url)) redirects to \(CalDAVProvider.redacted(next)), another host or "
                        + "an insecure scheme; connect with that URL instead")
            }
            current = next
            redirects += 1
        }
    }
}
