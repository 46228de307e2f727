import Foundation
import Shared
import Store
import Synchronization
import TestSupport
import Testing

@testable import PrepOrchestrator

/// The engine's guarantees: replicas share the work and each step completes once, a step whose
/// replica died is taken over, and what a superseded run produced is dropped.
@Suite("Workflow engine")
struct WorkflowEngineTests {
    @Test("two replicas running the same workflows: every step completes once, every effect happens once")
    func twoReplicas() async throws {
        try await withPrep { prep in
            let meetings = (0..<12).map { _ in classification(startsIn: 20 * 60) }
            for meeting in meetings { try await prep.classify(meeting) }
            let other = WorkflowEngine(
                pool: prep.pool, outbox: prep.outbox, steps: prep.steps, wakeup: prep.wakeup, batchSize: 3,
                logger: TestStack.logger)
            async let first: Void = prep.settle()
            async let second: Void = { while try await other.runDueSteps() > 0 {} }()
            _ = try await (first, second)
            try await prep.settle()

            let (attempts, notifications, ready) = try await prep.pool.withConnection { db in
                (
                    try db.queryOne("SELECT max(attempts) AS n FROM prep.steps WHERE state = 'done'")!.int("n"),
                    try db.queryOne("SELECT count(*) AS n FROM prep.notifications")!.int("n"),
                    try db.queryOne("SELECT count(*) AS n FROM prep.outbox WHERE message_type = 'prep.materials.ready.v1'")!.int(
                        "n")
                )
            }
            #expect(attempts == 1, "no step was run twice")
            #expect(notifications == meetings.count)
            #expect(ready == meetings.count)
        }
    }

