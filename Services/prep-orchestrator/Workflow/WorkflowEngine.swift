import Delivery
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Store
import Synchronization
import Telemetry

/// A step claimed by this replica: `attempt` is the claim, and only the holder of the latest
/// claim may complete the step.
struct ClaimedStep: Sendable {
    var id: Int
    var name: StepName
    var attempt: Int
    /// A wait (for the owner) whose time ran out, rather than work that came due.
    var timedOut: Bool
    /// What the step that claimed this one handed over (its `StepCompletion.handOff`), when
    /// this replica committed that step and runs this one straight after; nil when the step was
    /// claimed by a poll (after a restart, on another replica), which then reads from the database.
    var handedOver: (any Sendable)? = nil
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
    /// What the next step needs from this one, already in memory (see `ClaimedStep.handedOver`).
    var handOff: (any Sendable)? = nil
    var effects: @Sendable (inout StepEffects) throws -> Void = { _ in }
}

/// The writes a step's completion commits with it, recorded rather than run: the engine writes
/// the effects of every step completing at the same moment in one transaction, each statement
/// once for all of them (`BatchedWrites`).
struct StepEffects: Sendable {
    struct Schedule: Sendable {
        var workflow: UUID
        var step: StepName
        var due: Date
        var waiting: Bool
    }

    let workflow: WorkflowRecord
    let outbox: Outbox
    private(set) var writes = BatchedWrites()
    private(set) var schedules: [Schedule] = []
    /// Run once the effects have committed (metrics that must not count a rolled-back step).
    private(set) var afterCommit: [@Sendable () -> Void] = []

    init(workflow: WorkflowRecord, outbox: Outbox) {
        self.workflow = workflow
        self.outbox = outbox
    }

    /// Makes `step` due at `due` (a wait: waiting until then), replacing an earlier run of it.
    mutating func schedule(_ step: StepName, at due: Date, waiting: Bool = false) {
        schedules.append(Schedule(workflow: workflow.id, step: step, due: due, waiting: waiting))
    }

    mutating func publish<P: EventPayload>(_ payload: P) throws {
        try outbox.append(workflow.envelope(payload), to: &writes)
    }

    mutating func setState(_ state: String, finished: Bool = false) {
        write(
            """
            UPDATE prep.workflows w SET state = u.state, updated_at = now(),
                finished_at = CASE WHEN u.finished THEN now() ELSE w.finished_at END
            FROM unnest($1::uuid[], $2::text[], $3::bool[]) AS u(id, state, finished) WHERE w.id = u.id
            """, [workflow.id, state, finished])
    }

    /// A row for a statement written for many rows at once (see `BatchedWrites`).
    mutating func write(_ sql: String, _ row: [any PostgresBindable]) {
        writes.add(sql, row)
    }

    mutating func onCommit(_ action: @escaping @Sendable () -> Void) {
        afterCommit.append(action)
    }

    /// Writes the effects of `all`, in the caller's transaction. With a lease, the steps they
    /// make due at once are claimed for this replica and returned, to run straight after the
    /// commit (no poll, no second claim); otherwise they wait for a claim like any other.
    static func apply(_ all: [StepEffects], claimFor lease: Duration?, on db: PostgresConnection) throws -> [ClaimedStep.Next] {
        var writes = BatchedWrites()
        var schedules: [String: Schedule] = [:]
        for effects in all {
            writes.add(contentsOf: effects.writes)
            // A later schedule of the same step replaces an earlier one, as it would one by one.
            for schedule in effects.schedules { schedules["\(schedule.workflow)/\(schedule.step.rawValue)"] = schedule }
        }
        try writes.execute(on: db)
        let now = Date()
        let (claim, wait) = schedules.values.separated { lease != nil && !$0.waiting && $0.due <= now }
        if !wait.isEmpty {
            try db.execute(
                """
                INSERT INTO prep.steps (workflow_id, step, state, due_at)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
                ON CONFLICT (workflow_id, step) DO UPDATE SET state = EXCLUDED.state, due_at = EXCLUDED.due_at,
                    attempts = 0, lease_until = NULL, output = NULL, outcome = NULL, last_error = NULL,
                    started_at = NULL, finished_at = NULL
                """,
                [
                    PostgresArray(wait.map(\.workflow)), PostgresArray(wait.map(\.step.rawValue)),
                    PostgresArray(wait.map { $0.waiting ? "waiting" : "pending" }), PostgresArray(wait.map(\.due)),
                ])
        }
        guard let lease, !claim.isEmpty else { return [] }
        return try db.query(
            """
            INSERT INTO prep.steps (workflow_id, step, state, due_at, attempts, lease_until, started_at)
            SELECT u.workflow_id, u.step, 'pending', u.due_at, 1, now() + make_interval(secs => $4), now()
            FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(workflow_id, step, due_at)
            ON CONFLICT (workflow_id, step) DO UPDATE SET state = 'pending', due_at = EXCLUDED.due_at, attempts = 1,
                lease_until = EXCLUDED.lease_until, output = NULL, outcome = NULL, last_error = NULL,
                started_at = now(), finished_at = NULL
            RETURNING id, workflow_id, step
            """,
            [
                PostgresArray(claim.map(\.workflow)), PostgresArray(claim.map(\.step.rawValue)),
                PostgresArray(claim.map(\.due)), lease.secondsValue,
            ]
        ).compactMap { row in
            guard let name = StepName(rawValue: try row.string("step")) else { return nil }
            return ClaimedStep.Next(
                workflow: try row.uuid("workflow_id"),
                step: ClaimedStep(id: try row.int("id"), name: name, attempt: 1, timedOut: false))
        }
    }

