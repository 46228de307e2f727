import Foundation
import HTTPClient
import ICalendar
import Runtime
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("Microsoft Graph calendar provider against a fake Graph")
struct MicrosoftGraphProviderTests {
    static let now = Date(timeIntervalSince1970: 1_796_810_400)  // 2026-12-09T10:00:00Z
    static let window = DateInterval(start: now.addingTimeInterval(-86_400), end: now.addingTimeInterval(14 * 86_400))

    typealias Event = FakeMicrosoftGraph.Event

    struct Fixture {
        let graph: FakeMicrosoftGraph
        let provider: MicrosoftGraphProvider
        var connection: CalendarConnection

        static func make(maxPageSize: Int = 50, retry: RetryPolicy = .none, accessTokenLifetime: TimeInterval = 3600)
            async throws -> Fixture
        {
            let graph = try await FakeMicrosoftGraph.start()
            let http = HTTPClient(retry: retry, logger: TestStack.logger)
            let provider = MicrosoftGraphProvider(
                graphURL: graph.graphURL, oauth: graph.oauth(http: http), http: http, maxPageSize: maxPageSize)
            let connection = CalendarConnection(
                id: UUID(), tenantID: "acme", owner: "alex@example.com", kind: .microsoft, name: "outlook",
                settings: ConnectionSettings(timeZone: "Europe/Berlin"),
                credentials: graph.credentials(accessTokenLifetime: accessTokenLifetime), cursor: nil)
            return Fixture(graph: graph, provider: provider, connection: connection)
        }

        /// Syncs, and keeps the cursor and any refreshed credentials as the scheduler does.
        @discardableResult
        mutating func sync(window: DateInterval = MicrosoftGraphProviderTests.window) async throws -> SyncBatch {
            let batch = try await provider.sync(connection, window: window)
            connection.cursor = batch.cursor
            if let refreshed = batch.refreshedCredentials { connection.credentials = refreshed }
            return batch
        }
    }

    static func meeting(_ id: String, hoursFromNow hours: Double, subject: String? = nil) -> Event {
        let start = now.addingTimeInterval(hours * 3600)
        return Event(id: id, subject: subject ?? "Meeting \(id)", start: start, end: start.addingTimeInterval(1800))
    }

    /// Seven events in the window (ids e1…e7) and one a month out.
    static func seedCalendar(_ graph: FakeMicrosoftGraph) {
        for index in 1...7 { graph.put(meeting("e\(index)", hoursFromNow: Double(index * 20))) }
        graph.put(meeting("far", hoursFromNow: 24 * 30))
    }

    // MARK: - Full sync

    @Test("a full sync reads every page of the calendar view, at most maxpagesize events each")
    func fullSyncOverPages() async throws {
        var fixture = try await Fixture.make(maxPageSize: 3)
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)

        let batch = try await fixture.sync()

