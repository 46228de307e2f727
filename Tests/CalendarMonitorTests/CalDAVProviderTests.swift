import Foundation
import HTTPClient
import Hummingbird
import TestSupport
import Testing

@testable import CalendarMonitor

/// The Radicale server `./scripts/test` starts (scripts/stack: test profile).
struct RadicaleServer {
    let baseURL: String
    let username: String
    let password: String
    let http = HTTPClient(retry: .none, logger: TestStack.logger)

    static func fromStack() throws -> RadicaleServer {
        var base = try TestStack.variable("ATTACHE_TEST_CALDAV_URL")
        if !base.hasSuffix("/") { base += "/" }
        return RadicaleServer(
            baseURL: base, username: try TestStack.variable("ATTACHE_TEST_CALDAV_USER"),
            password: try TestStack.variable("ATTACHE_TEST_CALDAV_PASSWORD"))
    }

    private var authorization: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

    @discardableResult
    func request(_ method: String, _ url: String, body: String? = nil, headers: [(name: String, value: String)] = []) async throws
        -> OutboundResponse
    {
        try await http.send(
            OutboundRequest(
                method: method, url: url, headers: headers + [("Authorization", authorization)], body: body.map { Array($0.utf8) }
            ))
    }

    /// A new calendar collection in the user's home (Radicale keeps it at /USER/NAME/), made with
    /// MKCALENDAR (RFC 4791 §5.3.1). Returns its URL.
    func makeCalendar(_ name: String, displayName: String, components: [String] = ["VEVENT"]) async throws -> String {
        // Radicale creates the principal's collection on the first authenticated request.
        try await request("PROPFIND", baseURL, body: nil, headers: [("Depth", "0")])
        let url = "\(baseURL)\(username)/\(name)/"
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
            <d:displayname>\(displayName)</d:displayname>
            <c:supported-calendar-component-set>\(components.map { "<c:comp name=\"\($0)\"/>" }.joined())</c:supported-calendar-component-set>
            </d:prop></d:set></c:mkcalendar>
            """
        let response = try await request("MKCALENDAR", url, body: body, headers: [("Content-Type", "application/xml")])
        try #require(response.status == 201, "MKCALENDAR \(url) answered \(response.status): \(response.text)")
        return url
    }

    func put(_ calendarURL: String, _ resource: String, _ text: String) async throws {
        let response = try await request(
            "PUT", calendarURL + resource, body: text, headers: [("Content-Type", "text/calendar; charset=utf-8")])
        try #require((200..<300).contains(response.status), "PUT \(resource) answered \(response.status): \(response.text)")
    }

    func delete(_ calendarURL: String, _ resource: String) async throws {
        let response = try await request("DELETE", calendarURL + resource)
        try #require((200..<300).contains(response.status), "DELETE \(resource) answered \(response.status)")
    }

    func connection(_ calendarURL: String, password: String? = nil, cursor: String? = nil) -> CalendarConnection {
        CalendarConnection(
            id: UUID(), tenantID: "acme", owner: "alex@example.com", kind: .caldav, name: "caldav",
            settings: ConnectionSettings(location: calendarURL, username: username, timeZone: "Europe/Berlin"),
            credentials: ConnectionCredentials(password: password ?? self.password), cursor: cursor)
    }

    /// The item id the provider gives a resource of this calendar (its path, percent-decoded).
    func itemID(_ calendarURL: String, _ resource: String) -> String {
        URLComponents(string: calendarURL)!.path + (resource.removingPercentEncoding ?? resource)
    }
}

enum CalDAVFixtures {
    static let window = DateInterval(
        start: Date(timeIntervalSince1970: 1_796_810_400 - 86_400), end: Date(timeIntervalSince1970: 1_796_810_400 + 30 * 86_400))

    static func event(uid: String, title: String, start: String = "20261210T090000Z", end: String = "20261210T100000Z") -> String
    {
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//attache tests//EN\r\nBEGIN:VEVENT\r\nUID:\(uid)\r\n"
            + "DTSTAMP:20261201T000000Z\r\nDTSTART:\(start)\r\nDTEND:\(end)\r\nSUMMARY:\(title)\r\n"
            + "ORGANIZER;CN=Alex Rivera:mailto:alex@example.com\r\nATTENDEE:mailto:sam@example.com\r\n"
            + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    }

    static func titles(_ batch: SyncBatch) -> [String: String] {
        Dictionary(uniqueKeysWithValues: batch.items.map { ($0.itemID, $0.occurrences.map(\.title).joined(separator: "|")) })
    }
}

@Suite("CalDAV provider against Radicale")
struct CalDAVProviderTests {
    @Test("discovery finds the user's event calendars by principal and calendar home, with their names")
    func discovery() async throws {
        let server = try RadicaleServer.fromStack()
        let name = TestStack.uniqueName("cal")
        let events = try await server.makeCalendar(name, displayName: "Team \(name)")
        let tasks = try await server.makeCalendar(TestStack.uniqueName("tasks"), displayName: "Tasks only", components: ["VTODO"])

        let calendars = try await CalDAVProvider.discoverCalendars(
            baseURL: server.baseURL, username: server.username, password: server.password, http: server.http)
        #expect(calendars.contains { $0.url == events && $0.name == "Team \(name)" }, "\(calendars)")
        #expect(!calendars.contains { $0.url == tasks }, "a calendar that takes no VEVENT is not offered")
        // The principal's own collection (the calendar home) is not a calendar.
        #expect(!calendars.contains { $0.url == "\(server.baseURL)\(server.username)/" })

        // Starting from the calendar home finds the same calendar.
        let fromHome = try await CalDAVProvider.discoverCalendars(
            baseURL: "\(server.baseURL)\(server.username)/", username: server.username, password: server.password,
            http: server.http)
        #expect(fromHome.contains { $0.url == events })
    }

    @Test(
        "a full sync lists everything; an incremental one exactly what changed, was added and was deleted",
        arguments: [true, false])
    func fullThenIncremental(dataInReport: Bool) async throws {
        let server = try RadicaleServer.fromStack()
        let calendar = try await server.makeCalendar(TestStack.uniqueName("cal"), displayName: "Sync")
        // "@" comes back percent-encoded in Radicale's hrefs: the item id must not depend on it.
        try await server.put(calendar, "a@example.com.ics", CalDAVFixtures.event(uid: "a", title: "Standup"))
        try await server.put(calendar, "b.ics", CalDAVFixtures.event(uid: "b", title: "Planning"))
        try await server.put(calendar, "c.ics", CalDAVFixtures.event(uid: "c", title: "Retro"))
        let provider = CalDAVProvider(http: server.http, dataInSyncReport: dataInReport, multigetBatchSize: 2)

        let full = try await provider.sync(server.connection(calendar), window: CalDAVFixtures.window)
        #expect(full.isComplete)
        let cursor = try #require(full.cursor)
        #expect(
            CalDAVFixtures.titles(full) == [
                server.itemID(calendar, "a@example.com.ics"): "Standup", server.itemID(calendar, "b.ics"): "Planning",
                server.itemID(calendar, "c.ics"): "Retro",
            ])
        let planning = try #require(full.items.first { $0.itemID == server.itemID(calendar, "b.ics") }?.occurrences.first)
        #expect(planning.uid == "b")
        #expect(planning.start == ISO8601DateFormatter().date(from: "2026-12-10T09:00:00Z"))
        #expect(planning.attendees.map(\.email) == ["sam@example.com"])

        try await server.put(
            calendar, "b.ics",
            CalDAVFixtures.event(uid: "b", title: "Planning (moved)", start: "20261211T090000Z", end: "20261211T100000Z"))
        try await server.delete(calendar, "a@example.com.ics")
        try await server.put(calendar, "d.ics", CalDAVFixtures.event(uid: "d", title: "1:1"))

        let changes = try await provider.sync(server.connection(calendar, cursor: cursor), window: CalDAVFixtures.window)
        #expect(!changes.isComplete)
        #expect(
            CalDAVFixtures.titles(changes) == [
                server.itemID(calendar, "b.ics"): "Planning (moved)", server.itemID(calendar, "d.ics"): "1:1",
            ])
        #expect(changes.removedItemIDs == [server.itemID(calendar, "a@example.com.ics")])
        let next = try #require(changes.cursor)
        #expect(next != cursor)

        let nothing = try await provider.sync(server.connection(calendar, cursor: next), window: CalDAVFixtures.window)
        #expect(!nothing.isComplete)
        #expect(nothing.items.isEmpty && nothing.removedItemIDs.isEmpty)
        #expect(nothing.cursor == next)
    }

    @Test("a sync token the server does not know starts over with a full sync in the same call")
    func unknownTokenResyncs() async throws {
        let server = try RadicaleServer.fromStack()
        let calendar = try await server.makeCalendar(TestStack.uniqueName("cal"), displayName: "Resync")
        try await server.put(calendar, "a.ics", CalDAVFixtures.event(uid: "a", title: "Standup"))
        try await server.put(calendar, "b.ics", CalDAVFixtures.event(uid: "b", title: "Planning"))
        let provider = CalDAVProvider(http: server.http)

        // Well-formed but never issued, and plain garbage: Radicale answers 403 DAV:valid-sync-token to both.
        for token in ["http://radicale.org/ns/sync/" + String(repeating: "0", count: 64), "made-up-token"] {
            let batch = try await provider.sync(server.connection(calendar, cursor: token), window: CalDAVFixtures.window)
            #expect(batch.isComplete, "token \(token)")
            #expect(Set(batch.items.map(\.itemID)) == [server.itemID(calendar, "a.ics"), server.itemID(calendar, "b.ics")])
            #expect(batch.cursor != nil && batch.cursor != token)
        }
    }

    @Test("a wrong password is an authorisation the owner must renew, in sync and in discovery")
    func wrongPassword() async throws {
        let server = try RadicaleServer.fromStack()
        let calendar = try await server.makeCalendar(TestStack.uniqueName("cal"), displayName: "Auth")
        let provider = CalDAVProvider(http: server.http)
        do {
            _ = try await provider.sync(server.connection(calendar, password: "wrong"), window: CalDAVFixtures.window)
            Issue.record("a sync with a wrong password succeeded")
        } catch CalendarSyncError.authorizationRevoked(let why) {
            #expect(why == "CalDAV credentials refused")
            #expect(!"\(CalendarSyncError.authorizationRevoked(why))".contains("wrong"))
        }
        do {
            _ = try await CalDAVProvider.discoverCalendars(
                baseURL: server.baseURL, username: server.username, password: "wrong", http: server.http)
            Issue.record("discovery with a wrong password succeeded")
        } catch CalendarSyncError.authorizationRevoked {}
    }

    @Test("a calendar that no longer exists is a failure naming it, not an empty calendar")
    func missingCalendar() async throws {
        let server = try RadicaleServer.fromStack()
        let provider = CalDAVProvider(http: server.http)
        let gone = "\(server.baseURL)\(server.username)/\(TestStack.uniqueName("never"))/"
        do {
            _ = try await provider.sync(server.connection(gone), window: CalDAVFixtures.window)
            Issue.record("a sync of a missing calendar succeeded")
        } catch CalendarSyncError.failed(let why) {
            #expect(why.contains("404"), "\(why)")
        }
    }
}

@Suite("CalDAV protocol edge cases against a scripted server")
struct CalDAVProtocolTests {
    static func multistatus(_ inner: String) -> Response {
        Response(
            status: .init(code: 207), headers: [.contentType: "application/xml; charset=utf-8"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string:
                        #"<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">"#
                        + inner + "</D:multistatus>")))
    }

    static func member(_ href: String, uid: String, title: String) -> String {
        "<D:response><D:href>\(href)</D:href><D:propstat><D:prop><D:getetag>\"\(uid)\"</D:getetag>"
            + "<C:calendar-data><![CDATA[\(CalDAVFixtures.event(uid: uid, title: title))]]></C:calendar-data>"
            + "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
    }

    static func connection(_ url: String, cursor: String? = nil) -> CalendarConnection {
        CalendarConnection(
            id: UUID(), tenantID: "acme", owner: "alex@example.com", kind: .caldav, name: "caldav",
            settings: ConnectionSettings(location: url, username: "alex"), credentials: ConnectionCredentials(password: "pw"),
            cursor: cursor)
    }

    static func body(_ request: Request) async throws -> String {
        String(buffer: try await request.body.collect(upTo: 1 << 20))
    }

    @Test("a truncated sync (507 on the collection) continues from the token that came with it")
    func truncation() async throws {
        let server = try await FakeServer { router, recorder in
            router.on("/cal/", method: HTTPRequest.Method("REPORT")!) { request, _ -> Response in
                _ = recorder.hit()
                let body = try await Self.body(request)
                if body.contains("<d:sync-token/>") {
                    return Self.multistatus(
                        Self.member("/cal/a.ics", uid: "a", title: "A") + Self.member("/cal/c.ics", uid: "c", title: "C")
                            + "<D:response><D:href>/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>"
                            + "<D:error><D:number-of-matches-within-limits/></D:error></D:response>"
                            + "<D:sync-token>page-1</D:sync-token>")
                }
                if body.contains("<d:sync-token>page-1</d:sync-token>") {
                    // c was deleted between the two pages.
                    return Self.multistatus(
                        Self.member("/cal/b.ics", uid: "b", title: "B")
                            + "<D:response><D:href>/cal/c.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
                            + "<D:sync-token>page-2</D:sync-token>")
                }
                // A token the server expired: 409 with the precondition, as some servers answer.
                return Response(
                    status: .conflict,
                    body: .init(
                        byteBuffer: ByteBuffer(string: #"<?xml version="1.0"?><error xmlns="DAV:"><valid-sync-token/></error>"#)))
            }
        }
        defer { server.stop() }
        let provider = CalDAVProvider(http: HTTPClient(retry: .none, logger: TestStack.logger))

        let batch = try await provider.sync(Self.connection(server.url + "/cal/"), window: CalDAVFixtures.window)
        #expect(batch.isComplete)
        #expect(batch.cursor == "page-2")
        #expect(CalDAVFixtures.titles(batch) == ["/cal/a.ics": "A", "/cal/b.ics": "B"])
        #expect(batch.removedItemIDs == ["/cal/c.ics"])
        #expect(server.hits.count == 2)

        // An expired token (409 DAV:valid-sync-token): a full sync again, in the same call.
        let again = try await provider.sync(
            Self.connection(server.url + "/cal/", cursor: "expired"), window: CalDAVFixtures.window)
        #expect(again.isComplete)
        #expect(again.cursor == "page-2")
        #expect(server.hits.count == 5)
    }

    @Test("a server that keeps truncating, or refuses the token it gave, fails instead of looping")
    func endlessTruncation() async throws {
        let server = try await FakeServer { router, recorder in
            router.on("/cal/", method: HTTPRequest.Method("REPORT")!) { _, _ -> Response in
                _ = recorder.hit()
                return Self.multistatus(
                    "<D:response><D:href>/cal/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
                        + "<D:sync-token>\(recorder.hits.count)</D:sync-token>")
            }
            router.on("/fickle/", method: HTTPRequest.Method("REPORT")!) { request, _ -> Response in
                guard try await Self.body(request).contains("<d:sync-token/>") else { return Response(status: .forbidden) }
                return Self.multistatus(
                    "<D:response><D:href>/fickle/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
                        + "<D:sync-token>first</D:sync-token>")
            }
        }
        defer { server.stop() }
        let provider = CalDAVProvider(
            http: HTTPClient(retry: .none, logger: TestStack.logger), dataInSyncReport: true, maxPages: 3)
        await #expect(throws: CalendarSyncError.self) {
            _ = try await provider.sync(Self.connection(server.url + "/cal/"), window: CalDAVFixtures.window)
        }
        #expect(server.hits.count == 3)
        do {
            _ = try await provider.sync(Self.connection(server.url + "/fickle/"), window: CalDAVFixtures.window)
            Issue.record("a refused continuation token did not fail the sync")
        } catch CalendarSyncError.failed(let why) {
            #expect(why.contains("just given"), "\(why)")
        }
    }

    @Test("a server without sync-collection is read whole with calendar-query; 429 is a rate limit")
    func fallbackAndRateLimit() async throws {
        let server = try await FakeServer { router, _ in
            router.on("/cal/", method: HTTPRequest.Method("REPORT")!) { request, _ -> Response in
                let body = try await Self.body(request)
                if body.contains("sync-collection") {
                    return Response(
                        status: .forbidden,
                        body: .init(byteBuffer: ByteBuffer(string: #"<D:error xmlns:D="DAV:"><D:supported-report/></D:error>"#)))
                }
                return Self.multistatus(Self.member("/cal/a.ics", uid: "a", title: "A"))
            }
            router.on("/busy/", method: HTTPRequest.Method("REPORT")!) { _, _ -> Response in
                Response(status: .tooManyRequests, headers: [.retryAfter: "7"])
            }
        }
        defer { server.stop() }
        let provider = CalDAVProvider(http: HTTPClient(retry: .none, logger: TestStack.logger))
        let batch = try await provider.sync(Self.connection(server.url + "/cal/"), window: CalDAVFixtures.window)
        #expect(batch.isComplete)
        #expect(batch.cursor == nil)
        #expect(CalDAVFixtures.titles(batch) == ["/cal/a.ics": "A"])

        do {
            _ = try await provider.sync(Self.connection(server.url + "/busy/"), window: CalDAVFixtures.window)
            Issue.record("a 429 did not fail the sync")
        } catch CalendarSyncError.rateLimited(let after) {
            #expect(after == .seconds(7))
        }
    }
}

@Suite("WebDAV multistatus parsing")
struct WebDAVMultistatusTests {
    @Test("propstat 200 and 404 in one response, a removed member, truncation and the sync token")
    func parsesMultistatus() throws {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <multistatus xmlns="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
              <response>
                <href>/dav/cal/meeting%40example.com.ics</href>
                <propstat>
                  <prop><getetag>"1-abc"</getetag><cal:calendar-data>BEGIN:VCALENDAR&#13;
            SUMMARY:Fish &amp; chips
            END:VCALENDAR
            </cal:calendar-data></prop>
                  <status>HTTP/1.1 200 OK</status>
                </propstat>
                <propstat>
                  <prop><displayname/></prop>
                  <status>HTTP/1.1 404 Not Found</status>
                </propstat>
              </response>
              <response>
                <href>/dav/cal/gone.ics</href>
                <status>HTTP/1.1 404 Not Found</status>
              </response>
              <response>
                <href>/dav/cal/etagless.ics</href>
                <propstat><prop><getetag/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
              </response>
              <response>
                <href>/dav/cal/</href>
                <status>HTTP/1.1 507 Insufficient Storage</status>
                <error><number-of-matches-within-limits/></error>
              </response>
              <sync-token> http://example.com/sync/42 </sync-token>
            </multistatus>
            """
        let parsed = try DAVMultistatus(parsing: Array(xml.utf8))
        #expect(parsed.syncToken == "http://example.com/sync/42")
        #expect(parsed.responses.count == 4)

        let changed = parsed.responses[0]
        #expect(changed.href == "/dav/cal/meeting%40example.com.ics")
        #expect(changed.status == nil)
        #expect(changed.propstats.map(\.status) == [200, 404])
        #expect(!changed.isRemoved, "a 404 propstat beside a 200 one only says a property is missing")
        #expect(changed.property(DAVNamespace.dav, "getetag")?.trimmedText == "\"1-abc\"")
        #expect(changed.property(DAVNamespace.caldav, "calendar-data")?.text.contains("SUMMARY:Fish & chips") == true)
        #expect(changed.property(DAVNamespace.dav, "displayname") == nil, "404 properties are not returned as found")
        #expect(
            CalDAVProvider.itemID(forHref: changed.href, relativeTo: URL(string: "https://example.com/dav/cal/")!)
                == "/dav/cal/meeting@example.com.ics")
        #expect(
            CalDAVProvider.itemID(
                forHref: "https://example.com/dav/cal/meeting@example.com.ics",
                relativeTo: URL(string: "https://example.com/dav/cal/")!)
                == "/dav/cal/meeting@example.com.ics", "a full URL and an encoded path name the same item")

        #expect(parsed.responses[1].status == 404)
        #expect(parsed.responses[1].isRemoved)
        #expect(parsed.responses[2].isRemoved, "nothing found and 404: the resource is gone")
        #expect(parsed.responses[3].status == 507)
        #expect(parsed.responses[3].errors == ["number-of-matches-within-limits"])
    }

    @Test("malformed XML, or XML that is not a multistatus, is an error")
    func errors() throws {
        #expect(throws: XMLElementNode.ParseError.self) {
            try DAVMultistatus(parsing: Array("<multistatus xmlns=\"DAV:\"><response>".utf8))
        }
        #expect(throws: XMLElementNode.ParseError.self) { try DAVMultistatus(parsing: Array("<html>login</html>".utf8)) }
        #expect(throws: XMLElementNode.ParseError.self) { try DAVMultistatus(parsing: Array("<multistatus/>".utf8)) }
        let prefixed = try DAVMultistatus(
            parsing: Array(#"<x:multistatus xmlns:x="DAV:"><x:sync-token>t</x:sync-token></x:multistatus>"#.utf8))
        #expect(prefixed.syncToken == "t" && prefixed.responses.isEmpty)
    }

    @Test("request bodies escape what they carry")
    func bodies() {
        #expect(CalDAVProvider.syncCollectionBody(token: "", withData: true).contains("<d:sync-token/>"))
        #expect(
            CalDAVProvider.syncCollectionBody(token: "a&b<c", withData: false).contains(
                "<d:sync-token>a&amp;b&lt;c</d:sync-token>"))
        #expect(!CalDAVProvider.syncCollectionBody(token: "t", withData: false).contains("calendar-data"))
        #expect(CalDAVProvider.multigetBody(hrefs: ["/c/a&b.ics"]).contains("<d:href>/c/a&amp;b.ics</d:href>"))
    }

    @Test("the session never shows its credentials")
    func sessionDescription() {
        let session = DAVSession(http: HTTPClient(logger: TestStack.logger), username: "alex", password: "s3cret")
        #expect(!"\(session)".contains("s3cret"))
        let basic = Data("alex:s3cret".utf8).base64EncodedString()
        #expect(!String(reflecting: session).contains(basic))
        var dumped = ""
        dump(session, to: &dumped)
        #expect(!dumped.contains(basic))
    }
}
