import Delivery
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Store

/// A step claimed by this replica: `attempt` is the claim, and only the holder of the latest
/// claim may complete the step.
struct ClaimedStep: Sendable {
    var id: Int
    var name: StepName
    var attempt: Int
    /// A wait (for the owner) whose time ran out, rather than work that came due.
    var timedOut: Bool
}

/// What a step did, and the database effects that commit with its completion.
struct StepCompletion: Sendable {
    enum Outcome: Sendable, Equatable {
        case done(String? = nil)
        case skipped(String)

        var state: String {
            switch self {
            case .done: "done"
            case .skipped: "skipped"
            }
        }

        var text: String {
            switch self {
            case .done(let detail): detail.map { "done: \($0)" } ?? "done"
            case .skipped(let reason): "skipped: \(reason)"
            }
        }
    }

    var outcome: Outcome
    var output: [String: String] = [:]
    var effects: @Sendable (StepEffects) throws -> Void = { _ in }
}

/// The completion transaction, as a step sees it.
struct StepEffects {
    let db: PostgresConnection
    let workflow: WorkflowRecord
    let outbox: Outbox
    /// Set by the engine: a next step that is due at once is claimed here, in this transaction,
    /// and run by the same replica straight after the commit (no poll, no second claim).
    var claimFor: Duration? = nil
    /// What this transaction claimed, read by the engine after the effects ran (same thread).
    final class Claimed {
        var steps: [ClaimedStep] = []
    }
    let claimed = Claimed()

    init(db: PostgresConnection, workflow: WorkflowRecord, outbox: Outbox, claimFor: Duration? = nil) {
        self.db = db
        self.workflow = workflow
        self.outbox = outbox
        self.claimFor = claimFor
    }

    /// Makes `step` due at `due` (a wait: waiting until then), replacing an earlier run of it.
    func schedule(_ step: StepName, at due: Date, waiting: Bool = false) throws {
        guard let lease = claimFor, !waiting, due <= Date() else {
            return try StepEffects.schedule(step, workflow: workflow.id, at: due, waiting: waiting, on: db)
        }
        let id = try db.queryOne(
            """
            INSERT INTO prep.steps (workflow_id, step, state, due_at, attempts, lease_until, started_at)
            VALUES ($1, $2, 'pending', $3, 1, now() + make_interval(secs => $4), now())
            ON CONFLICT (workflow_id, step) DO UPDATE SET state = 'pending', due_at = EXCLUDED.due_at, attempts = 1,
                lease_until = EXCLUDED.lease_until, output = NULL, outcome = NULL, last_error = NULL,
                started_at = now(), finished_at = NULL
            RETURNING id
            """, [workflow.id, step.rawValue, due, lease.secondsValue])!.int("id")
        claimed.steps.append(ClaimedStep(id: id, name: step, attempt: 1, timedOut: false))
    }

    static func schedule(_ step: StepName, workflow: UUID, at due: Date, waiting: Bool = false, on db: PostgresConnection)
        throws
    {
        try db.execute(
            """
            INSERT INTO prep.steps (workflow_id, step, state, due_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (workflow_id, step) DO UPDATE SET state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                attempts = 0, lease_until = NULL, output = NULL, outcome = NULL, last_error = NULL,
                started_at = NULL, finished_at = NULL
            """, [workflow, step.rawValue, waiting ? "waiting" : "pending", due])
    }

    func publish<P: EventPayload>(_ payload: P) throws {
        try outbox.append(workflow.envelope(payload), on: db)
    }

    func setState(_ state: String, finished: Bool = false) throws {
        try db.execute(
            """
            UPDATE prep.workflows SET state = $2, updated_at = now(),
                finished_at = CASE WHEN $3 THEN now() ELSE finished_at END
            WHERE id = $1
            """, [workflow.id, state, finished])
    }
}

/// Runs one kind of step. `run` does the step's outside work (fetching context, generating,
/// uploading, delivering a message) and returns what to record; the engine commits that with
/// the step's completion, or not at all.
protocol StepRunner: Sendable {
    func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion
}

/// The workflow engine: claims due steps (any replica, `FOR UPDATE SKIP LOCKED`, with a
/// lease), runs them, and commits each step's completion with its effects, fenced by the claim,
/// so that a step whose lease ran out and was claimed again completes once. A failing step is
/// retried by its policy, then takes its failure path. Waits and timers are rows: they survive
/// restarts, and a poll (or a wake-up) finds what came due.
struct WorkflowEngine: Service {
    let pool: PostgresPool
    let outbox: Outbox
    let steps: any StepRunner
    let wakeup: WakeSignal
    var pollInterval: Duration = .milliseconds(500)
    /// How long a claimed step is this replica's before another may take it over.
    var lease: Duration = .seconds(120)
    var batchSize = 32
    let logger: Logger

