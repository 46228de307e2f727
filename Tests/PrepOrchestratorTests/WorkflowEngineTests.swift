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