    /// Writes these effects alone, in the caller's transaction (outside the engine: the prep
    /// page); `afterCommit` is the caller's to run.
    func apply(on db: PostgresConnection) throws {
        _ = try Self.apply([self], claimFor: nil, on: db)
    }

    /// The one-row form of a schedule, for handlers that write outside the engine.
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
}

extension ClaimedStep {
    /// A step claimed by a completion, and the workflow it belongs to.
    struct Next: Sendable {
        var workflow: UUID
        var step: ClaimedStep
    }
}

extension Sequence {
    /// Not `partitioned`: swift-algorithms (in the package graph) has a public `partitioned(by:)`
    /// that returns the two sides the other way round, and a trailing closure call picked it.
    fileprivate func separated(_ first: (Element) -> Bool) -> (matching: [Element], rest: [Element]) {
        var (yes, no): ([Element], [Element]) = ([], [])
        for element in self {
            if first(element) { yes.append(element) } else { no.append(element) }
        }
        return (yes, no)
    }
}

/// Steps a handler claimed for this replica's engine in the transaction that started their
/// workflows: they run without waiting for a poll or a claim.
final class AdoptedSteps: Sendable {
    private let steps = Mutex<[(ClaimedStep, WorkflowRecord)]>([])

    func add(_ new: [(ClaimedStep, WorkflowRecord)]) { steps.withLock { $0 += new } }

    func takeAll() -> [(ClaimedStep, WorkflowRecord)] {
        steps.withLock { steps in
            defer { steps = [] }
            return steps
        }
    }
}

/// Runs one kind of step. `run` does the step's outside work (fetching context, generating,
/// uploading, delivering a message) and returns what to record; the engine commits that with
/// the step's completion, or not at all.
protocol StepRunner: Sendable {
    func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion
}

/// The workflow engine: claims due steps (any replica, `FOR UPDATE SKIP LOCKED`, with a
/// lease), runs them side by side, and commits each step's completion with its effects, fenced
/// by the claim, so that a step whose lease ran out and was claimed again completes once. The
/// steps that finish while a commit is under way commit together in the next one (group
/// commit): a burst of workflows costs a few transactions per step, not one per workflow. A
/// failing step is retried by its policy, then takes its failure path. Waits and timers are
/// rows: they survive restarts, and a poll (or a wake-up) finds what came due.
struct WorkflowEngine: Service {
    let pool: PostgresPool
    let outbox: Outbox
    let steps: any StepRunner
    let wakeup: WakeSignal
    var adopted = AdoptedSteps()
    var pollInterval: Duration = .milliseconds(500)
    /// How long a claimed step is this replica's before another may take it over.
    var lease: Duration = .seconds(120)
    /// The most steps this replica claims at once.
    var batchSize = 256
    /// Commits under way at once (by default half the pool, leaving the rest to the prep page
    /// and the consumers): more than one keeps both the database and this process busy.
    var commits: Int? = nil
    /// The most completions in one commit: a short transaction keeps each step's wait short.
    var commitLimit = 64
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

    private var concurrentCommits: Int { commits ?? max(1, pool.size / 2) }

    /// A step that has run, and what came of it.
    private struct Ran: Sendable {
        var step: ClaimedStep
        var workflow: WorkflowRecord
        var result: Result<StepCompletion, any Error>
        var started: ContinuousClock.Instant
        /// The step's span, when tracing.
        var trace: TraceContext? = nil
    }

    private enum Event: Sendable {
        case ran(Ran)
        /// A commit ended, with the steps it claimed.
        case committed([(ClaimedStep, WorkflowRecord)])
    }

