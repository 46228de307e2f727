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
    /// Where the first steps of workflows that start at once go, claimed for this replica's
    /// engine for `lease`.
    var adopted: AdoptedSteps? = nil
    var lease: Duration = .seconds(120)

    func register(in routes: inout EventRoutes) {
        routes.on(MeetingClassified.self, classified, batched: classified)
        routes.on(ClassificationCancelled.self, batching: .sharedTransaction, cancelled)
        routes.on(BotStatusChanged.self, batching: .sharedTransaction, botStatusChanged)
    }

    /// One workflow per meeting, started under the current definition. A later classification
    /// (the meeting moved or changed) moves the steps that have not happened yet, and makes the
    /// materials again when what they are made from changed; after a cancellation it starts over.
    func classified(_ envelope: Envelope<MeetingClassified>, _ context: HandlerContext) async throws {
        let (revisions, settings) = (context.revisions, settings)
        try await context.once { db in try Self.apply(envelope, revisions: revisions, settings: settings, on: db) }
        wakeup.wake()
    }

    /// Many classifications at once (a burst, such as a calendar connected or a morning's
    /// meetings coming due): meetings seen for the first time, once in the batch, start with a
    /// few statements for all of them; the others are applied one by one, as a single message is.
    func classified(_ envelopes: [Envelope<MeetingClassified>], _ context: BatchContext) async throws {
        let (revisions, settings, outbox) = (context.revisions, settings, context.outbox)
        let lease = adopted == nil ? nil : self.lease
        let started = try await context.once { db, fresh in
            let envelopes = envelopes.filter { fresh.contains($0.id) }
            let ids = envelopes.map(\.payload.meeting.meetingID)
            let known = Set(
                try db.query("SELECT meeting_id FROM prep.workflows WHERE meeting_id = ANY($1::uuid[])", [PostgresArray(ids)])
                    .map { try $0.uuid("meeting_id") })
            let seen = Dictionary(ids.map { ($0, 1) }, uniquingKeysWith: +)
            let new = envelopes.filter {
                seen[$0.payload.meeting.meetingID] == 1 && !known.contains($0.payload.meeting.meetingID)
            }
            let accepted = try revisions.acceptNewer(
                "meeting", revisions: new.map { ($0.payload.meeting.meetingID.uuidString, $0.payload.meeting.revision) }, on: db)
            let started = try Self.start(
                new.filter { accepted.contains($0.payload.meeting.meetingID.uuidString) }, claimFor: lease,
                settings: settings, outbox: outbox, on: db)
            for envelope in envelopes where !new.contains(where: { $0.id == envelope.id }) {
                try Self.apply(envelope, revisions: revisions, settings: settings, on: db)
            }
            return started
        }
        adopted?.add(started?.next ?? [])
        for outcome in started?.loaded ?? [] { WorkflowEngine.count(.loadMeeting, outcome: outcome) }
        wakeup.wake()
    }

    /// Workflows for meetings that have none, waiting for their prep trigger and the bot's join.
    /// With a lease, the first steps that are due already are claimed, and returned for the engine.
    private static func start(
        _ envelopes: [Envelope<MeetingClassified>], claimFor lease: Duration?, settings: PrepSteps.Settings, outbox: Outbox,
        on db: PostgresConnection
    ) throws -> (next: [(ClaimedStep, WorkflowRecord)], loaded: [String]) {
        guard !envelopes.isEmpty else { return ([], []) }
        let workflows = envelopes.map { _ in UUID() }
        let column: ((Envelope<MeetingClassified>) throws -> any PostgresBindable) throws -> PostgresArray = { value in
            PostgresArray(try envelopes.map(value))
        }
        try db.execute(
            """
            INSERT INTO prep.workflows
                (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type, prep_questions,
                 context_required, prep_trigger_at, reminder_at, bot_join_at, definition_version, state)
            SELECT u.*, $13, 'waiting_for_prep'
            FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[], $7::text[], $8::jsonb[],
                $9::jsonb[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[]) AS u
            """,
            [
                PostgresArray(workflows), try column { $0.payload.meeting.meetingID }, try column { $0.tenantID },
                try column { $0.correlationID }, try column { $0.traceparent },
                try column { JSONBValue(encoded: try MessageCoding.encode($0.payload.meeting)) },
                try column { $0.payload.meetingType },
                try column { try JSONBValue($0.payload.prepQuestions) },
                try column { try JSONBValue($0.payload.contextRequired) },
                try column { $0.payload.prepTriggerAt }, try column { $0.payload.reminderAt },
                try column { $0.payload.botJoinAt },
                WorkflowDefinition.version,
            ])
        // LoadMeeting reads nothing the classification does not hold: where it is due already,
        // it runs here, in the transaction that starts the workflow, and the step after it is
        // claimed for this replica's engine.
        let now = Date()
        let records = zip(workflows, envelopes).map { WorkflowRecord(id: $0, starting: $1) }
        let loaded = zip(records, envelopes).map { record, envelope in
            lease != nil && envelope.payload.prepTriggerAt <= now ? PrepSteps.loadMeeting(record, now: now) : nil
        }
        let pending = StepCompletion.Outcome?.none
        try db.execute(
            """
            INSERT INTO prep.steps (workflow_id, step, state, due_at, attempts, outcome, output, started_at, finished_at)
            SELECT u.workflow_id, u.step, coalesce(u.state, 'pending'), u.due_at, CASE WHEN u.state IS NULL THEN 0 ELSE 1 END,
                u.outcome, u.output, CASE WHEN u.state IS NOT NULL THEN now() END,
                CASE WHEN u.state IS NOT NULL THEN now() END
            FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::jsonb[])
                AS u(workflow_id, step, due_at, state, outcome, output)
            """,
            [
                PostgresArray(workflows + workflows),
                PostgresArray(
                    Array(repeating: StepName.loadMeeting.rawValue, count: workflows.count)
                        + Array(repeating: StepName.requestBotJoin.rawValue, count: workflows.count)),
                PostgresArray(
                    envelopes.map(\.payload.prepTriggerAt) + envelopes.map { settings.botRequestAt($0.payload.botJoinAt) }),
                PostgresArray((loaded.map { $0?.outcome } + loaded.map { _ in pending }).map { $0?.state }),
                PostgresArray((loaded.map { $0?.outcome } + loaded.map { _ in pending }).map { $0?.text }),
                PostgresArray(try (loaded + loaded.map { _ in nil }).map { try $0.map { try JSONBValue($0.output) } }),
            ])
        var effects: [StepEffects] = []
        for (record, completion) in zip(records, loaded) {
            guard let completion else { continue }
            var recorded = StepEffects(workflow: record, outbox: outbox)
            try completion.effects(&recorded)
            effects.append(recorded)
        }
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        let next = try StepEffects.apply(effects, claimFor: lease, on: db).compactMap { next in
            byID[next.workflow].map { (next.step, $0) }
        }
        return (next, loaded.compactMap { $0?.outcome.state })
    }

    /// One classification, on `db` inside the caller's transaction.
    private static func apply(
        _ envelope: Envelope<MeetingClassified>, revisions: Revisions, settings: PrepSteps.Settings, on db: PostgresConnection
    ) throws {
        let classified = envelope.payload
        let meeting = classified.meeting
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
                JSONBValue(encoded: try MessageCoding.encode(meeting)), classified.meetingType,
                try JSONBValue(classified.prepQuestions), try JSONBValue(classified.contextRequired),
                classified.prepTriggerAt, classified.reminderAt, classified.botJoinAt, WorkflowDefinition.version,
            ])
        guard let previous, try previous.string("state") != "cancelled" else {
            // New, or starting over after a cancellation.
            try db.execute(
                "UPDATE prep.workflows SET state = 'waiting_for_prep', finished_at = NULL WHERE id = $1", [workflowID])
            try StepEffects.schedule(.loadMeeting, workflow: workflowID, at: classified.prepTriggerAt, on: db)
            try StepEffects.schedule(
                .requestBotJoin, workflow: workflowID, at: settings.botRequestAt(classified.botJoinAt), on: db)
            return
        }
        let before = try previous.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.sharedDecoder)
        try Self.move(
            workflowID, to: classified, botMoved: !before.start.isSameStoredInstant(as: meeting.start), settings: settings,
            on: db)
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

    /// Moves what has not happened yet to the meeting's new times.
    static func move(
        _ workflow: UUID, to classified: MeetingClassified, botMoved: Bool, settings: PrepSteps.Settings,
        on db: PostgresConnection
    ) throws {
        for (step, due) in [
            (StepName.loadMeeting, classified.prepTriggerAt), (.requestBotJoin, settings.botRequestAt(classified.botJoinAt)),
            (.sendReminder, classified.reminderAt),
        ] {
            try db.execute(
                "UPDATE prep.steps SET due_at = $3 WHERE workflow_id = $1 AND step = $2 AND state = 'pending'",
                [workflow, step.rawValue, due])
        }
        // A bot already asked for is asked for again with the new times (the gateway replaces a
        // scheduled one); the first ask has happened, so the new one goes at once.
        if botMoved,
            try db.queryOne(
                "SELECT 1 FROM prep.steps WHERE workflow_id = $1 AND step = 'request_bot_join' AND state = 'done'", [workflow])
                != nil
        {
            try StepEffects.schedule(.requestBotJoin, workflow: workflow, at: Date(), on: db)
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
        let (revisions, outbox) = (context.revisions, context.outbox)
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
            if try db.queryOne(
                "SELECT 1 FROM prep.steps WHERE workflow_id = $1 AND step = 'request_bot_join' AND state = 'done'", [workflow])
                != nil
            {
                try outbox.append(
                    Envelope(
                        BotJoinCancelled(meetingID: cancellation.meetingID, workflowID: workflow, reason: cancellation.reason),
                        causedBy: envelope), on: db)
            }
            let asked = try db.execute(
                "UPDATE prep.owner_tokens SET revoked_at = now() WHERE workflow_id = $1 AND revoked_at IS NULL", [workflow])
            if asked > 0 { try StepEffects.schedule(.notifyCancellation, workflow: workflow, at: Date(), on: db) }
        }
        context.afterCommit { [wakeup] in wakeup.wake() }
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
