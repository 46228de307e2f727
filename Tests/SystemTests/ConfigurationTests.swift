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
    static let cameraKey = Data(repeating: 7, count: 32).base64EncodedString()
    static let cases: [Case] = [
        Case(service: "classifier", environment: ["ATTACHE_PREFETCH": "lots"], named: ["ATTACHE_PREFETCH", "lots"]),
        Case(
            service: "classifier", environment: ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"],
            named: ["OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"]),
        Case(
            service: "monitoring-worker", environment: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"],
            named: ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]),
        Case(service: "monitoring-worker", environment: ["ATTACHE_AMQP_URL": "http://broker:5672/"], named: ["ATTACHE_AMQP_URL"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_DATABASE_URL": "mysql://db/attache"],
            named: ["ATTACHE_DATABASE_URL"]),
        Case(
            service: "classifier", environment: ["ATTACHE_BOT_JOIN_MINUTES_BEFORE": "-5"],
            named: ["ATTACHE_BOT_JOIN_MINUTES_BEFORE"]),
        Case(service: "prep-orchestrator", environment: ["ATTACHE_TIMER_POLL_MS": "fast"], named: ["ATTACHE_TIMER_POLL_MS"]),
        Case(service: "prep-orchestrator", environment: ["ATTACHE_CONTEXT_PROVIDER": "http"], named: ["ATTACHE_CONTEXT_URL"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_PREP_SIGNING_KEY": "c2hvcnQ="],
            named: ["ATTACHE_PREP_SIGNING_KEY", "32"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_PREP_PUBLIC_URL": "https://prep.example.com"],
            named: ["ATTACHE_PREP_SIGNING_KEY", "ATTACHE_PREP_PUBLIC_URL"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_SLACK_BOT_TOKEN": "xoxp-a-user-token"],
            named: ["ATTACHE_SLACK_BOT_TOKEN", "xoxb-"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_SLACK_SIGNING_SECRET": "short"],
            named: ["ATTACHE_SLACK_SIGNING_SECRET"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_TWILIO_ACCOUNT_SID": "AC0001"],
            named: ["ATTACHE_TWILIO_AUTH_TOKEN", "ATTACHE_TWILIO_ACCOUNT_SID"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_SMTP_URL": "smtp://mail.example.com:587"],
            named: ["ATTACHE_SMTP_FROM", "ATTACHE_SMTP_URL"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_SMTP_URL": "https://mail.example.com"],
            named: ["ATTACHE_SMTP_URL", "smtp://"]),
        Case(
            service: "prep-orchestrator",
            environment: [
                "ATTACHE_SMTP_URL": "smtp://mail.example.com:587", "ATTACHE_SMTP_FROM": "prep@example.com",
                "ATTACHE_SMTP_STARTTLS": "sometimes",
            ], named: ["ATTACHE_SMTP_STARTTLS", "opportunistic"]),
        Case(
            service: "prep-orchestrator", environment: ["ATTACHE_OWNER_CHANNELS": "slack,pager,local"],
            named: ["ATTACHE_OWNER_CHANNELS", "pager"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_TWILIO_AUTH_TOKEN": "short"], named: ["ATTACHE_TWILIO_AUTH_TOKEN"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_MEETING_PROVIDER": "recall"], named: ["ATTACHE_PUBLIC_URL", "recall"]),
        Case(
            service: "bot-gateway",
            environment: [
                "ATTACHE_MEETING_PROVIDER": "recall", "ATTACHE_PUBLIC_URL": "https://gateway.example.com",
                "ATTACHE_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ATTACHE_CAMERA_TOKEN_KEY": Self.cameraKey,
            ], named: ["ATTACHE_RECALL_API_KEY"]),
        Case(
            service: "bot-gateway",
            environment: [
                "ATTACHE_MEETING_PROVIDER": "recall", "ATTACHE_PUBLIC_URL": "https://gateway.example.com",
                "ATTACHE_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ATTACHE_RECALL_API_KEY": "k",
                "ATTACHE_RECALL_REGION": "mars-1", "ATTACHE_CAMERA_TOKEN_KEY": Self.cameraKey,
            ], named: ["ATTACHE_RECALL_REGION", "us-west-2"]),
        Case(
            service: "calendar-monitor", environment: ["ATTACHE_CALENDAR_SYNC_CONCURRENCY": "0"],
            named: ["ATTACHE_CALENDAR_SYNC_CONCURRENCY"]),
        Case(
            service: "calendar-monitor", environment: ["ATTACHE_CREDENTIALS_KEY": "c2hvcnQ="],
            named: ["ATTACHE_CREDENTIALS_KEY", "32 random bytes"]),
        Case(
            service: "calendar-monitor", environment: ["ATTACHE_CALENDAR_ICS": "/nonexistent/team.ics"],
            named: ["ATTACHE_CALENDAR_ICS", "/nonexistent/team.ics"]),
        Case(
            service: "calendar-monitor", environment: calendar.merging(["ATTACHE_CALENDAR_TIMEZONE": "Mars/Olympus"]) { $1 },
            named: ["ATTACHE_CALENDAR_TIMEZONE"]),
        Case(
            service: "calendar-monitor", environment: ["ATTACHE_MICROSOFT_CLIENT_ID": "app-id"],
            named: ["ATTACHE_MICROSOFT_CLIENT_SECRET", "ATTACHE_MICROSOFT_CLIENT_ID"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_WEBHOOK_SECRET": "plaintext-secret"], named: ["ATTACHE_WEBHOOK_SECRET"]
        ),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_MEETING_PROVIDER": "zoom"],
            named: ["ATTACHE_MEETING_PROVIDER", "simulated"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_PUBLIC_URL": "https://gateway.example.com"],
            named: ["ATTACHE_WEBHOOK_SECRET", "ATTACHE_PUBLIC_URL"]),
        Case(service: "classifier", environment: ["ATTACHE_LOG_LEVEL": "loud"], named: ["ATTACHE_LOG_LEVEL"]),
        Case(
            service: "monitoring-worker", environment: ["ATTACHE_INTENTS_FILE": "/nonexistent/intents.yaml"],
            named: ["ATTACHE_INTENTS_FILE", "/nonexistent/intents.yaml"]),
        Case(
            service: "monitoring-worker", environment: ["ATTACHE_MONITORING_ANALYSER": "llm"],
            named: ["ATTACHE_LLM_API_KEY", "ATTACHE_MONITORING_ANALYSER=llm"]),
        Case(
            service: "monitoring-worker", environment: ["ATTACHE_LANGFUSE_PUBLIC_KEY": "pk-lf-1"],
            named: ["ATTACHE_LANGFUSE_SECRET_KEY"]),
        Case(
            service: "monitoring-worker", environment: ["ATTACHE_MONITORING_SESSIONS_PER_CYCLE": "0"],
            named: ["ATTACHE_MONITORING_SESSIONS_PER_CYCLE"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_STT": "whisper"],
            named: ["ATTACHE_STT", "pocketsphinx", "deepgram"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_STT_PHRASES_FILE": "/nonexistent/phrases.txt"],
            named: ["ATTACHE_STT_PHRASES_FILE"]),
        Case(service: "realtime-worker", environment: ["ATTACHE_UTTERANCE_END_MS": "500"], named: ["ATTACHE_UTTERANCE_END_MS"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_REALTIME_PUBLIC_URL": "ws//{hostname}"],
            named: ["ATTACHE_REALTIME_PUBLIC_URL"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_AVATAR": "sadtalker"],
            named: ["ATTACHE_AVATAR", "visemes", "heygen"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_ELEVENLABS_TRANSPORT": "grpc"],
            named: ["ATTACHE_ELEVENLABS_TRANSPORT", "websocket", "http"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_REALTIME_PUBLIC_URL": "https://rt.example.com"],
            named: ["ATTACHE_CAMERA_TOKEN_KEY", "ATTACHE_REALTIME_PUBLIC_URL"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_CAMERA_TOKEN_KEY": "c2hvcnQ="],
            named: ["ATTACHE_CAMERA_TOKEN_KEY", "32"]),
        Case(
            service: "bot-gateway", environment: ["ATTACHE_SIMULATED_CAMERA_REALTIME_URL": "http://127.0.0.1:8085"],
            named: ["ATTACHE_CAMERA_TOKEN_KEY", "ATTACHE_SIMULATED_CAMERA_REALTIME_URL"]),
        Case(
            service: "bot-gateway",
            environment: [
                "ATTACHE_PUBLIC_URL": "https://gateway.example.com",
                "ATTACHE_WEBHOOK_SECRET": "whsec_" + Data(count: 32).base64EncodedString(),
            ], named: ["ATTACHE_CAMERA_TOKEN_KEY", "ATTACHE_PUBLIC_URL"]),
        Case(
            service: "realtime-worker", environment: ["ATTACHE_DEEPGRAM_URL": "ftp://api.deepgram.com"],
            named: ["ATTACHE_DEEPGRAM_URL", "wss"]),
    ]

    @Test("a bad setting stops the service with status 78 and names it", arguments: cases)
    func badSettingStopsTheService(_ scenario: Case) async throws {
        // An unreachable broker and database: a service that got past its configuration would
        // wait for them instead of exiting.
        var environment = [
            "ATTACHE_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
            "ATTACHE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        ]
        environment.merge(scenario.environment) { $1 }
        let process = try ServiceBinaries.start(scenario.service, environment: environment)
        let status = await process.exitStatus(within: .seconds(60))
        if status == nil { process.signal(SIGKILL) }
        #expect(status == 78, "exit status \(status.map(String.init) ?? "none (still running)"): \(process.output)")
        for fragment in scenario.named {
            #expect(process.output.contains(fragment), "the message should mention \(fragment): \(process.output)")
        }
    }
}
