import Bus
import Delivery
import Foundation
import HTTPClient
import Logging
import Store
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

// The fault suite: the six services as processes on a three-node RabbitMQ cluster and
// PostgreSQL, a wave of meetings per fault, each fault injected while its wave flows, then
// every meeting's effects counted. See scripts/chaos and README.md ("Fault suite").

let environment = ProcessInfo.processInfo.environment
func required(_ name: String) -> String {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
        FileHandle.standardError.write(Data("chaos: \(name) is not set (scripts/chaos sets it)\n".utf8))
        exit(2)
    }
    return value
}

let amqpURL = required("ATTACHE_AMQP_URL")
let databaseURL = required("ATTACHE_DATABASE_URL")
let binDir = required("ATTACHE_CHAOS_BIN_DIR")
let stack = required("ATTACHE_CHAOS_STACK")  // e.g. "ATTACHE_STACK_AMQP_PORT=… scripts/stack faults"
let root = environment["ATTACHE_CHAOS_ROOT"] ?? FileManager.default.currentDirectoryPath
let workDir = environment["ATTACHE_CHAOS_WORK_DIR"] ?? "\(root)/.state/chaos-run"
let perWave = Int(environment["ATTACHE_CHAOS_MEETINGS_PER_WAVE"] ?? "") ?? 24
let sessions = Int(environment["ATTACHE_CHAOS_REALTIME_SESSIONS"] ?? "") ?? 1000
let only = environment["ATTACHE_CHAOS_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
try FileManager.default.createDirectory(atPath: "\(workDir)/logs", withIntermediateDirectories: true)

let broker = try AMQPConfiguration(urls: amqpURL, heartbeatSeconds: 10)
let prefix = "chaos"
let logger = Logger(label: "chaos")
let pool = PostgresPool(url: databaseURL, size: 2)
let recall = try await FakeRecall(retrySchedule: Array(repeating: .seconds(1), count: 300))
let calls = Calls(recall: recall)
let calendar = MeetingCalendar(path: "\(workDir)/calendar.ics")
_ = try calendar.add(wave: "none", count: 0, leadSeconds: 0, spacing: 0)

// Ports and environments, as an operator would run the services.
var ports: [String: Int] = [:]
for name in Supervisor.services { ports[name] = try freePort() }
let cameraKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
let common = [
    "ATTACHE_AMQP_URL": amqpURL, "ATTACHE_DATABASE_URL": databaseURL, "ATTACHE_BUS_PREFIX": prefix,
    "ATTACHE_LOG_LEVEL": "info", "ATTACHE_RETRY_DELAYS_MS": "500,2000,5000,10000", "ATTACHE_MAX_ATTEMPTS": "8",
    "ATTACHE_AMQP_HEARTBEAT_SECONDS": "10", "ATTACHE_CAMERA_TOKEN_KEY": cameraKey,
    "ATTACHE_DIRECTORY_DIR": "\(root)/deploy/config/directory",
]
let specific: [String: [String: String]] = [
    "calendar-monitor": ["ATTACHE_CALENDAR_ICS": calendar.path, "ATTACHE_CALENDAR_POLL_SECONDS": "1"],
    "classifier": [
        "ATTACHE_CLASSIFIER_RULES": "\(root)/deploy/config/classifier-rules.yaml", "ATTACHE_BOT_JOIN_MINUTES_BEFORE": "2",
    ],
    // A step held by a replica that was killed is taken over after its lease: 15 s rather than
    // the default 120 s, so that a run measures recovery rather than the lease.
    "prep-orchestrator": [
        "ATTACHE_TIMER_POLL_MS": "100", "ATTACHE_PREP_STEP_LEASE_SECONDS": "15",
        "ATTACHE_CONTEXT_DIR": "\(root)/deploy/config/context",
    ],
    "bot-gateway": [
        "ATTACHE_MEETING_PROVIDER": "recall", "ATTACHE_RECALL_API_URL": recall.apiURL,
        "ATTACHE_RECALL_API_KEY": FakeRecall.apiKey, "ATTACHE_WEBHOOK_SECRET": FakeRecall.webhookSecret,
        "ATTACHE_PUBLIC_URL": "http://127.0.0.1:\(ports["bot-gateway"]!)", "ATTACHE_BOT_JOIN_MINUTES_BEFORE": "2",
    ],
    "realtime-worker": [:],
    "monitoring-worker": [
        "ATTACHE_MONITORING_HEARTBEAT_SECONDS": "1", "ATTACHE_MONITORING_CYCLE_SECONDS": "1",
        "ATTACHE_MONITORING_SESSIONS_PER_CYCLE": "100",
    ],
]
var environments: [String: [String: String]] = [:]
for name in Supervisor.services {
    environments[name] = common.merging(specific[name] ?? [:]) { $1 }.merging([
        "ATTACHE_HTTP_PORT": String(ports[name]!)
    ]) { $1 }
}
// The provider's webhooks go to the gateway, as configured in Recall's dashboard.
recall.setWebhookURL("http://127.0.0.1:\(ports["bot-gateway"]!)/webhooks/recall")
let supervisor = Supervisor(binDir: binDir, logDir: "\(workDir)/logs", environments: environments, ports: ports)

let tap = Tap(broker: broker, prefix: prefix, topology: ServiceQueues.eventsTopology(prefix: prefix), logger: logger)
let tapTask = Task { await tap.run() }
let callsTask = Task { await calls.run() }

var failed = false
let suiteStart = ContinuousClock.now
do {
    progress("starting the six services (logs in \(workDir)/logs)")
    try supervisor.startAll()
    try await supervisor.awaitReady()
    let faults = Faults(
        supervisor: supervisor, calendar: calendar, calls: calls, tap: tap, pool: pool, broker: broker, prefix: prefix,
        stack: stack, logDir: "\(workDir)/logs", perWave: perWave,
        retryDelays: [.milliseconds(500), .seconds(2), .seconds(5), .seconds(10)])
    failed = try await faults.runAll(only: only)
    if only == nil || only!.contains("realtime_sessions") {
        let realtime = RealtimeSessions(
            binDir: binDir, logDir: "\(workDir)/logs", environment: environments["realtime-worker"]!, broker: broker,
            pool: pool, prefix: "\(prefix)-rt")
        failed = try await realtime.run(count: sessions) || failed
    }
} catch {
    progress("the fault suite failed: \(error)")
    for name in Supervisor.services { progress("--- \(name)\n\(supervisor.logTail(name))") }
    failed = true
}
callsTask.cancel()
tap.consumer.stop()
let statuses = await supervisor.stopAll()
for (name, status) in statuses.sorted(by: { $0.key < $1.key }) where status != 0 {
    progress("\(name) exited with \(status.map(String.init) ?? "nothing (killed after 60 s)") at the end")
}
await tap.consumer.close()
tapTask.cancel()
recall.stop()
emit("chaos.run_s: \(Int((ContinuousClock.now - suiteStart).components.seconds))")
exit(failed ? 1 : 0)
