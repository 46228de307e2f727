import Bus
import Delivery
import Foundation
import Runtime
import Shared
import Store
import TestSupport
import Testing

@testable import CalendarMonitor
@testable import OpsConsole

@Suite("Operators' console: signing in and CSRF")
struct ConsoleAccessTests {
    @Test("without a session every page sends the operator to sign in, and every POST is refused")
    func unauthenticated() async throws {
        try await withConsole { console in
            for path in [
                "/", "/meetings", "/meetings/\(UUID().uuidString.lowercased())", "/workflows", "/calls", "/connections",
                "/parked", "/parked/classifier", "/system",
            ] {
                for session in [nil, "made-up-session"] {
                    let response = try await console.get(path, session: session)
                    #expect(response.status == 303, "\(path)")
                    #expect(response.headers["location"] == "/sign-in", "\(path)")
                }
            }
            #expect(try await console.get("/sign-in").status == 200)
            try await console.park("classifier", id: "m-1", reason: "boom")
            let replay = try await console.post("/parked/classifier/replay", [("csrf", "anything")])
            #expect(replay.status == 403)
            #expect(try await console.post("/sign-out", [("csrf", "anything")]).status == 403)
            #expect(try await console.depth(console.queues("classifier").deadLetterQueue) == 1)
            #expect(try await console.depth(console.queues("classifier").workQueue) == 0)
        }
    }

