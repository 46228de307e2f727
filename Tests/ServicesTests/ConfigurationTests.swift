import Foundation
import TestSupport
import Testing

/// Bad configuration stops a service at start, with exit status 78 and a message naming the
/// setting, before it touches the broker or the database.
@Suite("Configuration errors")
struct ConfigurationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var service: String
        var environment: [String: String]
        var named: [String]
        var testDescription: String { "\(service) with \(environment.keys.sorted().joined(separator: ", "))" }
    }

    static let calendar = ["ATTACHE_CALENDAR_ICS": "/dev/null"]
    static let cases: [Case] = [
        Case(service: "classifier", environment: ["ATTACHE_PREFETCH": "lots"], named: ["ATTACHE_PREFETCH", "lots"]),
        Case(service: "monitoring-worker", environment: ["ATTACHE_AMQP_URL": "http://broker:5672/"], named: ["ATTACHE_AMQP_URL"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_DATABASE_URL": "mysql://db/attache"], named: ["ATTACHE_DATABASE_URL"]),
        Case(service: "classifier", environment: ["ATTACHE_BOT_JOIN_MINUTES_BEFORE": "-5"], named: ["ATTACHE_BOT_JOIN_MINUTES_BEFORE"]),
        Case(service: "prep-orchestrator", environment: ["ATTACHE_TIMER_POLL_MS": "fast"], named: ["ATTACHE_TIMER_POLL_MS"]),
        Case(service: "calendar-monitor", environment: ["ATTACHE_CALENDAR_SYNC_CONCURRENCY": "0"], named: ["ATTACHE_CALENDAR_SYNC_CONCURRENCY"]),
        Case(service: "calendar-monitor", environment: ["ATTACHE_CREDENTIALS_KEY": "c2hvcnQ="], named: ["ATTACHE_CREDENTIALS_KEY", "32 random bytes"]),
        Case(service: "calendar-monitor", environment: ["ATTACHE_CALENDAR_ICS": "/nonexistent/team.ics"], named: ["ATTACHE_CALENDAR_ICS", "/nonexistent/team.ics"]),
        Case(service: "calendar-monitor", environment: calendar.merging(["ATTACHE_CALENDAR_TIMEZONE": "Mars/Olympus"]) { $1 }, named: ["ATTACHE_CALENDAR_TIMEZONE"]),
        Case(service: "calendar-monitor", environment: ["ATTACHE_MICROSOFT_CLIENT_ID": "app-id"], named: ["ATTACHE_MICROSOFT_CLIENT_SECRET", "ATTACHE_MICROSOFT_CLIENT_ID"]),
        Case(service: "bot-gateway", environment: ["ATTACHE_WEBHOOK_SECRET": "plaintext-secret"], named: ["ATTACHE_WEBHOOK_SECRET"]),
        Case(service: "bot-gateway", environment: ["ATTACHE_MEETING_PROVIDER": "zoom"], named: ["ATTACHE_MEETING_PROVIDER", "simulated"]),
        Case(service: "bot-gateway", environment: ["ATTACHE_PUBLIC_URL": "https://gateway.example.com"], named: ["ATTACHE_WEBHOOK_SECRET", "ATTACHE_PUBLIC_URL"]),
        Case(service: "classifier", environment: ["ATTACHE_LOG_LEVEL": "loud"], named: ["ATTACHE_LOG_LEVEL"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_STT": "whisper"], named: ["ATTACHE_STT", "pocketsphinx", "deepgram"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_STT_PHRASES_FILE": "/nonexistent/phrases.txt"], named: ["ATTACHE_STT_PHRASES_FILE"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_UTTERANCE_END_MS": "500"], named: ["ATTACHE_UTTERANCE_END_MS"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_REALTIME_PUBLIC_URL": "ws//{hostname}"], named: ["ATTACHE_REALTIME_PUBLIC_URL"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_AVATAR": "sadtalker"], named: ["ATTACHE_AVATAR", "visemes", "heygen"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_ELEVENLABS_TRANSPORT": "grpc"], named: ["ATTACHE_ELEVENLABS_TRANSPORT", "websocket", "http"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_DEEPGRAM_URL": "ftp://api.deepgram.com"], named: ["ATTACHE_DEEPGRAM_URL", "wss"]),
    ]

    @Test("a bad setting stops the service with status 78 and names it", arguments: cases)
    func badSettingStopsTheService(_ scenario: Case) async throws {
        // An unreachable broker and database: a service that got past its configuration would
        // wait for them instead of exiting.
        var environment = [
            "ATTACHE_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/", "ATTACHE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        ]
        environment.merge(scenario.environment) { $1 }
        let process = try ServiceBinaries.start(scenario.service, environment: environment)
        let status = await process.exitStatus(within: .seconds(20))
        if status == nil { process.signal(SIGKILL) }
        #expect(status == 78, "exit status \(status.map(String.init) ?? "none (still running)"): \(process.output)")
        for fragment in scenario.named {
            #expect(process.output.contains(fragment), "the message should mention \(fragment): \(process.output)")
        }
    }

    @Test("a rules file that does not load stops the classifier, naming the file, the line and the rule")
    func brokenRulesFile() async throws {
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("team-rules-\(UUID().uuidString.prefix(6)).yaml")
        try """
            defaults:
              reminder_hours_before: 2
            meeting_types:
              - name: qbr
                keywords: ["QBR"]
                prep_hour_before: 336
              - name: default
                prep_hours_before: 24
            """.write(to: rules, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: rules) }
        let process = try ServiceBinaries.start("classifier", environment: ["ATTACHE_CLASSIFIER_RULES": rules.path])
        let status = await process.exitStatus(within: .seconds(20))
        #expect(status == 78, "\(process.output)")
        #expect(process.output.contains("ATTACHE_CLASSIFIER_RULES"))
        #expect(process.output.contains("\(rules.lastPathComponent):6"), "\(process.output)")
        #expect(process.output.contains("qbr"), "\(process.output)")
        #expect(process.output.contains("prep_hour_before"), "\(process.output)")
    }

    @Test("`classifier classify` reads meetings as JSON lines and prints one classification per line, as of `--now`")
    func classifyCommand() async throws {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("meetings-\(UUID().uuidString.prefix(6)).jsonl")
        try """
            {"title": "Q3 QBR with Globex", "attendee_count": 24, "start": "2026-12-10T10:00:00Z"}
            {"title": "Sam / Alex 1:1", "attendee_count": 2, "start": "2026-11-01T10:00:00Z"}
            not json
            {"title": "Lunch", "attendee_count": 9, "start": "2026-12-10T10:00:00Z"}
            """.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try await classify(input, arguments: "--now 2026-11-01T00:00:00Z")
        #expect(run.status == 1, "a malformed line makes the exit status 1")
        #expect(run.lines.count == 4, "one output line per input line")
        #expect(run.lines[0].contains(#""type":"qbr""#))
        #expect(run.lines[0].contains(#""prep_trigger_at":"2026-11-26T10:00:00Z""#), "336 hours before the start")
        #expect(run.lines[1].contains(#""type":"one_on_one""#))
        #expect(run.lines[1].contains(#""prep_trigger_at":"2026-11-01T00:00:00Z""#), "24 hours before has passed: now")
        #expect(run.lines[2].contains(#""error""#))
        #expect(run.lines[3].contains(#""type":"default""#))
        #expect(run.errors.contains("line 3"))
    }

    @Test("`classifier classify` refuses a `--now` that is not a time, naming the option")
    func classifyCommandBadNow() async throws {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("meetings-\(UUID().uuidString.prefix(6)).jsonl")
        try #"{"title": "Sam / Alex 1:1", "attendee_count": 2}"#.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try await classify(input, arguments: "--now yesterday")
        #expect(run.status == 64)
        #expect(run.lines.isEmpty)
        #expect(run.errors.contains("--now must be an ISO 8601 time"))
    }

    /// Runs `classifier classify ARGUMENTS < input` from the repository root (where the shipped
    /// rules file is found by its default path).
    private func classify(_ input: URL, arguments: String) async throws -> (status: Int32, lines: [Substring], errors: String) {
        let classifier = try ServiceBinaries.path("classifier")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let output = input.path + ".out", errors = input.path + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: errors)
        }
        let status = try await ChildProcess.shell(
            "cd '\(root.path)' && '\(classifier)' classify \(arguments) < '\(input.path)' > '\(output)' 2> '\(errors)'")
        return (
            status, try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n"),
            try String(contentsOfFile: errors, encoding: .utf8)
        )
    }
}