        #expect(batch.isComplete)
        #expect(batch.items.map(\.itemID) == (1...7).map { "e\($0)" })
        #expect(batch.removedItemIDs.isEmpty)
        #expect(batch.refreshedCredentials == nil, "the access token was still valid")
        let requests = fixture.graph.deltaRequests
        #expect(requests.map(\.served) == [3, 3, 1])
        #expect(requests.allSatisfy { $0.status == 200 })
        // The window is in the first request only; the skip tokens carry it afterwards.
        #expect(requests[0].query["startdatetime"] == "2026-12-08T10:00:00Z")
        #expect(requests[0].query["enddatetime"] == "2026-12-23T10:00:00Z")
        #expect(requests[1].query["$skiptoken"] != nil && requests[1].query["startdatetime"] == nil)
        #expect(requests[2].query["$skiptoken"] != nil)
        for request in requests {
            #expect(request.preferences.contains("odata.maxpagesize=3"))
            #expect(request.preferences.contains("outlook.timezone=\"UTC\""))
            #expect(request.authorization == "Bearer \(fixture.connection.credentials!.accessToken!)")
        }
        let cursor = try #require(MicrosoftGraphProvider.Cursor(decoding: batch.cursor))
        #expect(cursor.deltaLink.hasPrefix(fixture.graph.graphURL + "/me/calendarView/delta?$deltatoken="))
        #expect(cursor.windowStart == Self.window.start && cursor.windowEnd == Self.window.end)
    }

    @Test("Graph's event fields become the meeting: body text, location, people, join link, status, all-day dates")
    func mapsEventFields() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        let teams =
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ2ZTRm%40thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d"
        var review = Self.meeting("review", hoursFromNow: 2, subject: "Quarterly review")
        review.bodyHTML = """
            <html><head><style>p {margin:0}</style></head><body><p>Agenda:&nbsp;numbers &amp; plans</p>\r\n<p>Bring the Q3 deck<br>and questions</p>\r\n<div>________________</div><a href="\(teams)">Join the meeting now</a></body></html>
            """
        review.location = "Microsoft Teams Meeting"
        review.joinURL = teams
        review.type = "occurrence"
        review.seriesMasterID = "series-1"
        review.showAs = "tentative"
        review.attendees = [
            .init(person: .init(name: "Sam Lee", address: "sam@example.com"), response: "accepted"),
            .init(person: .init(name: "Kim Park", address: "kim@example.com"), response: "tentativelyAccepted", type: "optional"),
            .init(person: .init(name: "Room 4", address: "room4@example.com"), response: "none", type: "resource"),
        ]
        var zoom = Self.meeting("zoom", hoursFromNow: 5)
        zoom.location = "Zoom https://acme.zoom.us/j/123456789"
        var cancelled = Self.meeting("cancelled", hoursFromNow: 6)
        cancelled.isCancelled = true
        let day = Date(timeIntervalSince1970: 1_796_860_800)  // 2026-12-10T00:00:00Z
        var offsite = Event(id: "offsite", subject: "Offsite", start: day, end: day.addingTimeInterval(86_400))
        offsite.isAllDay = true
        offsite.showAs = "oof"
        fixture.graph.put(review, zoom, cancelled, offsite)

        let batch = try await fixture.sync()
        let events = Dictionary(
            uniqueKeysWithValues: batch.items.compactMap { item in item.occurrences.first.map { (item.itemID, $0) } })
        #expect(batch.items.allSatisfy { $0.occurrences.count == 1 })

        let meeting = try #require(events["review"])
        #expect(meeting.uid == "review" && meeting.recurrenceID == nil && meeting.recurrenceRule == nil)
        #expect(meeting.title == "Quarterly review")
        #expect(meeting.description.hasPrefix("Agenda: numbers & plans\nBring the Q3 deck\nand questions\n"))
        #expect(meeting.description.contains("Join the meeting now <\(teams)>"))
        #expect(!meeting.description.contains("<p>") && !meeting.description.contains("margin"))
        #expect(meeting.location == "Microsoft Teams Meeting")
        #expect(meeting.start == Self.now.addingTimeInterval(7200) && meeting.end == Self.now.addingTimeInterval(9000))
        #expect(!meeting.isAllDay)
        #expect(meeting.status == .tentative)
        #expect(meeting.organizer == Attendee(email: "alex@example.com", name: "Alex Rivera"))
        #expect(
            meeting.attendees == [
                Attendee(email: "sam@example.com", name: "Sam Lee", participation: "ACCEPTED", role: "REQ-PARTICIPANT"),
                Attendee(email: "kim@example.com", name: "Kim Park", participation: "TENTATIVE", role: "OPT-PARTICIPANT"),
                Attendee(email: "room4@example.com", name: "Room 4", participation: "NEEDS-ACTION", role: "NON-PARTICIPANT"),
            ])
        #expect(meeting.conferenceURL == teams)

        #expect(events["zoom"]?.conferenceURL == "https://acme.zoom.us/j/123456789", "found in the location")
        #expect(events["zoom"]?.status == .confirmed)
        #expect(events["cancelled"]?.status == .cancelled)

        // An all-day event is a date: midnight to midnight where the calendar's owner lives.
        let allDay = try #require(events["offsite"])
        #expect(allDay.isAllDay)
        #expect(allDay.start == Date(timeIntervalSince1970: 1_796_857_200))  // 2026-12-10T00:00:00+01:00
        #expect(allDay.end == Date(timeIntervalSince1970: 1_796_943_600))  // 2026-12-11T00:00:00+01:00
    }

    // MARK: - Incremental sync

    @Test("an incremental sync returns only what changed, with deletions as removed items")
    func incrementalChangesAndRemovals() async throws {
        var fixture = try await Fixture.make(maxPageSize: 3)
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        try await fixture.sync()
        fixture.graph.clearRequests()

        fixture.graph.put(Self.meeting("e1", hoursFromNow: 20, subject: "Renamed"))
        fixture.graph.delete("e2")
        fixture.graph.put(Self.meeting("e8", hoursFromNow: 30))
        fixture.graph.put(Self.meeting("e3", hoursFromNow: 24 * 40))  // moved out of the window
        fixture.graph.put(Self.meeting("far", hoursFromNow: 24 * 31))  // changed, never in the window

        let batch = try await fixture.sync()

        #expect(!batch.isComplete)
        #expect(batch.items.map(\.itemID) == ["e1", "e8"])
        #expect(batch.items.first?.occurrences.first?.title == "Renamed")
        #expect(batch.removedItemIDs == ["e2", "e3", "far"])
        let requests = fixture.graph.deltaRequests
        #expect(requests.map(\.served) == [3, 2])
        #expect(requests[0].query["$deltatoken"] != nil && requests[0].query["startdatetime"] == nil)
        let cursor = try #require(MicrosoftGraphProvider.Cursor(decoding: batch.cursor))
        #expect(cursor.windowStart == Self.window.start, "the delta link still follows the first window")

        // Nothing changed since: an empty round, and a new delta link.
        fixture.graph.clearRequests()
        let quiet = try await fixture.sync()
        #expect(!quiet.isComplete && quiet.items.isEmpty && quiet.removedItemIDs.isEmpty)
        #expect(fixture.graph.deltaRequests.count == 1)
        #expect(quiet.cursor != batch.cursor)
    }

    @Test("410 Gone for a delta token the service no longer knows starts a full sync in the same call")
    func goneMeansFullResync() async throws {
        var fixture = try await Fixture.make(maxPageSize: 4)
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        try await fixture.sync()
        fixture.graph.delete("e7")
        fixture.graph.forgetSyncState()
        fixture.graph.clearRequests()

        let batch = try await fixture.sync()

        #expect(batch.isComplete, "stored meetings that are gone are cancelled by the complete batch")
        #expect(batch.items.map(\.itemID) == (1...6).map { "e\($0)" })
        let requests = fixture.graph.deltaRequests
        #expect(requests.map(\.status) == [410, 200, 200])
        #expect(requests[0].query["$deltatoken"] != nil)
        #expect(requests[1].query["startdatetime"] == "2026-12-08T10:00:00Z")
        #expect(MicrosoftGraphProvider.Cursor(decoding: batch.cursor)?.deltaLink.contains("$deltatoken=") == true)
    }

    @Test("a window that moved by more than a day starts a full sync; a smaller move keeps the delta link")
    func movedWindowStartsOver() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        try await fixture.sync()
        fixture.graph.clearRequests()

        let anHourLater = DateInterval(
            start: Self.window.start.addingTimeInterval(3600), end: Self.window.end.addingTimeInterval(3600))
        let incremental = try await fixture.sync(window: anHourLater)
        #expect(!incremental.isComplete)
        #expect(fixture.graph.deltaRequests.last?.query["$deltatoken"] != nil)

        let twoDaysLater = DateInterval(
            start: Self.window.start.addingTimeInterval(2 * 86_400), end: Self.window.end.addingTimeInterval(2 * 86_400))
        let full = try await fixture.sync(window: twoDaysLater)
        #expect(full.isComplete)
        #expect(fixture.graph.deltaRequests.last?.query["startdatetime"] == "2026-12-10T10:00:00Z")
        let cursor = try #require(MicrosoftGraphProvider.Cursor(decoding: full.cursor))
        #expect(cursor.windowStart == twoDaysLater.start && cursor.windowEnd == twoDaysLater.end)

        // A cursor this provider did not write (an older format) also means a full sync.
        fixture.connection.cursor = fixture.graph.graphURL + "/me/calendarView/delta?$deltatoken=legacy"
        let afterLegacy = try await fixture.sync()
        #expect(afterLegacy.isComplete)
    }

    // MARK: - Authorisation

    @Test("an access token refused with 401 is refreshed once, and the sync goes on with it")
    func expiredTokenIsRefreshed() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        let original = try #require(fixture.connection.credentials)
        fixture.graph.expireAccessTokens()  // earlier than the client was told

        let batch = try await fixture.sync()

        #expect(batch.isComplete && batch.items.count == 7)
        let refreshed = try #require(batch.refreshedCredentials)
        #expect(refreshed.accessToken != nil && refreshed.accessToken != original.accessToken)
        #expect(refreshed.refreshToken != original.refreshToken, "Microsoft rotates refresh tokens; the newest is kept")
        #expect(abs((refreshed.accessTokenExpiresAt ?? .distantPast).timeIntervalSinceNow - 3599) < 60)
        #expect(fixture.graph.deltaRequests.map(\.status) == [401, 200])
        #expect(fixture.graph.deltaRequests.last?.authorization == "Bearer \(refreshed.accessToken!)")
        let form = try #require(fixture.graph.tokenRequests.first?.form)
        #expect(form["grant_type"] == "refresh_token")
        #expect(form["refresh_token"] == original.refreshToken)
        #expect(form["client_id"] == FakeMicrosoftGraph.clientID)
        #expect(
            form["scope"] == "offline_access \(fixture.graph.graphURL.replacingOccurrences(of: "/v1.0", with: ""))/Calendars.Read"
        )
    }

    @Test("an access token past its expiry is refreshed before Graph sees it")
    func staleTokenIsRefreshedFirst() async throws {
        var fixture = try await Fixture.make(accessTokenLifetime: -60)
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)

        let batch = try await fixture.sync()

        #expect(batch.refreshedCredentials != nil)
        #expect(fixture.graph.tokenRequests.count == 1)
        #expect(fixture.graph.deltaRequests.map(\.status) == [200])
    }

    @Test("a revoked grant (invalid_grant) stops the connection as authorisation revoked")
    func revokedGrant() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        fixture.graph.expireAccessTokens()
        fixture.graph.revokeRefreshTokens()

        await #expect {
            try await fixture.provider.sync(fixture.connection, window: Self.window)
        } throws: { error in
            guard case CalendarSyncError.authorizationRevoked(let reason) = error else { return false }
            return reason.contains("invalid_grant") && reason.contains("AADSTS50173")
        }
        #expect(fixture.graph.deltaRequests.map(\.status) == [401])
        #expect(fixture.graph.tokenRequests.map(\.status) == [400])
    }

    // MARK: - Throttling

    @Test("429 and 503 with Retry-After are rate limiting, with the wait Graph asked for", arguments: [429, 503])
    func throttled(status: Int) async throws {
        var fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        fixture.graph.throttle(next: 1, status: status, retryAfter: "37")

        await #expect {
            try await fixture.provider.sync(fixture.connection, window: Self.window)
        } throws: { error in
            guard case CalendarSyncError.rateLimited(let after) = error else { return false }
            return after == .seconds(37)
        }
        // The throttle has passed: the next sync works.
        let afterThrottle = try await fixture.sync()
        #expect(afterThrottle.items.count == 7)
    }

    @Test("a short Retry-After is waited out by the HTTP client's retry policy")
    func shortThrottleIsWaitedOut() async throws {
        var fixture = try await Fixture.make(retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(10)))
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        fixture.graph.throttle(next: 1, retryAfter: "1")

        let batch = try await fixture.sync()

        #expect(batch.items.count == 7)
        #expect(fixture.graph.deltaRequests.map(\.status) == [429, 200])
    }

    // MARK: - Links elsewhere

    /// A Graph-shaped server on another host, counting the requests that reach it.
    static func graphElsewhere() async throws -> FakeServer {
        try await FakeServer { router, recorder in
            router.get("/v1.0/me/calendarView/delta") { _, _ -> String in
                _ = recorder.hit()
                return "{\"value\": []}"
            }
        }
    }

    @Test("a stored delta link on another host is never followed: a full sync on the configured Graph instead")
    func foreignDeltaLinkIsRefused() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        let elsewhere = try await Self.graphElsewhere()
        defer { elsewhere.stop() }
        fixture.connection.cursor = MicrosoftGraphProvider.Cursor(
            deltaLink: elsewhere.url + "/v1.0/me/calendarView/delta?$deltatoken=abc", windowStart: Self.window.start,
            windowEnd: Self.window.end
        ).encoded()

        let batch = try await fixture.sync()

        #expect(elsewhere.hits.isEmpty, "the bearer token must not go to another host")
        #expect(batch.isComplete && batch.items.count == 7)
        #expect(MicrosoftGraphProvider.Cursor(decoding: batch.cursor)?.deltaLink.hasPrefix(fixture.graph.graphURL) == true)
    }

    @Test("a next link to another host in a Graph response fails the sync without following it")
    func foreignNextLinkIsRefused() async throws {
        let fixture = try await Fixture.make(maxPageSize: 2)
        defer { fixture.graph.stop() }
        Self.seedCalendar(fixture.graph)
        let elsewhere = try await Self.graphElsewhere()
        defer { elsewhere.stop() }
        fixture.graph.sendLinks(toOrigin: elsewhere.url)

        await #expect {
            try await fixture.provider.sync(fixture.connection, window: Self.window)
        } throws: { error in
            guard case CalendarSyncError.failed(let reason) = error else { return false }
            return reason.contains("refusing") && !reason.contains("skiptoken")
        }
        #expect(elsewhere.hits.isEmpty)
        #expect(fixture.graph.deltaRequests.count == 1)
    }

    @Test("only links on the configured Graph's scheme, host and port count as Graph")
    func graphOrigin() throws {
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        let oauth = OAuthClient(
            tokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token", clientID: "c", clientSecret: "s",
            scope: MicrosoftGraphProvider.scope(), http: http)
        let provider = MicrosoftGraphProvider(oauth: oauth, http: http)
        #expect(provider.isOnGraphOrigin("https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x"))
        #expect(provider.isOnGraphOrigin("https://GRAPH.microsoft.com:443/v1.0/me/calendarView/delta?$skiptoken=x"))
        #expect(!provider.isOnGraphOrigin("http://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x"))
        #expect(!provider.isOnGraphOrigin("https://graph.microsoft.com:8443/v1.0/me/calendarView/delta"))
        #expect(!provider.isOnGraphOrigin("https://graph.microsoft.com.evil.example/v1.0/me/calendarView/delta"))
        #expect(!provider.isOnGraphOrigin("https://graph.microsoft.com@evil.example/v1.0/me/calendarView/delta"))
        #expect(!provider.isOnGraphOrigin("/v1.0/me/calendarView/delta"))
        #expect(MicrosoftGraphProvider.scope() == "offline_access https://graph.microsoft.com/Calendars.Read")
        #expect(
            MicrosoftGraphProvider.scope(graphURL: "https://graph.microsoft.us/v1.0")
                == "offline_access https://graph.microsoft.us/Calendars.Read")
    }

    @Test("ATTACHE_MICROSOFT_* settings: off without a client id, defaults for the public cloud, errors named")
    func settings() throws {
        #expect(try MicrosoftGraphSettings(Environment([:])) == nil)
        let settings = try #require(
            try MicrosoftGraphSettings(
                Environment([
                    "ATTACHE_MICROSOFT_CLIENT_ID": "app", "ATTACHE_MICROSOFT_CLIENT_SECRET": "secret",
                    "ATTACHE_MICROSOFT_TENANT": "contoso.onmicrosoft.com",
                ])))
        #expect(settings.tokenURL == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        #expect(settings.graphURL == "https://graph.microsoft.com/v1.0")
        #expect(settings.scope == "offline_access https://graph.microsoft.com/Calendars.Read")
        #expect(throws: ConfigurationError.self) {
            _ = try MicrosoftGraphSettings(Environment(["ATTACHE_MICROSOFT_CLIENT_ID": "app"]))
        }
        #expect(throws: ConfigurationError.self) {
            _ = try MicrosoftGraphSettings(
                Environment([
                    "ATTACHE_MICROSOFT_CLIENT_ID": "app", "ATTACHE_MICROSOFT_CLIENT_SECRET": "s",
                    "ATTACHE_MICROSOFT_TENANT": "../evil",
                ]))
        }
        #expect(throws: ConfigurationError.self) {
            _ = try MicrosoftGraphSettings(
                Environment([
                    "ATTACHE_MICROSOFT_CLIENT_ID": "app", "ATTACHE_MICROSOFT_CLIENT_SECRET": "s",
                    "ATTACHE_MICROSOFT_GRAPH_URL": "graph.microsoft.com",
                ]))
        }
    }

    // MARK: - Mapping details

    @Test("times in other zones, text bodies, replays and partial entries")
    func mappingDetails() throws {
        let json = """
            {"value": [
              {"id": "a", "subject": "Pacific", "start": {"dateTime": "2026-12-09T09:30:00.0000000", "timeZone": "Pacific Standard Time"},
               "end": {"dateTime": "2026-12-09T10:00:00.5000000", "timeZone": "America/Los_Angeles"},
               "body": {"contentType": "text", "content": "Dial in: https://acme.webex.com/meet/pat"}, "bodyPreview": "Dial in",
               "onlineMeeting": null, "onlineMeetingUrl": null, "location": {"displayName": ""},
               "locations": [{"displayName": "Room 1"}, {"displayName": "Room 2"}], "attendees": [{"emailAddress": {"name": "No address"}}]},
              {"id": "b", "@removed": {"reason": "changed"}},
              {"id": "a", "subject": "Pacific (moved)", "start": {"dateTime": "2026-12-09T17:30:00Z", "timeZone": "UTC"},
               "end": {"dateTime": "2026-12-09T18:00:00", "timeZone": "tzone://Microsoft/Utc"}},
              {"id": "c", "subject": "Only a changed subject"}
            ]}
            """
        let page = try JSONDecoder().decode(MicrosoftGraphProvider.DeltaPage.self, from: Data(json.utf8))
        #expect(page.nextLink == nil && page.deltaLink == nil)

        let first = try #require(MicrosoftGraphProvider.calendarEvent(from: page.value[0], defaultTimeZone: .gmt))
        #expect(first.start == Date(timeIntervalSince1970: 1_796_837_400))  // 17:30Z
        #expect(abs(first.end.timeIntervalSince1970 - 1_796_839_200.5) < 0.001)
        #expect(first.description == "Dial in: https://acme.webex.com/meet/pat")
        #expect(first.conferenceURL == "https://acme.webex.com/meet/pat")
        #expect(first.location == "Room 1; Room 2")
        #expect(first.attendees.isEmpty, "an attendee without an address cannot be matched to anyone")

        // The last state of "a" wins, in the order of its first appearance.
        #expect(MicrosoftGraphProvider.collapse(page.value).map(\.id) == ["a", "b", "c"])
        #expect(MicrosoftGraphProvider.collapse(page.value)[0].subject == "Pacific (moved)")
        // "c" has no times: an incremental round with it falls back to a full sync.
        #expect(MicrosoftGraphProvider.changes(in: page.value, defaultTimeZone: .gmt) == nil)
        let withoutPartial = MicrosoftGraphProvider.changes(in: Array(page.value.prefix(3)), defaultTimeZone: .gmt)
        #expect(withoutPartial?.items.map(\.itemID) == ["a"])
        #expect(withoutPartial?.removed == ["b"])
        #expect(withoutPartial?.items.first?.occurrences.first?.start == Date(timeIntervalSince1970: 1_796_837_400))

        #expect(HTTPClient.retryAfter("120") == .seconds(120))
        #expect(HTTPClient.retryAfter("Wed, 09 Dec 2026 10:01:00 GMT", now: Self.now) == .seconds(60))
        #expect(HTTPClient.retryAfter(nil) == nil)
        #expect(MicrosoftGraphProvider.plainText(fromHTML: "<p>a&lt;b &#8211; c&#x2014;d</p><p></p><p>e</p>") == "a<b – c—d\n\ne")
        #expect(
            MicrosoftGraphProvider.plainText(
                fromHTML: "Join: <a href=\"https://acme.zoom.us/j/1?pwd=a&amp;b\">https://acme.zoom.us/j/1?pwd=a&amp;b</a>")
                == "Join: https://acme.zoom.us/j/1?pwd=a&b")
    }
}