    @Test("a wrong token is refused; the right one gives an HttpOnly, SameSite=Strict session that expires")
    func signIn() async throws {
        try await withConsole { console in
            for wrong in ["", "not-the-token", ConsoleHarness.token + "x", String(ConsoleHarness.token.dropLast())] {
                let refused = try await console.post("/sign-in", [("token", wrong)])
                #expect(refused.status == 401)
                #expect(refused.headers["set-cookie"] == nil)
                #expect(refused.text.contains("That is not the operator token."))
            }
            let accepted = try await console.post("/sign-in", [("token", ConsoleHarness.token)])
            #expect(accepted.status == 303)
            #expect(accepted.headers["location"] == "/meetings")
            let cookie = try #require(accepted.headers["set-cookie"])
            let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(attributes.isSuperset(of: ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"]), "\(cookie)")
            #expect(!attributes.contains("Secure"), "plain HTTP unless ATTACHE_OPS_SECURE_COOKIES is set")

            let (session, _) = try await console.signIn()
            #expect(try await console.get("/meetings", session: session).status == 200)
            console.clock.advance(by: 3599)
            #expect(try await console.get("/meetings", session: session).status == 200)
            console.clock.advance(by: 2)
            #expect(try await console.get("/meetings", session: session).status == 303, "expired after its lifetime")
        }
    }

    @Test(
        "after 10 wrong tokens within a minute an address gets 429 with Retry-After, even with the right token, until the minute has passed"
    )
    func signInThrottled() async throws {
        try await withConsole { console in
            for attempt in 1...10 {
                #expect(try await console.post("/sign-in", [("token", "guess-\(attempt)")]).status == 401, "\(attempt)")
                console.clock.advance(by: 1)
            }
            // The first failure was 10 s ago: the address may try again 50 s from now.
            let refused = try await console.post("/sign-in", [("token", ConsoleHarness.token)])
            #expect(refused.status == 429)
            #expect(refused.headers["retry-after"] == "50")
            #expect(refused.headers["set-cookie"] == nil, "not even the right token gets through")
            #expect(refused.text.contains("Too many wrong tokens from your address: try again in 50 seconds."))
            console.clock.advance(by: 49)
            let still = try await console.post("/sign-in", [("token", ConsoleHarness.token)])
            #expect(still.status == 429)
            #expect(still.headers["retry-after"] == "1")

            // A minute after the first failure, nine failures remain in the window: below the limit.
            console.clock.advance(by: 1)
            let accepted = try await console.post("/sign-in", [("token", ConsoleHarness.token)])
            #expect(accepted.status == 303)
            #expect(accepted.headers["set-cookie"] != nil)
            // Signing in forgets the failures: the next wrong token is only wrong.
            #expect(try await console.post("/sign-in", [("token", "guess")]).status == 401)
        }
    }

    @Test("the sign-in throttle counts each address on its own and forgets failures older than its window")
    func throttleByAddress() {
        let clock = TestClock()
        let throttle = SignInThrottle(limit: 3, window: 60, now: { clock.now })
        for _ in 0..<2 { throttle.failed("192.0.2.1") }
        #expect(throttle.retryAfter("192.0.2.1") == nil, "two failures: below the limit")
        throttle.failed("192.0.2.1")
        #expect(throttle.retryAfter("192.0.2.1") == 60)
        #expect(throttle.retryAfter("192.0.2.2") == nil, "another address is not slowed")
        clock.advance(by: 59.5)
        #expect(throttle.retryAfter("192.0.2.1") == 1, "whole seconds, rounded up")
        clock.advance(by: 0.5)
        #expect(throttle.retryAfter("192.0.2.1") == nil)
    }

    @Test("signing out ends the session and clears the cookie")
    func signOut() async throws {
        try await withConsole { console in
            let (session, csrf) = try await console.signIn()
            let out = try await console.post("/sign-out", [("csrf", csrf)], session: session)
            #expect(out.status == 303)
            #expect(out.headers["set-cookie"]?.contains("Max-Age=0") == true)
            #expect(try await console.get("/meetings", session: session).status == 303)
        }
    }

    @Test("a POST without the session's CSRF token, with another one, or from another site is refused and replays nothing")
    func csrf() async throws {
        try await withConsole { console in
            let (session, csrf) = try await console.signIn()
            let (_, otherCSRF) = try await console.signIn()
            // One character changed (a token that starts with "0" would stay the same under "0").
            let tampered = (csrf.first == "0" ? "1" : "0") + csrf.dropFirst()
            try await console.park("classifier", id: "m-1", reason: "boom")
            let attempts: [([(String, String)], [(name: String, value: String)])] = [
                ([], []), ([("csrf", "")], []), ([("csrf", tampered)], []), ([("csrf", otherCSRF)], []),
                ([("csrf", csrf)], [("Origin", "https://evil.example")]),
                ([("csrf", csrf)], [("Sec-Fetch-Site", "cross-site")]),
            ]
            for (fields, headers) in attempts {
                let response = try await console.post("/parked/classifier/replay", fields, session: session, headers: headers)
                #expect(response.status == 403, "\(fields) \(headers)")
            }
            #expect(
                try await console.post(
                    "/sign-in", [("token", ConsoleHarness.token)], headers: [("Origin", "https://evil.example")]
                ).status == 403)
            #expect(try await console.depth(console.queues("classifier").deadLetterQueue) == 1)
            #expect(try await console.depth(console.queues("classifier").workQueue) == 0)

            // The same request from the console's own page goes through.
            let accepted = try await console.post(
                "/parked/classifier/replay", [("csrf", csrf)], session: session,
                headers: [("Origin", console.base), ("Sec-Fetch-Site", "same-origin")])
            #expect(accepted.status == 303)
            try await eventually("the message back on the work queue") {
                try await console.depth(console.queues("classifier").workQueue) == 1
            }
        }
    }

    @Test("the console refuses to start without an operator token of at least 32 characters, naming the setting")
    func configuration() throws {
        for environment in [[:], ["ATTACHE_OPS_TOKEN": "too-short"]] {
            let error = #expect(throws: ConfigurationError.self) { try ConsoleConfiguration(Environment(environment)) }
            #expect(error?.setting == "ATTACHE_OPS_TOKEN")
        }
        #expect(throws: ConfigurationError.self) {
            _ = try ConsoleConfiguration(
                Environment(["ATTACHE_OPS_TOKEN": ConsoleHarness.token, "ATTACHE_OPS_HTTP_PORT": "http"]))
        }
        let defaults = try ConsoleConfiguration(Environment(["ATTACHE_OPS_TOKEN": ConsoleHarness.token]))
        #expect(defaults.port == 8090 && defaults.host == "127.0.0.1" && !defaults.secureCookies)
        let secure = try ConsoleConfiguration(
            Environment(["ATTACHE_OPS_TOKEN": ConsoleHarness.token, "ATTACHE_OPS_SECURE_COOKIES": "true"]))
        #expect(secure.secureCookies)
    }
}