    func run() async throws {
        await wakeup.run(every: pollInterval) {
            do {
                while try await runDueSteps() > 0 {}
            } catch {
                logger.error("running workflow steps failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Claims and runs up to `batchSize` due steps, side by side; returns how many were claimed.
    @discardableResult
    func runDueSteps() async throws -> Int {
        let claimed = try await claim()
        await withTaskGroup(of: Void.self) { group in
            for (step, workflow) in claimed {
                group.addTask { await execute(step, of: workflow) }
            }
        }
        return claimed.count
    }

    private func claim() async throws -> [(ClaimedStep, WorkflowRecord)] {
        let (limit, lease) = (batchSize, lease.secondsValue)
        return try await pool.withConnection { db in
            try db.query(
                """
                WITH due AS (
                    SELECT id FROM prep.steps
                    WHERE state IN ('pending', 'waiting') AND due_at <= now()
                        AND (lease_until IS NULL OR lease_until < now())
                    ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                UPDATE prep.steps s SET lease_until = now() + make_interval(secs => $2), attempts = s.attempts + 1,
                    started_at = coalesce(s.started_at, now())
                FROM due, prep.workflows w
                WHERE s.id = due.id AND w.id = s.workflow_id
                RETURNING s.id AS step_id, s.step, s.state AS step_state, s.attempts, \(WorkflowRecord.columns)
                """, [limit, lease]
            ).compactMap { row in
                guard let name = StepName(rawValue: try row.string("step")) else { return nil }
                let step = ClaimedStep(
                    id: try row.int("step_id"), name: name, attempt: try row.int("attempts"),
                    timedOut: try row.string("step_state") == "waiting")
                return (step, try WorkflowRecord(row))
            }
        }
    }

    private func execute(_ step: ClaimedStep, of workflow: WorkflowRecord) async {
        var next: [ClaimedStep] = [step]
        while let step = next.popLast() {
            next += await executeOne(step, of: workflow)
        }
    }

    /// Runs one step; returns the steps its completion claimed for this replica to run next.
    private func executeOne(_ step: ClaimedStep, of workflow: WorkflowRecord) async -> [ClaimedStep] {
        var claimedNext: [ClaimedStep] = []
        let started = ContinuousClock.now
        let metadata: Logger.Metadata = [
            "workflow_id": "\(workflow.id)", "step": "\(step.name.rawValue)", "attempt": "\(step.attempt)",
        ]
        var outcome: String
        do {
            let completion = try await steps.run(step, of: workflow)
            claimedNext = try await complete(step, of: workflow, with: completion)
            outcome = completion.outcome.state
            logger.info("workflow step completed", metadata: metadata.merging(["outcome": "\(completion.outcome.text)"]) { $1 })
        } catch is LostClaim {
            outcome = "superseded"
            logger.warning("workflow step was claimed again elsewhere; its result is dropped", metadata: metadata)
        } catch {
            outcome = (try? await fail(step, of: workflow, error: error)) ?? "error"
            logger.error("workflow step failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        Counter(label: "attache_workflow_steps_total", dimensions: [("step", step.name.rawValue), ("outcome", outcome)])
            .increment()
        Timer(label: "attache_workflow_step_duration_seconds", dimensions: [("step", step.name.rawValue)])
            .recordNanoseconds(Int64((ContinuousClock.now - started).secondsValue * 1e9))
        return claimedNext
    }

    private struct LostClaim: Error {}

    private func complete(_ step: ClaimedStep, of workflow: WorkflowRecord, with completion: StepCompletion) async throws
        -> [ClaimedStep]
    {
        let (outbox, lease) = (outbox, lease)
        return try await outbox.transaction(pool) { db in
            let finished = try db.execute(
                """
                UPDATE prep.steps SET state = $3, outcome = $4, output = $5, finished_at = now(), lease_until = NULL,
                    last_error = NULL
                WHERE id = $1 AND attempts = $2 AND state IN ('pending', 'waiting')
                """,
                [step.id, step.attempt, completion.outcome.state, completion.outcome.text, try JSONBValue(completion.output)])
            guard finished == 1 else { throw LostClaim() }
            let effects = StepEffects(db: db, workflow: workflow, outbox: outbox, claimFor: lease)
            try completion.effects(effects)
            return effects.claimed.steps
        }
    }

    /// Schedules a retry, or, with the attempts used up, records the failure and takes the
    /// failure path. Returns the outcome for the metrics.
    private func fail(_ step: ClaimedStep, of workflow: WorkflowRecord, error: any Error) async throws -> String {
        let policy = WorkflowDefinition.retry(step.name)
        if !(error is PermanentFailure), step.attempt < policy.attempts {
            let delay = policy.delay(beforeRetry: step.attempt)
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    UPDATE prep.steps SET due_at = now() + make_interval(secs => $3), lease_until = NULL, last_error = $4
                    WHERE id = $1 AND attempts = $2
                    """, [step.id, step.attempt, delay.secondsValue, "\(error)"])
            }
            return "retried"
        }
        let outbox = outbox
        try await outbox.transaction(pool) { db in
            let failed = try db.execute(
                """
                UPDATE prep.steps SET state = 'failed', outcome = $3, last_error = $4, finished_at = now(), lease_until = NULL
                WHERE id = $1 AND attempts = $2 AND state IN ('pending', 'waiting')
                """, [step.id, step.attempt, "failed after \(step.attempt) attempt(s): \(error)", "\(error)"])
            guard failed == 1 else { return }
            let effects = StepEffects(db: db, workflow: workflow, outbox: outbox)
            if let next = WorkflowDefinition.failurePath(step.name) {
                try effects.schedule(next, at: Date())
            } else if [.loadMeeting, .gatherContext, .generateMaterials, .storeMaterials].contains(step.name) {
                try effects.setState("failed", finished: true)
            }
        }
        return "failed"
    }
}
