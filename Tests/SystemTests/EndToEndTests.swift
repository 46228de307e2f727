import Bus
import CallAnalysis
import Delivery
import Foundation
import HTTPClient
import Shared
import Store
import TestSupport
import Testing

@testable import BotGateway

/// One meeting from a calendar file to a post-call verdict, through the six services running
/// as separate processes on the real broker and database.
@Suite("End to end")
struct EndToEndTests {
    static let webhookSecret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    @Test("a calendar meeting reaches a monitoring result, passing through every service")
    func meetingReachesMonitoringResult() async throws {
        let prefix = TestStack.uniqueName("e2e")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        try await TestDatabase.with { databaseURL in
            try await using(prefix, tearDown: { try await cleanUp(prefix: $0, folder: folder) }) { prefix in
                try await runEverything(databaseURL: databaseURL, prefix: prefix, folder: folder)
            }
        }
    }

    /// Starts the six services on the test's own database, bus prefix and calendar folder, follows
    /// the meeting through them, then stops them as an orchestrator would (SIGTERM). `extra`
    /// variables go to every service; `andThen` checks more while they still run.
    func runEverything(
        databaseURL: String, prefix: String, folder: URL, extra: [String: String] = [:],
        andThen: (PostgresPool) async throws -> Void = { _ in }
    ) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let start = Date().addingTimeInterval(120 + 3)  // the bot joins 2 minutes early: 3 s from now
        try calendar(start: start).write(to: folder.appendingPathComponent("team.ics"), atomically: true, encoding: .utf8)