@Suite("Operators' console: pages")
struct ConsolePageTests {
    @Test("a meeting title and owner holding markup are shown as text, on the list and on the story")
    func escaping() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let id = try await seed.meeting(
                title: "<script>alert('title')</script>", owner: "\"><img src=x onerror=alert(1)>@example.com",
                start: Seed.t0)
            let (session, _) = try await console.signIn()
            for path in ["/meetings", "/meetings/\(id.uuidString.lowercased())"] {
                let page = try await console.get(path, session: session).text
                #expect(!page.contains("<script>alert"), "\(path)")
                #expect(!page.contains("<img"), "\(path)")
                #expect(page.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"), "\(path)")
                #expect(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;@example.com"), "\(path)")
            }
            let headers = try await console.get("/meetings", session: session).headers
            #expect(headers["content-security-policy"]?.contains("script-src 'self'") == true)
        }
    }

    @Test("a meeting's story shows what each of the six services recorded, in time order")
    func story() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let id = try await seed.meeting(
                title: "Quarterly review", owner: "alex@example.com", start: Seed.t0.addingTimeInterval(7200))
            try await seed.story(of: id)
            let other = try await seed.meeting(title: "Someone else's", owner: "sam@example.com", start: Seed.t0)
            try await seed.classification(of: other, at: Seed.t0.addingTimeInterval(5))
            let (session, _) = try await console.signIn()
            let page = try await console.get("/meetings/\(id.uuidString.lowercased())", session: session).text
            let expected = [
                "synced from google", "classified external by rule external-attendees",
                "workflow started", "step gather_context: done", "notification prep via slack",
                "bot bot-1 requested from recall", "bot status joining_call", "call started",
                "Alex: What did we decide about pricing?", "Attaché: We agreed on the annual plan.",
                "stt 180 ms · llm start 200 ms · first token 450 ms · voice to voice 900 ms", "call ended",
                "bot status done", "call received for review", "verdict partial", "the price list was missing",
                "diagnosis", "the agent had no pricing context",
            ]
            var cursor = page.startIndex
            for text in expected {
                let found = page.range(of: HTMLEscaping.escape(text), range: cursor..<page.endIndex)
                #expect(found != nil, "“\(text)” after what came before, in\n\(page)")
                if let found { cursor = found.upperBound }
            }
            #expect(page.contains("took 1500 ms"))
            #expect(!page.contains("Someone else"), "only this meeting's events")
            #expect(try await console.get("/meetings/\(UUID().uuidString.lowercased())", session: session).status == 404)
        }
    }

    @Test("meetings are searched by title, owner and date, and paged from the last row shown")
    func meetingSearch() async throws {
        try await withConsole(pageSize: 5) { console in
            let seed = Seed(console.pool)
            for index in 0..<12 {
                _ = try await seed.meeting(
                    title: index % 3 == 0 ? "Board sync \(index)" : "Standup \(index)",
                    owner: index % 2 == 0 ? "alex@example.com" : "sam@example.com",
                    start: Seed.t0.addingTimeInterval(Double(index) * 86_400))
            }
            let (session, _) = try await console.signIn()
            func titles(_ query: String) async throws -> [String] {
                let page = try await console.get("/meetings?\(query)", session: session).text
                return page.components(separatedBy: "\">").compactMap { part -> String? in
                    guard let end = part.range(of: "</a>") else { return nil }
                    let text = String(part[..<end.lowerBound])
                    return text.hasPrefix("Board") || text.hasPrefix("Standup") ? text : nil
                }
            }
            #expect(try await titles("title=board") == ["Board sync 9", "Board sync 6", "Board sync 3", "Board sync 0"])
            #expect(try await titles("title=board&owner=alex") == ["Board sync 6", "Board sync 0"])
            // t0 is 2026-05-28 20:26:40 UTC, one meeting a day from there; `to` counts its whole day.
            #expect(try await titles("from=2026-05-29&to=2026-05-30") == ["Standup 2", "Standup 1"])

            let first = try await console.get("/meetings", session: session).text
            #expect(try await titles("") == ["Standup 11", "Standup 10", "Board sync 9", "Standup 8", "Standup 7"])
            let next = try #require(
                first.range(of: "href=\"/meetings?after=").map { first[$0.upperBound...].prefix { $0 != "\"" } })
            #expect(try await titles("after=\(next)") == ["Board sync 6", "Standup 5", "Standup 4", "Board sync 3", "Standup 2"])
            #expect(try await titles("title=100%25") == [], "% is matched literally")

            let bad = try await console.get("/meetings?from=yesterday", session: session)
            #expect(bad.status == 400)
            #expect(bad.text.contains("from must be a date as YYYY-MM-DD"))
        }
    }

    @Test("parked messages show their reason; replaying one puts it back on the work queue, then all the rest")
    func replay() async throws {
        try await withConsole { console in
            let queues = console.queues("prep-orchestrator")
            try await console.park("prep-orchestrator", id: "message-1", reason: "no workflow for meeting <x>")
            try await console.park("prep-orchestrator", id: "message-2", reason: "database said no")
            try await console.park("prep-orchestrator", id: "message-3", reason: "database said no")
            try await eventually("three parked") { try await console.depth(queues.deadLetterQueue) == 3 }
            let (session, csrf) = try await console.signIn()

            let page = try await console.get("/parked/prep-orchestrator", session: session).text
            for text in ["message-1", "message-2", "message-3", "no workflow for meeting &lt;x&gt;", "database said no"] {
                #expect(page.contains(text), "\(text)")
            }
            try await eventually("the listed messages given back") { try await console.depth(queues.deadLetterQueue) == 3 }
            let index = try await console.get("/parked", session: session).text
            #expect(index.contains("<td><a href=\"/parked/prep-orchestrator\">prep-orchestrator</a></td><td>3</td>"))

            let one = try await console.post(
                "/parked/prep-orchestrator/replay", [("csrf", csrf), ("id", "message-2")], session: session)
            #expect(one.status == 303)
            #expect(one.headers["location"] == "/parked/prep-orchestrator?replayed=1")
            try await eventually("one replayed") {
                let (work, parked) = (try await console.depth(queues.workQueue), try await console.depth(queues.deadLetterQueue))
                return work == 1 && parked == 2
            }
            let left = try await console.get("/parked/prep-orchestrator", session: session).text
            #expect(!left.contains("message-2") && left.contains("message-1"))

            let all = try await console.post("/parked/prep-orchestrator/replay", [("csrf", csrf)], session: session)
            #expect(all.headers["location"] == "/parked/prep-orchestrator?replayed=2")
            try await eventually("all replayed") {
                let (work, parked) = (try await console.depth(queues.workQueue), try await console.depth(queues.deadLetterQueue))
                return work == 3 && parked == 0
            }
            let system = try await console.get("/system", session: session).text
            #expect(system.contains("<td>prep-orchestrator</td><td>0</td>"))
            #expect(system.contains("</td><td>3</td><td>0</td></tr>"), "three waiting, none parked")
            #expect(try await console.get("/parked/no-such-service", session: session).status == 404)
        }
    }

    @Test("workflows are listed by state and calls filtered by verdict")
    func workflowsAndCalls() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let first = try await seed.meeting(title: "Waiting one", owner: "alex@example.com", start: Seed.t0)
            let second = try await seed.meeting(title: "Sent one", owner: "alex@example.com", start: Seed.t0)
            try await seed.workflow(of: first, title: "Waiting one", state: "waiting_for_owner")
            try await seed.workflow(of: second, title: "Sent one", state: "materials_sent")
            try await seed.call(of: first, status: "fail", summary: "the agent did not know the price")
            try await seed.call(of: second, status: "pass", summary: "all questions answered")
            let (session, _) = try await console.signIn()

            let waiting = try await console.get("/workflows?state=waiting_for_owner", session: session).text
            #expect(waiting.contains("Waiting one") && !waiting.contains("Sent one"))
            #expect(waiting.contains("materials_sent (1)"))
            let failed = try await console.get("/calls?status=fail", session: session).text
            #expect(failed.contains("the agent did not know the price") && !failed.contains("all questions answered"))
            let everything = try await console.get("/calls", session: session).text
            #expect(everything.contains("the agent did not know the price") && everything.contains("all questions answered"))
            #expect(try await console.get("/connections", session: session).status == 200)
        }
    }
}

