import Delivery
import Foundation
import Shared
import Store

/// Starts, reschedules and stops preparation workflows as classifications arrive, and follows
/// the bot through the meeting.
struct WorkflowHandlers: Sendable {
    let timers: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(MeetingClassified.self, classified)
        routes.on(ClassificationCancelled.self, cancelled)
        routes.on(BotStatusChanged.self, botStatusChanged)
    }

    /// One workflow per meeting. A reclassification (the meeting moved, or changed type)
    /// reschedules the steps that have not happened yet.
    func classified(_ envelope: Envelope<MeetingClassified>, _ context: HandlerContext) async throws {
        let classified = envelope.payload
        let meeting = classified.meeting
        let revisions = context.revisions
        try await context.once { db in
            guard try revisions.acceptNewer("meeting", id: meeting.meetingID.uuidString, revision: meeting.revision, on: db)
            else {
                return  // a later change (or the cancellation) was applied already
            }
            let workflowID = try db.queryOne(
                """
                INSERT INTO prep.workflows
                    (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type, prep_questions, state)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting_for_prep')
                ON CONFLICT (meeting_id) DO UPDATE SET meeting = EXCLUDED.meeting, meeting_type = EXCLUDED.meeting_type,
                    prep_questions = EXCLUDED.prep_questions, traceparent = EXCLUDED.traceparent,
                    state = CASE WHEN prep.workflows.state = 'cancelled' THEN 'waiting_for_prep' ELSE prep.workflows.state END,
                    updated_at = now()
                RETURNING id
                """,
                [
                    UUID(), meeting.meetingID, envelope.tenantID, envelope.correlationID, envelope.traceparent,
                    try JSONBValue(meeting, encoder: MessageCoding.encoder()), classified.meetingType,
                    try JSONBValue(classified.prepQuestions),
                ]
            )!.uuid("id")
            for (step, due) in [
                (PrepStep.sendPrepNotification, classified.prepTriggerAt), (.requestBotJoin, classified.botJoinAt),
            ] {
                try db.execute(
                    """
                    INSERT INTO prep.timers (workflow_id, step, due_at) VALUES ($1, $2, $3)
                    ON CONFLICT (workflow_id, step) DO UPDATE SET due_at = EXCLUDED.due_at
                    WHERE prep.timers.fired_at IS NULL
                    """, [workflowID, step.rawValue, due])
            }
        }
        timers.wake()
    }

    func cancelled(_ envelope: Envelope<ClassificationCancelled>, _ context: HandlerContext) async throws {
        let revisions = context.revisions
        let cancellation = envelope.payload
        try await context.once { db in
            guard
                try revisions.acceptNewer(
                    "meeting", id: cancellation.meetingID.uuidString, revision: cancellation.meetingRevision, on: db)
            else { return }
            try db.execute(
                """
                DELETE FROM prep.timers WHERE fired_at IS NULL
                    AND workflow_id = (SELECT id FROM prep.workflows WHERE meeting_id = $1)
                """, [envelope.payload.meetingID])
            try db.execute(
                "UPDATE prep.workflows SET state = 'cancelled', updated_at = now() WHERE meeting_id = $1",
                [envelope.payload.meetingID])
        }
    }

    func botStatusChanged(_ envelope: Envelope<BotStatusChanged>, _ context: HandlerContext) async throws {
        let state: String? =
            switch envelope.payload.status {
            case .joiningCall, .inWaitingRoom: "bot_joining"
            case .inCallNotRecording, .inCallRecording: "bot_in_call"
            case .callEnded, .done: "call_ended"
            case .fatal: "bot_failed"
            default: nil
            }
        guard let state else { return }
        let revisions = context.revisions
        let change = envelope.payload
        try await context.once { db in
            // The provider's timestamp orders a bot's statuses: a late "joining" never undoes "ended".
            guard
                try revisions.acceptNewer(
                    "bot-status", id: change.meetingID.uuidString,
                    revision: Int(change.changedAt.timeIntervalSince1970 * 1_000_000),
                    on: db)
            else { return }
            try db.execute(
                "UPDATE prep.workflows SET state = $2, updated_at = now() WHERE meeting_id = $1 AND state <> 'cancelled'",
                [envelope.payload.meetingID, state])
        }
    }
}
