import Delivery
import Foundation
import Shared

/// bot-gateway's reports of problems with a meeting's bot (`bot.problem.detected`): kept once
/// in `prep.bot_problems`, and the owner is told through their channels by the workflow's
/// `notify_bot_problem` step, so the message has the chain's guarantees. A report about a
/// meeting without a workflow here is not ours to tell.
struct BotProblemNotifications: Sendable {
    let wakeup: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(BotProblemDetected.self, batching: .sharedTransaction, problemDetected)
    }

    func problemDetected(_ envelope: Envelope<BotProblemDetected>, _ context: HandlerContext) async throws {
        let report = envelope.payload
        let scheduled = try await context.once { db -> Bool in
            guard
                let workflow = try db.queryOne("SELECT id FROM prep.workflows WHERE meeting_id = $1", [report.meetingID])?
                    .uuid("id"),
                try db.execute(
                    """
                    INSERT INTO prep.bot_problems (workflow_id, bot_id, problem, explanation, detected_at)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
                    """, [workflow, report.botID, report.problem, report.explanation, report.detectedAt]) == 1
            else { return false }
            try StepEffects.schedule(.notifyBotProblem, workflow: workflow, at: Date(), on: db)
            return true
        }
        if scheduled == true { context.afterCommit { [wakeup] in wakeup.wake() } }
    }
}
