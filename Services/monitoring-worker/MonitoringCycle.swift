import CallAnalysis
import Delivery
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Store

/// The post-call review. A heartbeat every `heartbeat`; at most every `interval`, one replica
/// (whichever takes the turn in `monitoring.cycles`) runs a cycle: it judges up to
/// `sessionsPerCycle` sessions not judged yet, oldest first, then diagnoses up to
/// `diagnosesPerCycle` failed or partial ones, one after another, so that a model is never
/// stormed. Each verdict is stored once and published as `monitoring.result`; each diagnosis as
/// `monitoring.diagnosis`. An analysis that throws marks its session `error` with the reason,
/// to be tried again in a later cycle, `attempts` times in all; nothing else stops.
struct MonitoringCycle: Service {
    struct Settings: Sendable {
        var heartbeat: Duration = .seconds(60)
        var interval: Duration = .seconds(300)
        var sessionsPerCycle = 10
        var diagnosesPerCycle = 3
        var attempts = 3
        /// How long a claimed session is left to its replica before another may take it.
        var lease: Duration = .seconds(600)
    }

    struct Report: Sendable, Equatable {
        var analysed = 0
        var failed = 0
        var diagnosed = 0
        var exported = 0
    }

    let pool: PostgresPool
    let outbox: Outbox
    let analyser: any CallAnalyser
    let diagnostician: Diagnostician
    let writer: DiagnosisWriter?
    var langfuse: LangfuseScores? = nil
    let settings: Settings
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    /// Verdicts (and diagnoses) stored per transaction: a cycle with its caps lifted judges
    /// thousands, and a commit each would bound it.
    static let storedAtOnce = 100

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await beat()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.heartbeat) }
        }
    }

    /// One heartbeat: a cycle if it is this replica's turn.
    func beat() async {
        Gauge(label: "attache_monitoring_heartbeat_timestamp_seconds").record(clock().timeIntervalSince1970)
        do {
            guard try await takeTurn() else { return }
            let report = try await cycle()
            if report != Report() {
                logger.info(
                    "monitoring cycle",
                    metadata: [
                        "analysed": "\(report.analysed)", "failed": "\(report.failed)", "diagnosed": "\(report.diagnosed)",
                    ])
            }
        } catch {
            logger.error("monitoring cycle failed; the next heartbeat tries again", metadata: ["error": "\(error)"])
        }
    }

    /// Whether a cycle is due, claiming it for this replica if so.
    func takeTurn() async throws -> Bool {
        let (now, interval) = (clock(), settings.interval.secondsValue)
        return try await pool.withConnection { db in
            try db.execute(
                """
                UPDATE monitoring.cycles SET last_cycle_at = $1
                WHERE id = 1 AND last_cycle_at <= $1::timestamptz - make_interval(secs => $2)
                """, [now, interval]) == 1
        }
    }

    /// Judges, then diagnoses, within the caps.
    func cycle() async throws -> Report {
        var report = Report()
        let verdicts = Verdicts(pool: pool, outbox: outbox, settings: settings, clock: clock)
        var judged: [(verdict: SessionVerdict, session: Verdicts.Claimed)] = []
        func storeJudged() async throws {
            let stored = try await verdicts.store(judged)
            for ((verdict, _), isStored) in zip(judged, stored) where isStored {
                report.analysed += 1
                Counter(label: "attache_monitoring_sessions_total", dimensions: [("status", verdict.status.rawValue)])
                    .increment()
            }
            judged.removeAll()
        }
        for session in try await verdicts.claimForAnalysis() {
            let started = ContinuousClock.now
            do {
                let verdict = try await analyser.analyse(session.call)
                Timer(label: "attache_monitoring_analysis_duration_seconds", dimensions: [("analyser", analyser.name)])
                    .recordInterval(since: started)
                judged.append((verdict, session))
                if judged.count == Self.storedAtOnce { try await storeJudged() }
            } catch {
                report.failed += 1
                let final = try await verdicts.fail(session, reason: "\(error)")
                logger.warning(
                    "analysing a call failed",
                    metadata: ["session_id": "\(session.id)", "error": "\(error)", "final": "\(final)"])
                if final { Counter(label: "attache_monitoring_sessions_total", dimensions: [("status", "error")]).increment() }
            }
        }
        try await storeJudged()
        // One after another, never in parallel: a diagnosis may ask the model too.
        var diagnosed: [(diagnosis: Diagnosis, session: Verdicts.ClaimedFailure)] = []
        func storeDiagnosed() async throws {
            let stored = try await verdicts.store(diagnosed)
            for ((diagnosis, _), isStored) in zip(diagnosed, stored) where isStored {
                report.diagnosed += 1
                for kind in diagnosis.kinds {
                    Counter(label: "attache_monitoring_diagnoses_total", dimensions: [("root_cause", kind.rawValue)]).increment()
                }
            }
            diagnosed.removeAll()
        }
        for session in try await verdicts.claimForDiagnosis() {
            var diagnosis = diagnostician.diagnose(session.call, verdict: session.verdict)
            if let writer {
                do { diagnosis = try await writer.write(diagnosis, call: session.call, verdict: session.verdict) } catch {
                    logger.warning(
                        "the diagnosis goes without its written summary",
                        metadata: ["session_id": "\(session.id)", "error": "\(error)"])
                }
            }
            diagnosed.append((diagnosis, session))
            if diagnosed.count == Self.storedAtOnce { try await storeDiagnosed() }
        }
        try await storeDiagnosed()
        if let langfuse { report.exported = try await langfuse.exportPending() }
        return report
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