@Suite("Operators' console: sync now")
struct ConsoleSyncNowTests {
    @Test(
        "sync now is refused without a session or CSRF token; with them it asks calendar-monitor, whose handler brings the sync forward"
    )
    func syncNow() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let active = try await seed.connection(owner: "alex@example.com", name: "Team")
            let stopped = try await seed.connection(owner: "sam@example.com", name: "Sam's", status: "needs_reauth")
            let (session, csrf) = try await console.signIn()
            let (activePath, stoppedPath) = (
                "/connections/\(active.uuidString.lowercased())/sync", "/connections/\(stopped.uuidString.lowercased())/sync"
            )
            let page = try await console.get("/connections", session: session).text
            #expect(page.contains("action=\"\(activePath)\""))
            #expect(!page.contains(stoppedPath), "no button for a calendar that cannot sync")

            // Declared up front, so that anything a refused request published would wait here.
            let queue = console.queues("calendar-monitor").workQueue
            let prefix = console.prefix
            try await AdminChannel.run(console.broker) { channel in
                defer { channel.close() }
                try channel.declare(ServiceQueues.subscriptionsTopology(prefix: prefix))
            }
            #expect(try await console.post(activePath, [("csrf", csrf)]).status == 403, "no session")
            for fields in [[], [("csrf", "")], [("csrf", (csrf.first == "0" ? "1" : "0") + csrf.dropFirst())]] {
                #expect(try await console.post(activePath, fields, session: session).status == 403, "\(fields)")
            }
            #expect(
                try await console.post(
                    activePath, [("csrf", csrf)], session: session, headers: [("Origin", "https://evil.example")]
                ).status == 403)
            #expect(try await console.post(stoppedPath, [("csrf", csrf)], session: session).status == 409)
            #expect(
                try await console.post(
                    "/connections/\(UUID().uuidString.lowercased())/sync", [("csrf", csrf)], session: session
                ).status == 404)
            #expect(try await console.depth(queue) == 0, "nothing published by a refused request")

            let accepted = try await console.post(activePath, [("csrf", csrf)], session: session)
            #expect(accepted.status == 303)
            let location = try #require(accepted.headers["location"])
            #expect(location == "/connections?requested=\(active.uuidString.lowercased())")
            #expect(
                try await console.get(location, session: session).text.contains(
                    "Sync requested for Team (alex@example.com)"))
            try await eventually("the request in calendar-monitor's queue") { try await console.depth(queue) == 1 }

            // What calendar-monitor receives, handled by its handler, makes the connection due now.
            let body = try await AdminChannel.run(console.broker) { channel -> [UInt8]? in
                defer { channel.close() }
                guard let message = try channel.get(queue: queue) else { return nil }
                try channel.ack(message)
                return message.body
            }
            let envelope = try MessageCoding.decode(Envelope<CalendarSyncRequested>.self, from: try #require(body))
            #expect(envelope.payload == CalendarSyncRequested(connectionID: active, requestedBy: "console"))
            #expect(envelope.tenantID == "tenant-a")
            let outbox = try Outbox(schema: MeetingsSchema.name)
            let wakeup = WakeSignal()
            _ = wakeup.takePending()
            try await CalendarSyncRequestHandler(wakeup: wakeup).requested(
                envelope,
                try HandlerContext(
                    messageID: envelope.id, messageType: envelope.type, pool: console.pool, outbox: outbox,
                    logger: TestStack.logger))
            let due = try await console.pool.withConnection { db in
                try db.query("SELECT id FROM calendar.connections WHERE next_sync_at <= now()").map { try $0.uuid("id") }
            }
            #expect(due == [active])
            #expect(wakeup.takePending())
        }
    }
}

