import Logging
import Metrics
import ServiceLifecycle
import Store

/// The workflow's own figures, beside the engine's steps by outcome and their durations.
enum PrepMetrics {
    static func generation(_ elapsed: Duration, generator: String) {
        Timer(label: "attache_prep_materials_generation_duration_seconds", dimensions: [("generator", generator)])
            .recordNanoseconds(Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// An owner finished answering (`true`) or the wait timed out (`false`).
    static func ownerFinished(_ finished: Bool) {
        Counter(label: "attache_prep_owner_waits_total", dimensions: [("outcome", finished ? "answered" : "timed_out")])
            .increment()
    }
}

/// Workflows by state, counted every `interval` for `attache_prep_workflows{state}`.
struct WorkflowGauges: Service {
    let pool: PostgresPool
    var interval: Duration = .seconds(15)
    let logger: Logger

    func run() async throws {
        var seen: Set<String> = []
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let counts = try await pool.withConnection { db in
                    try db.query("SELECT state, count(*) AS n FROM prep.workflows GROUP BY state")
                        .map { (try $0.string("state"), try $0.int("n")) }
                }
                let current = Dictionary(uniqueKeysWithValues: counts)
                seen.formUnion(current.keys)
                for state in seen {
                    Gauge(label: "attache_prep_workflows", dimensions: [("state", state)]).record(current[state] ?? 0)
                }
            } catch {
                logger.debug("counting workflows failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
