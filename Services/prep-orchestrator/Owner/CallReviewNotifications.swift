import Delivery
import Foundation
import Shared
import Store

/// monitoring-worker's diagnoses of failed calls (`monitoring.diagnosis`): kept once in
/// `prep.call_reviews`, and the owner is told the diagnosis' line through their channels by the
/// workflow's `notify_call_review` step. A partial call is left to the operators' console; a
/// call of a meeting without a workflow here is not ours to tell.
struct CallReviewNotifications: Sendable {
    let wakeup: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(CallDiagnosed.self, batching: .sharedTransaction, callDiagnosed)
    }

    func callDiagnosed(_ envelope: Envelope<CallDiagnosed>, _ context: HandlerContext) async throws {
        let diagnosis = envelope.payload
        guard diagnosis.status == "fail" else { return }
        let scheduled = try await context.once { db -> Bool in
            guard
                let workflow = try db.queryOne("SELECT id FROM prep.workflows WHERE meeting_id = $1", [diagnosis.meetingID])?
                    .uuid("id"),
                try db.execute(
                    """
                    INSERT INTO prep.call_reviews (session_id, workflow_id, root_causes, summary, diagnosed_at)
                    VALUES ($1, $2, $3::text[], $4, $5) ON CONFLICT DO NOTHING
                    """,
                    [
                        diagnosis.sessionID, workflow, PostgresArray(diagnosis.rootCauses), diagnosis.summary,
                        envelope.occurredAt,
                    ]) == 1
            else { return false }
            try StepEffects.schedule(.notifyCallReview, workflow: workflow, at: Date(), on: db)
            return true
        }
        if scheduled == true { context.afterCommit { [wakeup] in wakeup.wake() } }
    }
}