@Suite("attache-ops calls and workflows lists, on the queries the console shares")
struct SharedQueryCommandTests {
    func attacheOps(_ arguments: String, database: String) async throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID()).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try await ChildProcess.shell(
            "ATTACHE_DATABASE_URL='\(database)' '\(try ServiceBinaries.path("attache-ops"))' \(arguments) > '\(output)' 2>&1")
        return (status, try String(contentsOfFile: output, encoding: .utf8))
    }

    @Test("calls list filters by verdict and workflows list by state, as before the console")
    func lists() async throws {
        try await TestDatabase.with { url in
            try await using(try await ConsoleHarness(databaseURL: url, pageSize: 50), tearDown: { try await $0.tearDown() }) {
                console in
                let seed = Seed(console.pool)
                let meeting = try await seed.meeting(title: "Pricing call", owner: "alex@example.com", start: Seed.t0)
                let session = UUID()
                try await seed.call(of: meeting, status: "fail", summary: "the agent did not know the price", session: session)
                try await seed.call(of: meeting, status: "pass", summary: "all answered")
                try await seed.workflow(of: meeting, title: "Pricing call", state: "waiting_for_owner")

                let calls = try await attacheOps("calls list --status fail", database: url)
                #expect(calls.status == 0, "\(calls.output)")
                #expect(
                    calls.output.hasPrefix("\(session.uuidString.lowercased())  2026-05-28T20:26:40Z  fail  -"), "\(calls.output)"
                )
                #expect(calls.output.contains("    the agent did not know the price") && !calls.output.contains("all answered"))
                let workflows = try await attacheOps("workflows list --state waiting_for_owner", database: url)
                #expect(
                    workflows.output.contains(
                        "waiting_for_owner  external  “Pricing call” at 2026-05-28T22:26:40Z  steps 0/0  v1"))
                #expect(
                    try await attacheOps("workflows list --state failed", database: url).output
                        == "no workflows in state failed\n")
            }
        }
    }
}