    /// Claims due steps and runs them, and the steps their completions make due, until none is
    /// left; returns how many it claimed. Steps that finish while `commits` commits are under
    /// way wait for the next, which takes them all.
    @discardableResult
    func runDueSteps() async throws -> Int {
        var claimed = adopted.takeAll()
        claimed += try await claim(limit: max(1, batchSize - claimed.count))
        var total = claimed.count
        guard total > 0 else { return 0 }
        let events = Mailbox<Event>()
        await withTaskGroup(of: Void.self) { group in
            var (running, committing, finished) = (0, 0, [Ran]())
            var moreDue = claimed.count >= batchSize
            while true {
                for (step, workflow) in claimed {
                    running += 1
                    group.addTask {
                        let started = ContinuousClock.now
                        // When tracing, the step's span: the events its completion publishes name it as their parent.
                        let outcome = await Result(catching: {
                            try await Telemetry.withSpan("step \(step.name.rawValue)", continuing: workflow.traceparent) {
                                (try await steps.run(step, of: workflow), TraceContext.current)
                            }
                        })
                        events.put(
                            .ran(
                                Ran(
                                    step: step, workflow: workflow, result: outcome.map(\.0), started: started,
                                    trace: try? outcome.get().1)))
                    }
                }
                claimed = []
                // Later steps first: a workflow under way finishes before new ones start, so a
                // burst is answered in the order it came rather than all at its end.
                if committing < concurrentCommits { finished.sort { $0.step.name.stage > $1.step.name.stage } }
                while !finished.isEmpty, committing < concurrentCommits {
                    let batch = Array(finished.prefix(commitLimit))
                    finished.removeFirst(batch.count)
                    committing += 1
                    group.addTask { events.put(.committed(await commit(batch))) }
                }
                guard running + committing > 0 else { break }
                for event in await events.take() {
                    switch event {
                    case .ran(let ran):
                        running -= 1
                        finished.append(ran)
                    case .committed(let next):
                        committing -= 1
                        claimed += next
                    }
                }
                // What came due meanwhile (the rest of a burst, an owner who just finished) joins
                // the steps under way rather than waiting for them to drain. Adopted steps come
                // first; a claim waits until none is left (the signal that asked for it stays
                // pending), since during a burst it would only scan rows already adopted.
                var adoptedNow: [(ClaimedStep, WorkflowRecord)] = []
                if running + finished.count + claimed.count < batchSize / 2 { adoptedNow = adopted.takeAll() }
                claimed += adoptedNow
                if adoptedNow.isEmpty, running + claimed.count < batchSize / 2, moreDue || wakeup.takePending() {
                    let limit = batchSize - running - claimed.count
                    let more = (try? await claim(limit: limit)) ?? []
                    moreDue = more.count == limit
                    total += more.count
                    claimed += more
                }
            }
        }
        return total
    }

