import Bus
import Delivery
import Foundation
import HTTPClient
import Shared
import Store
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A realtime-worker of its own (own bus prefix, embedded engines, no accounts) takes
/// `count` calls one after another: each bot starts recording — the worker claims the session
/// and opens a voice pipeline — and the call ends — the pipeline closes and the call is
/// reported — before the next begins. Resident memory after the first 100 and at the end must
/// be within 10 %, and no call may be left open (the worker's live-calls gauge back to 0).
struct RealtimeSessions {
    let binDir: String
    let logDir: String
    let environment: [String: String]
    let broker: AMQPConfiguration
    let pool: PostgresPool
    let prefix: String

    /// Prints its lines; true if it failed.
    func run(count: Int) async throws -> Bool {
        let port = try freePort()
        var environment = environment
        environment["ATTACHE_BUS_PREFIX"] = prefix
        environment["ATTACHE_HTTP_PORT"] = String(port)
        let supervisor = Supervisor(
            binDir: binDir, logDir: logDir, environments: ["realtime-worker": environment], ports: ["realtime-worker": port])
        try supervisor.start("realtime-worker")
        defer { Task { _ = await supervisor.stopAll() } }
        try await supervisor.awaitReady(["realtime-worker"])
        guard let pid = supervisor.pid("realtime-worker") else { throw ChaosError.stuck("realtime-worker did not start") }

        let publisher = Publisher(configuration: broker, logger: .init(label: "chaos-realtime"))
        let started = ContinuousClock.now
        var afterFirst: ProcessStatus?
        for index in 1...count {
            let meeting = UUID()
            let bot = "chaos-rt-\(index)"
            let correlation = UUID()
            let now = Date()
            // Both in one confirmed batch: the call's start, then its end.
            let messages = try [(BotStatus.inCallRecording, now), (.callEnded, now.addingTimeInterval(0.001))].map {
                status, at in
                let envelope = Envelope(
                    tenantID: "default", correlationID: correlation,
                    payload: BotStatusChanged(
                        meetingID: meeting, botID: bot, provider: "recall", status: status, subCode: nil, changedAt: at))
                return OutgoingMessage(
                    exchange: "\(prefix).events", routingKey: BotStatusChanged.messageType.routingKey,
                    body: try MessageCoding.encode(envelope), messageID: envelope.id.uuidString.lowercased(),
                    type: BotStatusChanged.messageType.description)
            }
            try await publisher.publish(messages)
            // The call is reported before the next one starts: one at a time, in a row.
            let limit = ContinuousClock.now + .seconds(60)
            while try await !reported(meeting) {
                guard ContinuousClock.now < limit else { throw ChaosError.stuck("session \(index) was not reported in 60 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
            if index == min(100, count) { afterFirst = ProcessStatus(pid: pid) }
            if index % 100 == 0 { progress("realtime sessions: \(index) of \(count)") }
        }
        let elapsed = ContinuousClock.now - started
        await publisher.close()
        // Let anything the last call started settle before measuring.
        try await Task.sleep(for: .seconds(2))
        let atEnd = ProcessStatus(pid: pid)
        let live = try await liveCalls(port: port)
        let completed = try await pool.withConnection { db in
            try db.queryOne(
                "SELECT count(*) AS n FROM realtime.sessions WHERE bot_id LIKE 'chaos-rt-%' AND completed_at IS NOT NULL")!
                .int("n")
        }
        guard let first = afterFirst, let end = atEnd else { throw ChaosError.stuck("could not read /proc/\(pid)/status") }
        let growth = 100 * Double(end.residentKB - first.residentKB) / Double(first.residentKB)
        emit("chaos.realtime_sessions.count: \(completed)")
        emit("chaos.realtime_sessions.per_s: \(String(format: "%.1f", Double(count) / elapsed.seconds))")
        emit("chaos.realtime_sessions.rss_after_100_mb: \(String(format: "%.1f", Double(first.residentKB) / 1024))")
        emit("chaos.realtime_sessions.rss_at_end_mb: \(String(format: "%.1f", Double(end.residentKB) / 1024))")
        emit("chaos.realtime_sessions.rss_growth_pct: \(String(format: "%.1f", growth))")
        emit("chaos.realtime_sessions.threads_after_100: \(first.threads)")
        emit("chaos.realtime_sessions.threads_at_end: \(end.threads)")
        emit("chaos.realtime_sessions.live_calls_at_end: \(live.map { String(Int($0)) } ?? "unknown")")
        return completed != count || growth > 10 || live != 0 || end.threads > first.threads + 2
    }

    private func reported(_ meeting: UUID) async throws -> Bool {
        try await pool.withConnection { db in
            try db.queryOne(
                "SELECT 1 FROM realtime.sessions WHERE meeting_id = $1 AND completed_at IS NOT NULL", [meeting]) != nil
        }
    }

    /// The worker's `attache_realtime_live_calls` gauge.
    private func liveCalls(port: Int) async throws -> Double? {
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        let text = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/metrics")).text
        return text.split(separator: "\n").first { $0.hasPrefix("attache_realtime_live_calls") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }
}