        let common = [
            "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"), "ATTACHE_DATABASE_URL": databaseURL,
            "ATTACHE_BUS_PREFIX": prefix, "ATTACHE_RETRY_DELAYS_MS": "200,500,1000", "ATTACHE_LOG_LEVEL": "info",
        ]
        let specific: [String: [String: String]] = [
            "calendar-monitor": ["ATTACHE_CALENDAR_ICS": folder.appendingPathComponent("team.ics").path],
            "classifier": [
                "ATTACHE_CLASSIFIER_RULES": TestStack.shippedRulesPath,
                "ATTACHE_BOT_JOIN_MINUTES_BEFORE": "2",
            ],
            "prep-orchestrator": ["ATTACHE_TIMER_POLL_MS": "100"],
            "bot-gateway": ["ATTACHE_SIMULATED_CALL_SECONDS": "3", "ATTACHE_WEBHOOK_SECRET": Self.webhookSecret],
            // The review's cadence shortened from the design's minutes to a second.
            "monitoring-worker": ["ATTACHE_MONITORING_HEARTBEAT_SECONDS": "1", "ATTACHE_MONITORING_CYCLE_SECONDS": "1"],
        ]
        var ports: [String: Int] = [:]
        var processes: [String: ChildProcess] = [:]
        for service in ServiceBinaries.all {
            ports[service] = try freePort()
            var environment = common.merging(specific[service] ?? [:]) { $1 }.merging(extra) { $1 }
            environment["ATTACHE_HTTP_PORT"] = String(ports[service]!)
            processes[service] = try ServiceBinaries.start(service, environment: environment)
        }
        let running = processes
        func logs() -> String {
            running.map { "--- \($0.key)\n\($0.value.output.suffix(3000))" }.sorted().joined(separator: "\n")
        }

        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        do {
            for (service, port) in ports {
                try await eventually("\(service) ready") {
                    (try? await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/readyz")))?.status == 200
                }
            }
            let pool = PostgresPool(url: databaseURL, size: 2)
            try await eventually("a monitoring result, and the bot done", within: .seconds(90)) {
                (try? await pool.withConnection { db in
                    try db.queryOne("SELECT 1 FROM monitoring.results WHERE analysed_at IS NOT NULL") != nil
                        && db.queryOne("SELECT 1 FROM gateway.bots WHERE status = 'done'") != nil
                }) == true
            }
            try await checkEveryServiceDidItsPart(pool)
            try await checkWebhookEndpoint(port: ports["bot-gateway"]!, pool: pool)
            let metrics = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(ports["classifier"]!)/metrics"))
            #expect(
                metrics.text.contains(
                    #"attache_messages_total{service="classifier",type="meeting.upserted.v1",outcome="handled"}"#))
            // Nothing subscribes to the verdict yet: it waits in the unrouted queue, counted.
            let monitoringMetrics = try await http.send(
                OutboundRequest(url: "http://127.0.0.1:\(ports["monitoring-worker"]!)/metrics"))
            #expect(monitoringMetrics.text.contains(#"attache_unrouted_events_total{routing_key="monitoring.result"}"#))
            try await andThen(pool)
        } catch {
            Issue.record("\(error)\n\(logs())")
        }

        // SIGTERM: every service finishes what it holds and exits 0.
        for process in processes.values { process.signal(SIGTERM) }
        for (service, process) in processes {
            let status = await process.exitStatus(within: .seconds(40))
            #expect(
                status == 0,
                "\(service) exited with \(status.map(String.init) ?? "nothing: still running")\n\(process.output.suffix(2000))")
            if status == nil { process.signal(SIGKILL) }
        }
    }

    func checkEveryServiceDidItsPart(_ pool: PostgresPool) async throws {
        func strings(_ sql: String, _ column: String) async throws -> [String] {
            try await pool.withConnection { db in try db.query(sql).map { try $0.string(column) } }
        }
        func row(_ sql: String) async throws -> Row {
            try #require(try await pool.withConnection { db in try db.queryOne(sql) }, "no row for \(sql)")
        }
        // calendar-monitor: the meeting, once.
        #expect(try await strings("SELECT title FROM calendar.meetings", "title") == ["Weekly staff meeting"])
        // classifier: its type, with the rule that decided it.
        let classification = try await row("SELECT meeting_type, rule FROM classifier.classifications")
        #expect(try classification.string("meeting_type") == "staff_meeting")
        #expect(try classification.string("rule").hasPrefix("staff_meeting: keywords"))
        // prep-orchestrator: the notification in the local channel, both steps fired, the call over.
        // The meeting is minutes away, too close to ask the owner: the materials come at once.
        let notification = try await row("SELECT channel, recipient, text FROM prep.notifications WHERE kind = 'materials'")
        #expect(try notification.string("recipient") == "alex@example.com")
        #expect(try notification.string("text").contains("Weekly staff meeting"))
        // A call the review finds failed is told to the owner too (notify_call_review), beside the main line.
        let done = try await strings("SELECT step FROM prep.steps WHERE state = 'done' ORDER BY step", "step")
            .filter { $0 != "notify_call_review" }
        #expect(
            done == [
                "gather_context", "generate_materials", "load_meeting", "request_bot_join", "send_materials", "store_materials",
            ])
        #expect(try await row("SELECT state FROM prep.workflows").string("state") == "call_ended")
        // bot-gateway: the bot's whole life, in order.
        let statuses = try await strings("SELECT status FROM gateway.bot_status_history ORDER BY changed_at, id", "status")
        #expect(statuses == ["joining_call", "in_call_recording", "call_ended", "done"])
        // realtime-worker: the session, ended, with every line the meeting heard.
        #expect(try await row("SELECT ended_at FROM realtime.sessions").optionalDate("ended_at") != nil)
        let heard = try await strings("SELECT text FROM realtime.turns ORDER BY spoken_at, id", "text")
        #expect(heard == SimulatedMeeting.script.map(\.line))
        // monitoring-worker: one verdict on the whole call, from the embedded analyser.
        #expect(try await row("SELECT count(*) AS n FROM monitoring.results").int("n") == 1)
        let result = try await row("SELECT status, verdict, summary, call FROM monitoring.results")
        #expect(["pass", "partial", "fail", "skipped"].contains(try result.string("status")), "judged, not errored")
        #expect(try result.decode(SessionVerdict.self, column: "verdict").analyser == "embedded")
        #expect(try !result.string("summary").isEmpty)
        let call = try result.decode(CallCompleted.self, column: "call", decoder: MessageCoding.decoder())
        #expect(call.turns.count >= SimulatedMeeting.script.count)
    }

    /// Forged webhooks are refused; a webhook for a bot not recorded yet is refused with 503 so
    /// that the provider sends it again; a provider's resend of a webhook has its effect once.
    func checkWebhookEndpoint(port: Int, pool: PostgresPool) async throws {
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        let url = "http://127.0.0.1:\(port)\(WebhookReceiver.path)"
        let secret = try #require(WebhookSecret(Self.webhookSecret))
        let timestamp = Int(Date().timeIntervalSince1970)
        func post(_ body: String, id: String, signedWith key: WebhookSecret) async throws -> Int {
            let bytes = Array(body.utf8)
            return try await http.send(
                OutboundRequest(
                    method: "POST", url: url,
                    headers: [
                        ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
                        ("webhook-signature", key.signature(id: id, timestamp: timestamp, body: bytes)),
                    ],
                    body: bytes)
            ).status
        }
        func count(_ sql: String) async throws -> Int {
            try await pool.withConnection { try $0.queryOne(sql)!.int("n") }
        }
        let botID = try await pool.withConnection { try $0.queryOne("SELECT bot_id FROM gateway.bots")!.string("bot_id") }
        let done = #"{"event":"bot.done","data":{"data":{"code":"done"},"bot":{"id":"\#(botID)","metadata":{}}}}"#

        #expect(try await post(done, id: "msg_forged", signedWith: .random()) == 401)
        let unknownBot = #"{"event":"bot.done","data":{"data":{"code":"done"},"bot":{"id":"bot-nobody","metadata":{}}}}"#
        #expect(try await post(unknownBot, id: "msg_unknown", signedWith: secret) == 503)

        let history = try await count("SELECT count(*) AS n FROM gateway.bot_status_history")
        #expect(try await post(done, id: "msg_resent", signedWith: secret) == 200)
        #expect(try await post(done, id: "msg_resent", signedWith: secret) == 200)
        #expect(
            try await count("SELECT count(*) AS n FROM gateway.bot_status_history") == history + 1,
            "a resent webhook has its effect once")
        let receipts = try await pool.withConnection { db in
            try db.query(
                "SELECT webhook_id FROM gateway.webhook_receipts WHERE webhook_id IN ('msg_forged', 'msg_unknown', 'msg_resent')"
            )
            .map { try $0.string("webhook_id") }
        }
        #expect(receipts == ["msg_resent"], "forged and not-yet-known webhooks leave no trace; a resent one is kept once")
    }

    func calendar(start: Date) -> String {
        let format = Date.ISO8601FormatStyle().year().month().day().timeZone(separator: .omitted).time(
            includingFractionalSeconds: false
        )
        .dateTimeSeparator(.standard).timeSeparator(.omitted).dateSeparator(.omitted)
        func stamp(_ date: Date) -> String { date.formatted(format) }
        // A staff meeting has at least 15 attendees (the shipped rules).
        let team = (1...15).map { "ATTENDEE:mailto:member\($0)@example.com\r\n" }.joined()
        return """
            BEGIN:VCALENDAR\r
            VERSION:2.0\r
            PRODID:-//Attache//E2E//EN\r
            BEGIN:VEVENT\r
            UID:e2e-staff@attache.test\r
            DTSTAMP:\(stamp(Date()))\r
            DTSTART:\(stamp(start))\r
            DTEND:\(stamp(start.addingTimeInterval(1800)))\r
            SUMMARY:Weekly staff meeting\r
            DESCRIPTION:Join: https://meet.google.com/abc-defg-hij\r
            ORGANIZER;CN=Alex Rivera:mailto:alex@example.com\r
            \(team)END:VEVENT\r
            END:VCALENDAR\r

            """
    }

    func cleanUp(prefix: String, folder: URL) async throws {
        try? FileManager.default.removeItem(at: folder)
        try await SystemBus.deleteQueues(prefix: prefix)
    }
}