    private func claim(limit: Int) async throws -> [(ClaimedStep, WorkflowRecord)] {
        let lease = lease.secondsValue
        return try await pool.withConnection(priority: .urgent) { db in
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

    /// Commits the completions among `finished` in one transaction, and takes failures to their
    /// retry or failure path. A transaction that fails is tried again a step at a time, so that
    /// one step's bad effects cost only that step. Returns the steps the completions claimed.
    private func commit(_ finished: [Ran]) async -> [(ClaimedStep, WorkflowRecord)] {
        var completed: [(Ran, StepCompletion, StepEffects)] = []
        for ran in finished {
            do {
                let completion = try ran.result.get()
                var effects = StepEffects(workflow: ran.workflow, outbox: outbox)
                try TraceContext.$current.withValue(ran.trace) { try completion.effects(&effects) }
                completed.append((ran, completion, effects))
            } catch {
                await fail(ran, error: error)
            }
        }
        guard !completed.isEmpty else { return [] }
        do {
            return try await complete(completed)
        } catch  where completed.count > 1 {
            var claimed: [(ClaimedStep, WorkflowRecord)] = []
            for one in completed {
                do { claimed += try await complete([one]) } catch { await fail(one.0, error: error) }
            }
            return claimed
        } catch {
            await fail(completed[0].0, error: error)
            return []
        }
    }

    private func complete(_ completed: [(Ran, StepCompletion, StepEffects)]) async throws -> [(ClaimedStep, WorkflowRecord)] {
        let (outbox, lease) = (outbox, lease)
        let (held, next) = try await outbox.transaction(pool, priority: .urgent) { db in
            let held = Set(
                try db.query(
                    """
                    UPDATE prep.steps s SET state = u.state, outcome = u.outcome, output = u.output, finished_at = now(),
                        lease_until = NULL, last_error = NULL
                    FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::jsonb[])
                        AS u(id, attempts, state, outcome, output)
                    WHERE s.id = u.id AND s.attempts = u.attempts AND s.state IN ('pending', 'waiting')
                    RETURNING s.id
                    """,
                    [
                        PostgresArray(completed.map(\.0.step.id)), PostgresArray(completed.map(\.0.step.attempt)),
                        PostgresArray(completed.map(\.1.outcome.state)), PostgresArray(completed.map(\.1.outcome.text)),
                        PostgresArray(try completed.map { try JSONBValue($0.1.output) }),
                    ]
                ).map { try $0.int("id") })
            let next = try StepEffects.apply(
                completed.filter { held.contains($0.0.step.id) }.map(\.2), claimFor: lease, on: db)
            return (held, next)
        }
        let workflows = Dictionary(completed.map { ($0.0.workflow.id, $0.0.workflow) }) { first, _ in first }
        let handOffs = Dictionary(
            completed.compactMap { ran, completion, _ in
                held.contains(ran.step.id) ? completion.handOff.map { (ran.workflow.id, $0) } : nil
            }
        ) { first, _ in first }
        for (ran, completion, effects) in completed {
            guard held.contains(ran.step.id) else {
                record(ran, outcome: "superseded")
                logger.warning("workflow step was claimed again elsewhere; its result is dropped", metadata: metadata(ran))
                continue
            }
            for action in effects.afterCommit { action() }
            record(ran, outcome: completion.outcome.state)
            logger.info(
                "workflow step completed", metadata: metadata(ran).merging(["outcome": "\(completion.outcome.text)"]) { $1 })
        }
        return next.compactMap { next in
            var step = next.step
            step.handedOver = handOffs[next.workflow]
            return workflows[next.workflow].map { (step, $0) }
        }
    }

    /// Schedules a retry, or, with the attempts used up, records the failure and takes the
    /// failure path.
    private func fail(_ ran: Ran, error: any Error) async {
        let (step, workflow) = (ran.step, ran.workflow)
        logger.error("workflow step failed", metadata: metadata(ran).merging(["error": "\(error)"]) { $1 })
        let policy = WorkflowDefinition.retry(step.name)
        do {
            if !(error is PermanentFailure), step.attempt < policy.attempts {
                let delay = policy.delay(beforeRetry: step.attempt)
                _ = try await pool.withConnection { db in
                    try db.execute(
                        """
                        UPDATE prep.steps SET due_at = now() + make_interval(secs => $3), lease_until = NULL, last_error = $4
                        WHERE id = $1 AND attempts = $2
                        """, [step.id, step.attempt, delay.secondsValue, "\(error)"])
                }
                return record(ran, outcome: "retried")
            }
            var effects = StepEffects(workflow: workflow, outbox: outbox)
            if let next = WorkflowDefinition.failurePath(step.name) {
                effects.schedule(next, at: Date())
            } else if [.loadMeeting, .gatherContext, .generateMaterials, .storeMaterials].contains(step.name) {
                effects.setState("failed", finished: true)
            }
            try await outbox.transaction(pool) { [effects] db in
                let failed = try db.execute(
                    """
                    UPDATE prep.steps SET state = 'failed', outcome = $3, last_error = $4, finished_at = now(), lease_until = NULL
                    WHERE id = $1 AND attempts = $2 AND state IN ('pending', 'waiting')
                    """, [step.id, step.attempt, "failed after \(step.attempt) attempt(s): \(error)", "\(error)"])
                if failed == 1 { try effects.apply(on: db) }
            }
            record(ran, outcome: "failed")
        } catch {
            logger.error("recording a step's failure failed; its lease will run out", metadata: ["error": "\(error)"])
            record(ran, outcome: "error")
        }
    }

    private func metadata(_ ran: Ran) -> Logger.Metadata {
        ["workflow_id": "\(ran.workflow.id)", "step": "\(ran.step.name.rawValue)", "attempt": "\(ran.step.attempt)"]
    }

    static func count(_ step: StepName, outcome: String) {
        Counter(label: "attache_workflow_steps_total", dimensions: [("step", step.rawValue), ("outcome", outcome)]).increment()
    }

    private func record(_ ran: Ran, outcome: String) {
        Self.count(ran.step.name, outcome: outcome)
        Timer(label: "attache_workflow_step_duration_seconds", dimensions: [("step", ran.step.name.rawValue)])
            .recordNanoseconds(Int64((ContinuousClock.now - ran.started).secondsValue * 1e9))
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
