import Foundation
import HTTPClient
import ICalendar
import Logging
import Shared
import Synchronization
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("Google Calendar provider against a fake Google")
struct GoogleCalendarProviderTests {
    typealias Event = FakeGoogleCalendar.Event
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    /// The calendar's meetings and the sync window are placed around this instant, so that no
    /// outcome depends on the day the suite runs.
    static let now = Date(timeIntervalSince1970: 1_796_810_400)  // 2026-12-09T10:00:00Z
    static let refreshToken = "1//refresh-alex"
    static let push = GoogleCalendarProvider.PushSettings(
        address: "https://gateway.example.com/webhooks/google-calendar", secret: "correct horse battery staple")

    /// A connection synced the way SyncScheduler and ConnectionStore do it: what a batch says
    /// (cursor, refreshed credentials, renewed channel) is kept for the next sync.
    struct Fixture {
        let fake: FakeGoogleCalendar
        let provider: GoogleCalendarProvider
        let logs: CapturedLogs
        var connection: CalendarConnection
        let window: DateInterval

        static func make(
            push: GoogleCalendarProvider.PushSettings? = nil,
            retry: RetryPolicy = RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10), longestRetryAfter: .seconds(5))
        ) async throws -> Fixture {
            let fake = try await FakeGoogleCalendar.start(refreshTokens: [GoogleCalendarProviderTests.refreshToken])
            let logs = CapturedLogs()
            let http = HTTPClient(retry: retry, logger: logs.logger)
            let oauth = OAuthClient(
                tokenURL: fake.tokenURL, clientID: FakeGoogleCalendar.clientID, clientSecret: FakeGoogleCalendar.clientSecret,
                scope: nil, http: http)
            let provider = GoogleCalendarProvider(apiURL: fake.apiURL, oauth: oauth, http: http, push: push, logger: logs.logger)
            let connection = CalendarConnection(
                id: UUID(), tenantID: "acme", owner: "alex@example.com", kind: .google, name: "work",
                settings: ConnectionSettings(calendarID: "primary", timeZone: "America/New_York"),
                credentials: ConnectionCredentials(refreshToken: GoogleCalendarProviderTests.refreshToken), cursor: nil)
            let now = GoogleCalendarProviderTests.now
            return Fixture(
                fake: fake, provider: provider, logs: logs, connection: connection,
                window: DateInterval(start: now.addingTimeInterval(-86_400), end: now.addingTimeInterval(14 * 86_400)))
        }

        mutating func sync() async throws -> SyncBatch {
            let batch = try await provider.sync(connection, window: window)
            connection.cursor = batch.cursor
            if let credentials = batch.refreshedCredentials { connection.credentials = credentials }
            if let settings = batch.updatedSettings { connection.settings = settings }
            return batch
        }

        func stop() { fake.stop() }
    }

    // MARK: - Calendar content

    /// Midnight in Berlin `days` after the day of `now`, plus `hours`.
    static func at(days: Int, hours: Double = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        let midnight = calendar.date(byAdding: .day, value: days, to: calendar.startOfDay(for: now))!
        return midnight.addingTimeInterval(hours * 3600)
    }

    /// As Google writes it: local wall-clock time with the offset, e.g. 2026-12-10T10:00:00+01:00.
    static func berlinTime(_ date: Date) -> Event.Time {
        Event.Time(date, in: berlin)
    }

    static func event(_ id: String, _ title: String, start: Date, minutes: Double = 30, series: String? = nil) -> Event {
        var event = Event(
            id: id, summary: title, start: berlinTime(start), end: berlinTime(start.addingTimeInterval(minutes * 60)))
        event.organizer = .init(email: "alex@example.com", displayName: "Alex Rivera")
        event.attendees = [.init(email: "alex@example.com", responseStatus: "accepted", organizer: true)]
        if let series {
            event.recurringEventId = series
            event.originalStartTime = berlinTime(start)
        }
        return event
    }

    /// Six meetings in the window (three instances of a daily stand-up, a review, an all-day
    /// offsite, a lunch with a Teams link in its description), one long past, and two blocks of
    /// the owner's own time (a working location and focus time) that are not meetings.
    static func seed(_ fake: FakeGoogleCalendar) {
        for day in 1...3 {
            var standup = event(
                "standup_\(day)", "Daily stand-up", start: at(days: day, hours: 9.5), minutes: 15, series: "standup")
            standup.hangoutLink = "https://meet.google.com/abc-defg-hij"
            fake.put(standup)
        }
        var review = event("review", "Quarterly review", start: at(days: 2, hours: 14), minutes: 60)
        review.description = "<b>Agenda</b>: numbers"
        review.location = "Room 4.12"
        review.organizer = .init(email: "sam@example.com", displayName: "Sam Lee")
        review.attendees = [
            .init(email: "sam@example.com", displayName: "Sam Lee", responseStatus: "accepted", organizer: true),
            .init(email: "alex@example.com", displayName: "Alex Rivera", responseStatus: "tentative"),
            .init(email: "kim@example.com", responseStatus: "declined", optional: true),
            .init(email: "lee@example.com", responseStatus: "needsAction"),
            .init(
                email: "room-412@resource.calendar.google.com", displayName: "Room 4.12", responseStatus: "accepted",
                resource: true),
        ]
        review.conferenceData = .init(entryPoints: [
            .init(entryPointType: "phone", uri: "tel:+1-555-0100"),
            .init(entryPointType: "video", uri: "https://zoom.us/j/123456789"),
        ])
        fake.put(review)
        var offsite = Event(id: "offsite", summary: "Team offsite", start: .init(date: day(4)), end: .init(date: day(6)))
        offsite.status = "tentative"
        fake.put(offsite)
        var lunch = event("lunch", "Lunch & learn", start: at(days: 3, hours: 12), minutes: 60)
        lunch.description = "Join: https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc/0 (Teams)"
        fake.put(lunch)
        fake.put(event("old", "Last month's retro", start: at(days: -30, hours: 10)))
        var office = Event(
            id: "wl-office", eventType: "workingLocation", summary: "Office", start: .init(date: day(1)), end: .init(date: day(2))
        )
        office.organizer = .init(email: "alex@example.com")
        fake.put(office)
        fake.put(
            Event(
                id: "focus", eventType: "focusTime", summary: "Focus time", start: berlinTime(at(days: 1, hours: 13)),
                end: berlinTime(at(days: 1, hours: 15))))
    }

    /// `yyyy-mm-dd` of the Berlin day `days` after the day of `now`.
    static func day(_ days: Int) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        let parts = calendar.dateComponents([.year, .month, .day], from: at(days: days))
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    static func occurrence(_ batch: SyncBatch, _ id: String) -> CalendarEvent? {
        batch.items.first { $0.itemID == id }?.occurrences.first
    }

    // MARK: - Full sync

    @Test("a full sync reads every page, bounded by the window, and maps each instance to an item of its own")
    func fullSyncOverPages() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        fixture.fake.setPageSize(2)

        let batch = try await fixture.sync()

        #expect(batch.isComplete)
        #expect(batch.removedItemIDs.isEmpty)
        #expect(Set(batch.items.map(\.itemID)) == ["standup_1", "standup_2", "standup_3", "review", "offsite", "lunch"])
        let queries = fixture.fake.listQueries
        #expect(queries.count == 4, "eight events in the window at two per page")
        for query in queries {
            #expect(query["singleEvents"] == "true")
            #expect(query["showDeleted"] == "true")
            #expect(query["maxResults"] == "250")
            #expect(query["syncToken"] == nil)
            #expect(query["timeMin"] == GoogleCalendarProvider.rfc3339(fixture.window.start))
            #expect(query["timeMax"] == GoogleCalendarProvider.rfc3339(fixture.window.end))
        }
        #expect(queries[0]["pageToken"] == nil)
        #expect(queries[1]["pageToken"] != nil && queries[2]["pageToken"] != nil, "later pages name the page")
        let cursor = try #require(GoogleCalendarProvider.Cursor(batch.cursor))
        #expect(cursor.syncToken.hasPrefix("sync-"))
        #expect(
            cursor.windowEnd.timeIntervalSince(fixture.window.end) <= 0
                && cursor.windowEnd.timeIntervalSince(fixture.window.end) > -1)

        // Each instance is its own item: uid = the instance id, no recurrence id.
        for id in ["standup_1", "standup_2", "standup_3"] {
            let item = try #require(batch.items.first { $0.itemID == id })
            #expect(item.occurrences.count == 1)
            #expect(item.occurrences[0].uid == id)
            #expect(item.occurrences[0].recurrenceID == nil)
            #expect(item.occurrences[0].conferenceURL == "https://meet.google.com/abc-defg-hij")
            #expect(item.occurrences[0].title == "Daily stand-up")
        }
        let standup = try #require(Self.occurrence(batch, "standup_2"))
        #expect(standup.start == Self.at(days: 2, hours: 9.5))
        #expect(standup.end == Self.at(days: 2, hours: 9.75))
        #expect(!standup.isAllDay)

        let review = try #require(Self.occurrence(batch, "review"))
        #expect(review.status == .confirmed)
        #expect(review.description == "<b>Agenda</b>: numbers")
        #expect(review.location == "Room 4.12")
        #expect(review.organizer == Attendee(email: "sam@example.com", name: "Sam Lee"))
        #expect(
            review.attendees.map(\.email) == [
                "sam@example.com", "alex@example.com", "kim@example.com", "lee@example.com",
                "room-412@resource.calendar.google.com",
            ])
        #expect(review.attendees.map(\.participation) == ["ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION", "ACCEPTED"])
        #expect(
            review.attendees.map(\.role) == ["CHAIR", "REQ-PARTICIPANT", "OPT-PARTICIPANT", "REQ-PARTICIPANT", "NON-PARTICIPANT"])
        #expect(review.attendees[1].name == "Alex Rivera")
        #expect(review.conferenceURL == "https://zoom.us/j/123456789", "the video entry point, not the phone one")

        let offsite = try #require(Self.occurrence(batch, "offsite"))
        #expect(offsite.isAllDay)
        #expect(offsite.status == .tentative)
        #expect(offsite.start == Self.at(days: 4), "all-day dates start at midnight in the calendar's zone (Europe/Berlin)")
        #expect(offsite.end == Self.at(days: 6), "the end date is exclusive")

        let lunch = try #require(Self.occurrence(batch, "lunch"))
        #expect(lunch.conferenceURL == "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc/0")

        // The connection held only a refresh token: the provider fetched an access token.
        #expect(fixture.fake.tokenRequests == 1)
        let credentials = try #require(batch.refreshedCredentials)
        #expect(credentials.accessToken?.hasPrefix("ya29.") == true)
        #expect(credentials.refreshToken == Self.refreshToken)
    }

    // MARK: - Incremental sync

    @Test("an incremental sync sends only the sync token and returns only the changes, deletions included")
    func incrementalSync() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        let first = try await fixture.sync()
        let firstCursor = try #require(GoogleCalendarProvider.Cursor(first.cursor))

        fixture.fake.change("standup_2") {
            $0.summary = "Daily stand-up (moved)"
            $0.start = Self.berlinTime(Self.at(days: 2, hours: 10))
            $0.end = Self.berlinTime(Self.at(days: 2, hours: 10.25))
        }
        fixture.fake.delete("standup_3")  // one instance of the series deleted
        fixture.fake.delete("lunch")  // a single event deleted
        fixture.fake.change("review") { $0.status = "cancelled" }  // cancelled, still with its details
        fixture.fake.put(Self.event("planning", "Sprint planning", start: Self.at(days: 5, hours: 11), minutes: 90))
        fixture.fake.put(Self.event("far", "Next quarter kickoff", start: Self.at(days: 60, hours: 9)))

        let batch = try await fixture.sync()

        let query = try #require(fixture.fake.listQueries.last)
        #expect(query["syncToken"] == firstCursor.syncToken)
        #expect(query["timeMin"] == nil && query["timeMax"] == nil, "Google refuses time bounds with a sync token")
        #expect(
            query["singleEvents"] == "true" && query["showDeleted"] == "true", "the other parameters stay as in the full sync")
        #expect(!batch.isComplete)
        #expect(Set(batch.items.map(\.itemID)) == ["standup_2", "review", "planning", "far"])
        #expect(Set(batch.removedItemIDs) == ["standup_3", "lunch"], "deleted events arrive as bare ids")
        #expect(Self.occurrence(batch, "standup_2")?.title == "Daily stand-up (moved)")
        #expect(Self.occurrence(batch, "standup_2")?.start == Self.at(days: 2, hours: 10))
        #expect(Self.occurrence(batch, "review")?.status == .cancelled)
        #expect(batch.items.allSatisfy { $0.occurrences.count == 1 })
        #expect(!batch.items.contains { $0.itemID == "standup_1" }, "an untouched sibling instance is not in the batch")
        let cursor = try #require(GoogleCalendarProvider.Cursor(batch.cursor))
        #expect(cursor.syncToken != firstCursor.syncToken)
        #expect(cursor.windowEnd == firstCursor.windowEnd, "the full sync's window end is carried forward")

        let quiet = try await fixture.sync()
        #expect(quiet.items.isEmpty && quiet.removedItemIDs.isEmpty && !quiet.isComplete)
        #expect(quiet.cursor == batch.cursor)
        #expect(fixture.fake.listQueries.count == 3)
    }

    @Test("410 Gone drops the sync token and reads the calendar in full in the same call")
    func goneMeansFullSync() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        let first = try await fixture.sync()
        fixture.fake.invalidateSyncTokens()
        fixture.fake.delete("lunch")

        let batch = try await fixture.sync()

        let queries = fixture.fake.listQueries
        #expect(queries.count == 3)
        #expect(queries[1]["syncToken"] != nil, "the incremental attempt")
        #expect(queries[2]["syncToken"] == nil && queries[2]["timeMin"] != nil, "then a full read")
        #expect(batch.isComplete)
        #expect(batch.cursor != first.cursor)
        #expect(Set(batch.items.map(\.itemID)) == ["standup_1", "standup_2", "standup_3", "review", "offsite", "lunch"])
        #expect(Self.occurrence(batch, "lunch")?.status == .cancelled, "showDeleted=true: the deleted event comes back cancelled")
        #expect(GoogleCalendarProvider.Cursor(batch.cursor) != nil)
    }

    @Test("once the window has moved well past the last full sync, or the cursor is not ours, the sync is a full one")
    func periodicFullSync() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        _ = try await fixture.sync()
        let cursor = try #require(GoogleCalendarProvider.Cursor(fixture.connection.cursor))

        fixture.connection.cursor =
            GoogleCalendarProvider.Cursor(
                syncToken: cursor.syncToken, windowEnd: fixture.window.end.addingTimeInterval(-7 * 3600)
            ).text
        #expect(try await fixture.sync().isComplete)
        #expect(fixture.fake.listQueries.last?["timeMin"] != nil)

        fixture.connection.cursor = "CPDAlvWDx70CEPDAlvWDx70CGAU="
        #expect(try await fixture.sync().isComplete)

        #expect(try await fixture.sync().isComplete == false, "and incremental again after that")
    }

    // MARK: - Authorisation

    @Test("an access token that Google no longer accepts is refreshed once and the request repeated")
    func refreshesOn401() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        _ = try await fixture.sync()
        let before = try #require(fixture.connection.credentials?.accessToken)
        #expect(fixture.connection.credentials?.accessTokenExpiresAt ?? .distantPast > Date().addingTimeInterval(3000))

        fixture.fake.expireAccessTokens()
        fixture.fake.put(Self.event("planning", "Sprint planning", start: Self.at(days: 5, hours: 11)))
        let batch = try await fixture.sync()

        #expect(fixture.fake.tokenRequests == 2)
        let refreshed = try #require(batch.refreshedCredentials, "the new access token must be stored")
        #expect(refreshed.accessToken != before)
        #expect(refreshed.refreshToken == Self.refreshToken)
        #expect(batch.items.map(\.itemID) == ["planning"])

        let unchanged = try await fixture.sync()
        #expect(unchanged.refreshedCredentials == nil, "a token still valid is reused, not refreshed")
        #expect(fixture.fake.tokenRequests == 2)

        let logged = fixture.logs.all
        for secret in [before, refreshed.accessToken!, Self.refreshToken, FakeGoogleCalendar.clientSecret] {
            #expect(!logged.contains(secret), "a token appeared in the logs")
        }
    }

    @Test("a revoked refresh token stops the connection: authorizationRevoked")
    func revokedRefreshToken() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        fixture.fake.revoke(refreshToken: Self.refreshToken)
        await #expect {
            _ = try await fixture.sync()
        } throws: { error in
            guard case CalendarSyncError.authorizationRevoked(let why) = error else { return false }
            return why.contains("invalid_grant")
        }
        #expect(fixture.fake.listQueries.isEmpty)
    }

    @Test("revoked while an access token was still held: the 401, the refresh, then authorizationRevoked")
    func revokedMidway() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        _ = try await fixture.sync()
        fixture.fake.revoke(refreshToken: Self.refreshToken)
        fixture.fake.expireAccessTokens()
        await #expect {
            _ = try await fixture.sync()
        } throws: { error in
            guard case CalendarSyncError.authorizationRevoked = error else { return false }
            return true
        }
        #expect(fixture.fake.tokenRequests == 2, "the forced refresh was tried")
        #expect(fixture.fake.listQueries.count == 1, "nothing listed after the 401 (the fake counts only authorised listings)")
    }

    // MARK: - Rate limits

    @Test("429 with Retry-After is waited out as asked, then the sync goes on")
    func honoursRetryAfter() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        fixture.fake.failNextList(.tooManyRequests(retryAfter: "1"))

        let batch = try await fixture.sync()

        #expect(batch.isComplete && batch.items.count == 6)
        let times = fixture.fake.listTimes
        #expect(times.count == 2)
        #expect(times[1] - times[0] >= .milliseconds(900), "waited the second Google asked for, not the 10 ms backoff")
    }

    @Test("a longer Retry-After than we wait in-line, and 403 rateLimitExceeded, are rateLimited for the scheduler")
    func rateLimitedErrors() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)

        fixture.fake.failNextList(.tooManyRequests(retryAfter: "3600"))
        await #expect {
            _ = try await fixture.sync()
        } throws: { error in
            guard case CalendarSyncError.rateLimited(let after) = error else { return false }
            return after == .seconds(3600)
        }
        #expect(fixture.fake.listQueries.count == 1)

        fixture.fake.failNextList(.rateLimitExceeded403)
        await #expect {
            _ = try await fixture.sync()
        } throws: { error in
            guard case CalendarSyncError.rateLimited(nil) = error else { return false }
            return true
        }
        #expect(fixture.fake.listQueries.count == 2, "a 403 is not retried in-line")

        fixture.fake.failNextList(.serverError)
        await #expect {
            _ = try await fixture.sync()
        } throws: { error in
            guard case CalendarSyncError.failed(let why) = error else { return false }
            return why.contains("500") && why.contains("backendError")
        }
        #expect(fixture.connection.cursor == nil, "nothing was recorded by the failed syncs")
        #expect(try await fixture.sync().isComplete)
    }

    // MARK: - Push channels

    @Test("a push channel is opened after the first sync, renewed before it expires, and the old one stopped")
    func pushChannelLifecycle() async throws {
        var fixture = try await Fixture.make(push: Self.push)
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        fixture.fake.setChannelTTLCap(seconds: 1800)  // Google grants half an hour: due for renewal at once

        let first = try await fixture.sync()
        let opened = try #require(fixture.fake.channels.first)
        #expect(fixture.fake.channels.count == 1)
        #expect(opened.address == Self.push.address)
        #expect(opened.requestedTTL == "604800")
        #expect(opened.token == GoogleChannelToken.token(channelID: opened.id, secret: Self.push.secret))
        #expect(UUID(uuidString: opened.id) != nil)
        let settings = try #require(first.updatedSettings)
        #expect(settings.channelID == opened.id)
        #expect(settings.channelResourceID == "resource-primary")
        #expect(abs((settings.channelExpiresAt ?? .distantPast).timeIntervalSince(opened.expiration)) < 0.01)
        #expect(settings.calendarID == "primary" && settings.timeZone == "America/New_York", "other settings are kept")

        let second = try await fixture.sync()
        let channels = fixture.fake.channels
        #expect(channels.count == 2)
        #expect(channels[0].stopped, "the old channel is stopped")
        #expect(!channels[1].stopped)
        #expect(second.updatedSettings?.channelID == channels[1].id)

        fixture.fake.setChannelTTLCap(seconds: 7 * 86_400)
        let third = try await fixture.sync()
        #expect(fixture.fake.channels.count == 3 && fixture.fake.channels[1].stopped)
        #expect(third.updatedSettings?.channelID == fixture.fake.channels[2].id)

        let fourth = try await fixture.sync()
        #expect(fourth.updatedSettings == nil, "a channel with days to run is left alone")
        #expect(fixture.fake.channels.count == 3)
    }

    @Test("a failed channel renewal does not fail the sync and is tried again at the next one")
    func failedRenewal() async throws {
        var fixture = try await Fixture.make(push: Self.push)
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        fixture.fake.failNextWatch()

        let first = try await fixture.sync()
        #expect(first.isComplete && first.items.count == 6)
        #expect(first.updatedSettings == nil)
        #expect(fixture.fake.channels.isEmpty)
        #expect(fixture.logs.all.contains("cannot open a Google push channel"))

        let second = try await fixture.sync()
        #expect(fixture.fake.channels.count == 1)
        #expect(second.updatedSettings?.channelID == fixture.fake.channels[0].id)
    }

    @Test("without push settings no channel is opened")
    func noPush() async throws {
        var fixture = try await Fixture.make()
        defer { fixture.stop() }
        Self.seed(fixture.fake)
        #expect(try await fixture.sync().updatedSettings == nil)
        #expect(fixture.fake.channels.isEmpty)
    }

    // MARK: - Units

    @Test("channel tokens are hex HMAC-SHA256 of the channel id (the vector bot-gateway is pinned to as well)")
    func channelTokenVector() {
        // printf '%s' f3c0b0de-5d1e-4c3a-9b7e-2f6a1d9c8e70 | openssl dgst -sha256 -hmac 'correct horse battery staple'
        #expect(
            GoogleChannelToken.token(channelID: "f3c0b0de-5d1e-4c3a-9b7e-2f6a1d9c8e70", secret: "correct horse battery staple")
                == "57a6109a8e5564886c15e1dfe427750617af5a3dd64b8c0d81adc669282bf671")
    }

    @Test("RFC 3339 times with offsets, Z, fractions, or none; all-day dates in the given zone")
    func times() throws {
        let utc = Date(timeIntervalSince1970: 1_796_896_800)  // 2026-12-10T10:00:00Z
        let newYork = TimeZone(identifier: "America/New_York")!
        #expect(GoogleTimes.rfc3339("2026-12-10T11:00:00+01:00", defaultZone: newYork) == utc)
        #expect(GoogleTimes.rfc3339("2026-12-10T10:00:00Z", defaultZone: newYork) == utc)
        #expect(GoogleTimes.rfc3339("2026-12-10T05:00:00-05:00", defaultZone: .gmt) == utc)
        #expect(GoogleTimes.rfc3339("2026-12-10T10:00:00.500Z", defaultZone: .gmt) == utc.addingTimeInterval(0.5))
        #expect(GoogleTimes.rfc3339("2026-12-10T05:00:00", defaultZone: newYork) == utc, "no offset: the event's zone")
        #expect(GoogleTimes.rfc3339("2026-02-30T10:00:00Z", defaultZone: .gmt) == nil)
        #expect(GoogleTimes.rfc3339("yesterday", defaultZone: .gmt) == nil)
        #expect(GoogleTimes.day("2026-12-10", in: newYork) == Date(timeIntervalSince1970: 1_796_878_800))  // 05:00Z
        #expect(GoogleTimes.date(.init(dateTime: "2026-12-10T05:00:00", timeZone: "America/New_York"), defaultZone: .gmt) == utc)
        #expect(GoogleCalendarProvider.rfc3339(utc) == "2026-12-10T10:00:00Z")
    }

    @Test("times with an offset, read by arithmetic, agree with Foundation across two centuries, leap days and offsets")
    func timesAgainstFoundation() throws {
        // A fixed spread of instants from 1901 to 2099, each written at offsets east and west
        // (fixed ones: a zone's offsets before 1970 may have seconds, which RFC 3339 has not).
        let zones = [0, 19_800, -12_600, 50_400, -28_800].map { TimeZone(secondsFromGMT: $0)! }
        for step in 0..<400 {
            let instant = Date(timeIntervalSince1970: -2_170_000_000 + Double(step) * 15_569_999)
            for zone in zones {
                let text = instant.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone))
                #expect(GoogleTimes.rfc3339(text, defaultZone: .gmt) == instant, "\(text)")
            }
        }
        let leapDay = Date(timeIntervalSince1970: 1_709_164_800)  // 2024-02-29T00:00:00Z
        #expect(GoogleTimes.rfc3339("2024-02-29t00:00:00z", defaultZone: .gmt) == leapDay)
        #expect(GoogleTimes.rfc3339("  2024-02-29T00:00:00Z\t", defaultZone: .gmt) == leapDay, "spaces around")
        #expect(GoogleTimes.rfc3339("2023-02-29T00:00:00Z", defaultZone: .gmt) == nil, "not a leap year")
        #expect(GoogleTimes.rfc3339("2100-02-29T00:00:00Z", defaultZone: .gmt) == nil, "a century, not a leap year")
        #expect(GoogleTimes.rfc3339("2024-02-29T00:00:00.125Z", defaultZone: .gmt) == leapDay.addingTimeInterval(0.125))
        #expect(GoogleTimes.rfc3339("2024-02-29T00:00:00.Z", defaultZone: .gmt) == nil, "a point without digits")
        #expect(GoogleTimes.rfc3339("2024-02-29T00:00:00+01", defaultZone: .gmt) == nil, "a short offset")
        #expect(GoogleTimes.rfc3339("2024-02-29T00:00:00Zz", defaultZone: .gmt) == nil)
        #expect(GoogleTimes.rfc3339("2024-02-29T24:00:00Z", defaultZone: .gmt) == nil)
    }

    @Test("an events page is read field by field; a field of the wrong type is an error that names it")
    func eventsPages() throws {
        let page = #"""
            {"kind": "calendar#events", "timeZone": "Europe/Paris", "nextSyncToken": "s1", "items": [
              {"id": "e1", "summary": "Budget", "sequence": 2, "start": {"dateTime": "2026-12-10T10:00:00+01:00"},
               "attendees": [{"email": "ada@example.com", "optional": true, "responseStatus": "accepted"}],
               "conferenceData": {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.google.com/abc"}]},
               "reminders": {"useDefault": true}},
              {"id": "e2", "status": "cancelled"}]}
            """#
        let read = try EventsPage(parsing: Array(page.utf8))
        #expect(read.timeZone == "Europe/Paris")
        #expect(read.nextSyncToken == "s1")
        #expect(read.nextPageToken == nil)
        let first = try #require(read.items?.first)
        #expect(first.summary == "Budget")
        #expect(first.sequence == 2)
        #expect(first.start?.dateTime == "2026-12-10T10:00:00+01:00")
        #expect(first.attendees?.first?.optional == true)
        #expect(first.conferenceData?.entryPoints?.first?.uri == "https://meet.google.com/abc")
        #expect(read.items?.last?.status == "cancelled")

        let wrong = page.replacingOccurrences(of: #""optional": true"#, with: #""optional": "yes""#)
        #expect(throws: JSONFieldError(problem: "field items[0].attendees[0].optional is not a boolean")) {
            try EventsPage(parsing: Array(wrong.utf8))
        }
        #expect(throws: JSONTreeError.self) { try EventsPage(parsing: Array(#"{"items": [}"#.utf8)) }
    }

    @Test("cursors round-trip and anything else reads as no cursor")
    func cursors() {
        let cursor = GoogleCalendarProvider.Cursor(
            syncToken: "CPDAlvWDx70CEPDAlvWDx70CGAU=:x", windowEnd: Date(timeIntervalSince1970: 1_796_896_800))
        #expect(GoogleCalendarProvider.Cursor(cursor.text) == cursor)
        #expect(GoogleCalendarProvider.Cursor("CPDAlvWDx70CEPDAlvWDx70CGAU=") == nil)
        #expect(GoogleCalendarProvider.Cursor("g1:abc:token") == nil)
        #expect(GoogleCalendarProvider.Cursor("g1:1796896800:") == nil)
        #expect(GoogleCalendarProvider.Cursor(nil) == nil)
    }
}