    @Test("classifications arriving together start each workflow once, as one by one would: new, moved and repeated meetings")
    func classificationsTogether() async throws {
        try await withPrep { prep in
            let moved = classification(title: "Moved staff meeting")
            try await prep.classify(moved)
            let fresh = (0..<5).map { _ in classification() }
            let twice = classification(title: "First title")
            var renamed = twice
            renamed.meeting.revision = 2
            renamed.meeting.title = "Second title"
            var later = moved
            later.meeting.revision = 2
            later.meeting.start = moved.meeting.start.addingTimeInterval(3600)
            later.meeting.end = moved.meeting.end.addingTimeInterval(3600)
            later.botJoinAt = moved.botJoinAt.addingTimeInterval(3600)
            let envelopes = (fresh + [twice, later, renamed]).map {
                Envelope(tenantID: "acme", correlationID: $0.meeting.meetingID, payload: $0)
            }
            try await prep.classify(together: envelopes)
            try await prep.classify(together: envelopes)  // delivered again: nothing more happens
            try await prep.settle()

            let (workflows, steps, botJoins) = try await prep.pool.withConnection { db in
                (
                    try db.query("SELECT meeting_id, meeting->>'title' AS title FROM prep.workflows").map {
                        (try $0.uuid("meeting_id"), try $0.string("title"))
                    },
                    try db.queryOne(
                        "SELECT count(*) AS n FROM (SELECT 1 FROM prep.steps GROUP BY workflow_id, step HAVING count(*) > 1) d"
                    )!.int("n"),
                    try db.query(
                        """
                        SELECT w.meeting_id, s.due_at FROM prep.steps s JOIN prep.workflows w ON w.id = s.workflow_id
                        WHERE s.step = 'request_bot_join'
                        """
                    ).map { (try $0.uuid("meeting_id"), try $0.date("due_at")) }
                )
            }
            #expect(workflows.count == 7)
            #expect(Dictionary(uniqueKeysWithValues: workflows)[twice.meeting.meetingID] == "Second title")
            #expect(steps == 0)
            let movedJoin = try #require(botJoins.first { $0.0 == moved.meeting.meetingID }?.1)
            #expect(
                movedJoin.isSameStoredInstant(as: PrepSteps.Settings().botRequestAt(later.botJoinAt)),
                "the moved meeting's bot is asked for ahead of its new time")
            for meeting in fresh + [twice, moved] {
                #expect(try await prep.notifications(of: meeting.meeting.meetingID).filter { $0.kind == "prep" }.count == 1)
            }
        }
    }

    /// Runs steps through `steps`, and spoils the completion of `spoiled`'s steps with a write
    /// that cannot succeed.
    struct SpoiledCompletion: StepRunner {
        let steps: any StepRunner
        let spoiled: UUID

        func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion {
            var completion = try await steps.run(step, of: workflow)
            guard workflow.meeting.meetingID == spoiled else { return completion }
            let effects = completion.effects
            completion.effects = { recorded in
                try effects(&recorded)
                recorded.write("INSERT INTO prep.no_such_table SELECT * FROM unnest($1::text[])", ["spoiled"])
            }
            return completion
        }
    }

    @Test("steps completing together commit together, yet one whose writes fail costs only itself")
    func oneBadCompletion() async throws {
        try await withPrep { prep in
            let meetings = (0..<6).map { _ in classification() }
            for meeting in meetings { try await prep.classify(meeting) }
            let engine = WorkflowEngine(
                pool: prep.pool, outbox: prep.outbox,
                steps: SpoiledCompletion(steps: prep.steps, spoiled: meetings[2].meeting.meetingID), wakeup: prep.wakeup,
                logger: TestStack.logger)
            try await engine.runDueSteps()

            for (index, meeting) in meetings.enumerated() {
                let steps = try await prep.steps(of: meeting.meeting.meetingID)
                if index == 2 {
                    #expect(steps["load_meeting"] == "pending", "the spoiled step is left to retry: \(steps)")
                } else {
                    #expect(steps["send_prep_notification"] == "done", "\(steps)")
                }
            }
            let error = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT last_error FROM prep.steps WHERE step = 'load_meeting' AND last_error IS NOT NULL")?
                    .optionalString("last_error")
            }
            #expect(error?.contains("no_such_table") == true)
            // One transaction's now(): steps that finished in the same commit share it.
            let largestCommit = try await prep.pool.withConnection { db in
                try db.queryOne(
                    "SELECT max(n) AS n FROM (SELECT count(*) AS n FROM prep.steps WHERE state = 'done' GROUP BY finished_at) c"
                )!.int("n")
            }
            #expect(largestCommit > 1)
        }
    }

    /// Runs steps through `steps`, except that the first run of `held` never returns (its replica died).
    struct DyingReplica: StepRunner {
        let steps: any StepRunner
        let held: StepName
        let runs = Counter()

        func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion {
            if step.name == held, runs.incrementing() == 1 {
                try await Task.sleep(for: .seconds(3600))
            }
            return try await steps.run(step, of: workflow)
        }
    }

    @Test("a replica that dies mid-step: another takes the step over once its lease runs out, and it completes once")
    func replicaDiesMidStep() async throws {
        try await withPrep { prep in
            let classified = classification(startsIn: 20 * 60)
            try await prep.classify(classified)
            let dying = WorkflowEngine(
                pool: prep.pool, outbox: prep.outbox, steps: DyingReplica(steps: prep.steps, held: .generateMaterials),
                wakeup: prep.wakeup, lease: .seconds(1), logger: TestStack.logger)
            // The dying replica runs until it is stuck in GenerateMaterials.
            let stuck = Task { while try await dying.runDueSteps() > 0 {} }
            try await eventually("the step claimed and stuck") {
                try await prep.pool.withConnection { db in
                    try db.queryOne(
                        "SELECT 1 FROM prep.steps WHERE step = 'generate_materials' AND state = 'pending' AND lease_until IS NOT NULL"
                    )
                } != nil
            }
            // Once the lease has run out, a healthy replica takes it over.
            try await eventually("the step taken over") {
                try await prep.engine.runDueSteps()
                return try await prep.steps(of: classified.meeting.meetingID)["send_materials"] == "done"
            }
            stuck.cancel()
            _ = await stuck.result
            let (attempts, materials) = try await prep.pool.withConnection { db in
                (
                    try db.queryOne("SELECT attempts FROM prep.steps WHERE step = 'generate_materials'")!.int("attempts"),
                    try db.queryOne("SELECT count(*) AS n FROM prep.materials")!.int("n")
                )
            }
            #expect(attempts == 2, "claimed twice")
            #expect(materials == 1, "generated and recorded once")
        }
    }

    @Test("a restart while waiting for the owner: a new engine finds the wait and goes on from it")
    func restartWhileWaiting() async throws {
        try await withPrep { prep in
            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let page = try #require(
                PrepHarness.link("Start prep", in: try await prep.notifications(of: classified.meeting.meetingID)[0].text))
            // The process that asked is gone; a new one (a new engine, the same database) serves the answer.
            let restarted = WorkflowEngine(
                pool: prep.pool, outbox: prep.outbox, steps: prep.steps, wakeup: prep.wakeup, logger: TestStack.logger)
            #expect(try await prep.post(page, form: ["answer_0": "Ship it", "action": "finish"]).status == 200)
            while try await restarted.runDueSteps() > 0 {}
            let steps = try await prep.steps(of: classified.meeting.meetingID)
            #expect(steps["send_materials"] == "done")
            #expect(try await prep.published(PrepNotificationSent.messageType).count == 1, "the owner was asked once")
        }
    }
}
