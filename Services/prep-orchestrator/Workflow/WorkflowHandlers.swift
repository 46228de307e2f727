import Delivery
import Foundation
import Resilience
import Shared
import Store

/// Starts, reschedules and stops preparation workflows as classifications arrive, and follows
/// the bot through the meeting.
struct WorkflowHandlers: Sendable {
    let wakeup: WakeSignal
    let settings: PrepSteps.Settings

    func register(in routes: inout EventRoutes) {
        routes.on(MeetingClassified.self, classified)
        routes.on(ClassificationCancelled.self, cancelled)
        routes.on(BotStatusChanged.self, botStatusChanged)
    }

    /// One workflow per meeting, started under the current definition. A later classification
    /// (the meeting moved or changed) moves the steps that have not happened yet, and makes the
    /// materials again when what they are made from changed; after a cancellation it starts over.
    func classified(_ envelope: Envelope<MeetingClassified>, _ context: HandlerContext) async throws {
        let classified = envelope.payload
        let meeting = classified.meeting
        let (revisions, settings) = (context.revisions, settings)
        try await context.once { db in
            guard try revisions.acceptNewer("meeting", id: meeting.meetingID.uuidString, revision: meeting.revision, on: db)
            else {
                return  // a later change (or the cancellation) was applied already
            }
            let previous = try db.queryOne(
                "SELECT id, meeting, state FROM prep.workflows WHERE meeting_id = $1 FOR UPDATE", [meeting.meetingID])
            let workflowID = try previous?.uuid("id") ?? UUID()
            try db.execute(
                """
                INSERT INTO prep.workflows
                    (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type, prep_questions,
                     context_required, prep_trigger_at, reminder_at, bot_join_at, definition_version, state)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'waiting_for_prep')
                ON CONFLICT (meeting_id) DO UPDATE SET meeting = EXCLUDED.meeting, meeting_type = EXCLUDED.meeting_type,
                    prep_questions = EXCLUDED.prep_questions, context_required = EXCLUDED.context_required,
                    prep_trigger_at = EXCLUDED.prep_trigger_at, reminder_at = EXCLUDED.reminder_at,
                    bot_join_at = EXCLUDED.bot_join_at, traceparent = EXCLUDED.traceparent, updated_at = now()
                """,
                [
                    workflowID, meeting.meetingID, envelope.tenantID, envelope.correlationID, envelope.traceparent,
                    try JSONBValue(meeting, encoder: MessageCoding.encoder()), classified.meetingType,
                    try JSONBValue(classified.prepQuestions), try JSONBValue(classified.contextRequired),
                    classified.prepTriggerAt, classified.reminderAt, classified.botJoinAt, WorkflowDefinition.version,
                ])
            guard let previous, try previous.string("state") != "cancelled" else {
                // New, or starting over after a cancellation.
                try db.execute(
                    "UPDATE prep.workflows SET state = 'waiting_for_prep', finished_at = NULL WHERE id = $1", [workflowID])
                try StepEffects.schedule(.loadMeeting, workflow: workflowID, at: classified.prepTriggerAt, on: db)
                try StepEffects.schedule(.requestBotJoin, workflow: workflowID, at: classified.botJoinAt, on: db)
                return
            }
            let before = try previous.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.decoder())
            try Self.move(workflowID, to: classified, settings: settings, on: db)
            let changed =
                !before.start.isSameStoredInstant(as: meeting.start) || !before.end.isSameStoredInstant(as: meeting.end)
                || before.title != meeting.title || before.attendees != meeting.attendees
            let generated = try db.queryOne(
                "SELECT 1 FROM prep.steps WHERE workflow_id = $1 AND step = 'generate_materials' AND state = 'done'", [workflowID]
            )
            if changed, generated != nil {
                try StepEffects.schedule(.generateMaterials, workflow: workflowID, at: Date(), on: db)
            }
        }
        wakeup.wake()
    }

    /// Moves what has not happened yet to the meeting's new times.
    static func move(_ workflow: UUID, to classified: MeetingClassified, settings: PrepSteps.Settings, on db: PostgresConnection)
        throws
    {
        for (step, due) in [
            (StepName.loadMeeting, classified.prepTriggerAt), (.requestBotJoin, classified.botJoinAt),
            (.sendReminder, classified.reminderAt),
        ] {
            try db.execute(
                "UPDATE prep.steps SET due_at = $3 WHERE workflow_id = $1 AND step = $2 AND state = 'pending'",
                [workflow, step.rawValue, due])
        }
        // The owner's wait ends no later than the new stopping point.
        let stopAt = classified.meeting.start.addingTimeInterval(-settings.stopBefore.secondsValue)
        try db.execute(
            """
            UPDATE prep.owner_tokens SET expires_at = least(created_at + make_interval(secs => $3), $2)
            WHERE workflow_id = $1 AND used_at IS NULL AND revoked_at IS NULL
            """, [workflow, stopAt, settings.ownerWait.secondsValue])
        try db.execute(
            """
            UPDATE prep.steps s SET due_at = t.expires_at FROM prep.owner_tokens t
            WHERE s.workflow_id = $1 AND s.step = 'wait_for_owner' AND s.state = 'waiting' AND t.workflow_id = s.workflow_id
            """, [workflow])
    }

    /// Stops the workflow: nothing pending happens, the owner's link stops working, and an
    /// owner who had been asked is told.
    func cancelled(_ envelope: Envelope<ClassificationCancelled>, _ context: HandlerContext) async throws {
        let revisions = context.revisions
        let cancellation = envelope.payload
        try await context.once { db in
            guard
                try revisions.acceptNewer(
                    "meeting", id: cancellation.meetingID.uuidString, revision: cancellation.meetingRevision, on: db)
            else { return }
            guard
                let workflow = try db.queryOne(
                    "SELECT id FROM prep.workflows WHERE meeting_id = $1 AND state <> 'cancelled' FOR UPDATE",
                    [cancellation.meetingID])?.uuid("id")
            else { return }
            try db.execute(
                "UPDATE prep.workflows SET state = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1", [workflow]
            )
            try db.execute(
                """
                UPDATE prep.steps SET state = 'cancelled', outcome = 'cancelled: the meeting was cancelled', lease_until = NULL,
                    finished_at = now()
                WHERE workflow_id = $1 AND state IN ('pending', 'waiting')
                """, [workflow])
            let asked = try db.execute(
                "UPDATE prep.owner_tokens SET revoked_at = now() WHERE workflow_id = $1 AND revoked_at IS NULL", [workflow])
            if asked > 0 { try StepEffects.schedule(.notifyCancellation, workflow: workflow, at: Date(), on: db) }
        }
        wakeup.wake()
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
