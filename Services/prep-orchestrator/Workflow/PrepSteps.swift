import Delivery
import Foundation
import Logging
import Shared
import Store

/// The steps of the preparation workflow (definition version 1), from loading the meeting to
/// the reminder, and the bot's join request beside them.
struct PrepSteps: StepRunner {
    struct Settings: Sendable {
        /// The longest the owner's answers are waited for (the design's 24 h).
        var ownerWait: Duration = .seconds(24 * 3600)
        /// Asking stops this long before the meeting: later answers could not help.
        var stopBefore: Duration = .seconds(30 * 60)
        var botName = "Attaché"
        /// Where the owner's prep page is reached.
        var publicURL = "http://127.0.0.1:8083"
        /// How long before its join time a meeting's bot is asked for: ahead enough for the
        /// provider to schedule it (Recall joins scheduled bots on time when asked 10+ minutes ahead).
        var botRequestLead: Duration = .seconds(3600)

        /// When the bot for a meeting joining at `joinAt` is asked for.
        func botRequestAt(_ joinAt: Date) -> Date { joinAt.addingTimeInterval(-botRequestLead.secondsValue) }
    }

    let pool: PostgresPool
    let context: ContextGatherer
    let channels: OwnerChannels
    let generator: any MaterialsGenerator
    let store: any MaterialsStore
    let settings: Settings
    var clock: @Sendable () -> Date = { Date() }

    func run(_ step: ClaimedStep, of workflow: WorkflowRecord) async throws -> StepCompletion {
        let now = clock()
        switch step.name {
        case .loadMeeting: return Self.loadMeeting(workflow, now: now)
        case .gatherContext: return await gatherContext(workflow)
        case .sendPrepNotification: return try await sendPrepNotification(workflow, step: step, now: now)
        case .waitForOwner: return ownerDidNotAnswer(workflow, now: now)
        case .generateMaterials: return try await generateMaterials(workflow, now: now)
        case .storeMaterials: return try await storeMaterials(workflow, step: step, now: now)
        case .sendMaterials: return try await sendMaterials(workflow, step: step, now: now)
        case .scheduleReminder: return scheduleReminder(workflow, now: now)
        case .sendReminder: return try await sendReminder(workflow, step: step, now: now)
        case .notifyCancellation: return try await notifyCancellation(workflow, step: step)
        case .requestBotJoin: return requestBotJoin(workflow, now: now)
        case .continueDelivery: return try await continueDelivery(workflow, step: step, now: now)
        case .notifyBotProblem: return try await notifyBotProblem(workflow, step: step)
        case .notifyCallReview: return try await notifyCallReview(workflow, step: step)
        }
    }

    // MARK: Preparation

    /// Reads nothing but the workflow: where it is due as the workflow starts, the handler that
    /// starts it runs it in the same transaction (`WorkflowHandlers`).
    static func loadMeeting(_ workflow: WorkflowRecord, now: Date) -> StepCompletion {
        guard workflow.meeting.start > now else {
            return StepCompletion(outcome: .skipped("the meeting has already started")) {
                $0.setState("skipped", finished: true)
            }
        }
        let output = [
            "title": workflow.meeting.title, "meeting_type": workflow.meetingType,
            "questions": String(workflow.prepQuestions.count),
            "context_required": workflow.contextRequired.joined(separator: ","),
        ]
        return StepCompletion(outcome: .done(), output: output) { effects in
            effects.setState("gathering_context")
            effects.schedule(.gatherContext, at: now)
        }
    }

    private func gatherContext(_ workflow: WorkflowRecord) async -> StepCompletion {
        let kinds = workflow.contextRequired.compactMap(ContextKind.init(rawValue:))
        let results = await context.gather(
            kinds, tenant: workflow.tenantID, owner: workflow.owner, meetingStart: workflow.meeting.start)
        let output = Dictionary(
            uniqueKeysWithValues: results.map { ($0.kind.rawValue, $0.unavailableReason ?? "\($0.items.count) items") })
        let unavailable = results.filter { !$0.isAvailable }.count
        return StepCompletion(
            outcome: .done(unavailable == 0 ? nil : "\(unavailable) of \(results.count) unavailable"), output: output,
            handOff: results
        ) {
            effects in
            for result in results {
                effects.write(
                    """
                    INSERT INTO prep.context (workflow_id, kind, status, items, reason, attempts, duration_ms)
                    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::int[], $7::int[])
                    ON CONFLICT (workflow_id, kind) DO UPDATE SET status = EXCLUDED.status, items = EXCLUDED.items,
                        reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, duration_ms = EXCLUDED.duration_ms,
                        gathered_at = now()
                    """,
                    [
                        workflow.id, result.kind.rawValue, result.isAvailable ? "available" : "unavailable",
                        try JSONBValue(result.items), result.unavailableReason, result.attempts, result.durationMilliseconds,
                    ])
            }
            effects.schedule(.sendPrepNotification, at: Date())
        }
    }

    private func sendPrepNotification(_ workflow: WorkflowRecord, step: ClaimedStep, now: Date) async throws
        -> StepCompletion
    {
        guard workflow.meeting.start > now else {
            return StepCompletion(outcome: .skipped("the meeting has already started")) {
                $0.setState("skipped", finished: true)
            }
        }
        let deadline = min(
            now.addingTimeInterval(settings.ownerWait.secondsValue),
            workflow.meeting.start.addingTimeInterval(-settings.stopBefore.secondsValue))
        guard deadline > now else {
            return StepCompletion(outcome: .skipped("too close to the meeting to ask the owner")) { effects in
                effects.setState("generating")
                effects.schedule(.generateMaterials, at: now)
            }
        }
        let token = OwnerToken.make().token
        var gathered = step.handedOver as? [ContextResult]
        if gathered == nil { gathered = try await pool.withConnection { db in try PrepSteps.context(of: workflow, on: db) } }
        let message = OwnerMessages.prepRequest(
            workflow, context: gathered ?? [], deadline: deadline, link: "\(settings.publicURL)/prep/\(token)")
        let delivery = try await deliver(message, step: step, of: workflow)
        // A run before a crash may have sent its own link: that token is the one to keep.
        let hash = OwnerToken.hash(delivery.message.flatMap(OwnerToken.token(in:)) ?? token)
        return StepCompletion(
            outcome: .done(), output: delivery.output.merging(["answers_until": deadline.formatted(.iso8601)]) { $1 }
        ) { effects in
            effects.write(
                """
                INSERT INTO prep.owner_tokens (workflow_id, token_hash, expires_at)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])
                ON CONFLICT (workflow_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                    used_at = NULL, revoked_at = NULL, created_at = now()
                """, [workflow.id, hash, deadline])
            record(delivery, step: step, &effects)
            try effects.publish(
                PrepNotificationSent(
                    workflowID: workflow.id, meetingID: workflow.meeting.meetingID, channel: delivery.channel,
                    recipient: message.recipient, text: message.textWithoutLinks))
            effects.setState("waiting_for_owner")
            effects.schedule(.waitForOwner, at: deadline, waiting: true)
        }
    }

    /// The wait came to its end without the owner finishing: prepare from the context alone.
    private func ownerDidNotAnswer(_ workflow: WorkflowRecord, now: Date) -> StepCompletion {
        StepCompletion(outcome: .done("timed out: the owner did not finish answering"), output: ["answered": "false"]) {
            effects in
            effects.onCommit { PrepMetrics.ownerFinished(false) }
            effects.setState("generating")
            effects.schedule(.generateMaterials, at: now)
        }
    }

    private func generateMaterials(_ workflow: WorkflowRecord, now: Date) async throws -> StepCompletion {
        let (gathered, answers, token) = try await pool.withConnection { db in
            (
                try PrepSteps.context(of: workflow, on: db), try PrepSteps.answers(workflow.id, on: db),
                try db.queryOne(
                    """
                    SELECT t.used_at, s.outcome AS wait FROM prep.owner_tokens t
                    LEFT JOIN prep.steps s ON s.workflow_id = t.workflow_id AND s.step = 'wait_for_owner'
                    WHERE t.workflow_id = $1
                    """, [workflow.id])
            )
        }
        let finished = try token?.optionalDate("used_at") != nil
        let declined = try token?.optionalString("wait")?.contains("chose not to prepare") == true
        let input = MaterialsInput(
            meeting: workflow.meeting, meetingType: workflow.meetingType, prepQuestions: workflow.prepQuestions,
            context: gathered, answers: finished ? answers : [],
            withoutOwnerBecause: finished
                ? nil
                : token == nil
                    ? "the owner could not be asked in time"
                    : declined ? "the owner chose not to prepare this time" : "no answers by the deadline")
        let started = ContinuousClock.now
        let materials = try await generator.generate(input)
        let elapsed = ContinuousClock.now - started
        let id = UUID()
        return StepCompletion(
            outcome: .done(), output: ["materials_id": id.uuidString, "generator": materials.generator],
            handOff: (id, materials)
        ) {
            effects in
            effects.write(
                """
                INSERT INTO prep.materials (id, workflow_id, generation, content, generator, model, prompt)
                SELECT u.id, u.workflow_id,
                    (SELECT coalesce(max(m.generation), 0) + 1 FROM prep.materials m WHERE m.workflow_id = u.workflow_id),
                    u.content, u.generator, u.model, u.prompt
                FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[], $4::text[], $5::text[], $6::text[])
                    AS u(id, workflow_id, content, generator, model, prompt)
                """,
                [
                    id, workflow.id, JSONBValue(encoded: try MessageCoding.encode(materials)), materials.generator,
                    materials.model, materials.prompt,
                ])
            effects.schedule(.storeMaterials, at: now)
            effects.onCommit { PrepMetrics.generation(elapsed, generator: materials.generator) }
        }
    }

    private func storeMaterials(_ workflow: WorkflowRecord, step: ClaimedStep, now: Date) async throws -> StepCompletion {
        let (id, materials) = try await latestMaterials(workflow.id, handedOver: step.handedOver)
        let key = MaterialsKey(id: id, tenant: workflow.tenantID, meeting: workflow.meeting.meetingID)
        let files = MaterialsRendering.files(materials)
        try await store.upload(files, key: key)
        return StepCompletion(
            outcome: .done(), output: ["materials_id": id.uuidString, "store": store.name], handOff: (id, materials)
        ) { effects in
            store.record(files, key: key, into: &effects)
            effects.write(
                "UPDATE prep.materials m SET stored_in = u.store FROM unnest($1::uuid[], $2::text[]) AS u(id, store) WHERE m.id = u.id",
                [id, store.name])
            effects.schedule(.sendMaterials, at: now)
        }
    }

    private func sendMaterials(_ workflow: WorkflowRecord, step: ClaimedStep, now: Date) async throws -> StepCompletion {
        let (id, materials) = try await latestMaterials(workflow.id, handedOver: step.handedOver)
        let links = links(to: id, of: workflow, now: now)
        let isReminder = (workflow.reminderAt ?? .distantPast) <= now
        let message = OwnerMessages.materials(workflow, materials: materials, links: links, isReminder: isReminder)
        let delivery = try await deliver(message, step: step, of: workflow)
        return StepCompletion(outcome: .done(), output: delivery.output.merging(["materials_id": id.uuidString]) { $1 }) {
            effects in
            record(delivery, step: step, &effects)
            try effects.publish(
                materials.readyEvent(workflowID: workflow.id, meetingID: workflow.meeting.meetingID, generatedAt: now))
            effects.setState("materials_sent")
            effects.schedule(.scheduleReminder, at: now)
        }
    }

    private func scheduleReminder(_ workflow: WorkflowRecord, now: Date) -> StepCompletion {
        guard let reminderAt = workflow.reminderAt, reminderAt > now else {
            return StepCompletion(outcome: .skipped("the materials message was the reminder"))
        }
        return StepCompletion(outcome: .done(), output: ["reminder_at": reminderAt.formatted(.iso8601)]) {
            $0.schedule(.sendReminder, at: reminderAt)
        }
    }

    private func sendReminder(_ workflow: WorkflowRecord, step: ClaimedStep, now: Date) async throws -> StepCompletion {
        guard workflow.meeting.start > now else { return StepCompletion(outcome: .skipped("the meeting has already started")) }
        let (id, materials) = try await latestMaterials(workflow.id)
        let message = OwnerMessages.reminder(workflow, materials: materials, links: links(to: id, of: workflow, now: now))
        let delivery = try await deliver(message, step: step, of: workflow)
        return StepCompletion(outcome: .done(), output: delivery.output) { record(delivery, step: step, &$0) }
    }

    private func notifyCancellation(_ workflow: WorkflowRecord, step: ClaimedStep) async throws -> StepCompletion {
        let delivery = try await deliver(OwnerMessages.cancellation(workflow), step: step, of: workflow)
        return StepCompletion(outcome: .done(), output: delivery.output) { record(delivery, step: step, &$0) }
    }

    /// Messages a channel reported undelivered after taking them (an SMS `undelivered`) go on
    /// through the rest of their chain. Its state is the workflow's own; this step leaves it.
    private func continueDelivery(_ workflow: WorkflowRecord, step: ClaimedStep, now: Date) async throws -> StepCompletion {
        let ledger = DeliveryLedger(pool: pool, workflow: workflow.id, step: step.id)
        let (entries, waiting) = try await ledger.reopenBounced()
        var deliveries: [OwnerChannels.Delivery] = []
        for entry in entries {
            deliveries.append(try await channels.advance(entry, ledger: ledger, mayDefer: mayDefer(step)))
        }
        let output = Dictionary(
            deliveries.map { delivery in
                (
                    delivery.message?.kind.rawValue ?? "message",
                    delivery.output.map { "\($0)=\($1)" }.sorted().joined(separator: ", ")
                )
            }, uniquingKeysWith: { $1 })
        return StepCompletion(outcome: .done(), output: output) { [deliveries] effects in
            for delivery in deliveries { record(delivery, step: step, &effects) }
            // A bounced message whose own step has not committed yet is looked at again.
            if waiting { effects.schedule(.continueDelivery, at: now.addingTimeInterval(10)) }
        }
    }

    /// Tells the owner what bot-gateway reported about the meeting's bot, every problem not told yet.
    private func notifyBotProblem(_ workflow: WorkflowRecord, step: ClaimedStep) async throws -> StepCompletion {
        let problems = try await pool.withConnection { db in
            try db.query(
                """
                SELECT bot_id, problem, explanation FROM prep.bot_problems
                WHERE workflow_id = $1 AND notified_at IS NULL ORDER BY detected_at
                """, [workflow.id]
            ).map { (bot: try $0.string("bot_id"), problem: try $0.string("problem"), explanation: try $0.string("explanation")) }
        }
        guard !problems.isEmpty else { return StepCompletion(outcome: .skipped("the owner was told already")) }
        let delivery = try await deliver(
            OwnerMessages.botProblem(workflow, explanations: problems.map(\.explanation)), step: step, of: workflow)
        return StepCompletion(
            outcome: .done(),
            output: delivery.output.merging(["problems": problems.map(\.problem).joined(separator: ", ")]) { $1 }
        ) { effects in
            for problem in problems {
                effects.write(
                    """
                    UPDATE prep.bot_problems p SET notified_at = now()
                    FROM unnest($1::text[], $2::text[]) AS u(bot_id, problem) WHERE p.bot_id = u.bot_id AND p.problem = u.problem
                    """, [problem.bot, problem.problem])
            }
            record(delivery, step: step, &effects)
        }
    }

    /// Tells the owner why the agent failed the meeting's call: each diagnosis not told yet, in its one line.
    private func notifyCallReview(_ workflow: WorkflowRecord, step: ClaimedStep) async throws -> StepCompletion {
        let reviews = try await pool.withConnection { db in
            try db.query(
                """
                SELECT session_id, summary FROM prep.call_reviews
                WHERE workflow_id = $1 AND notified_at IS NULL ORDER BY diagnosed_at
                """, [workflow.id]
            ).map { (session: try $0.uuid("session_id"), summary: try $0.string("summary")) }
        }
        guard !reviews.isEmpty else { return StepCompletion(outcome: .skipped("the owner was told already")) }
        let delivery = try await deliver(
            OwnerMessages.callReview(workflow, summaries: reviews.map(\.summary)), step: step, of: workflow)
        return StepCompletion(outcome: .done(), output: delivery.output) { effects in
            for review in reviews {
                effects.write(
                    """
                    UPDATE prep.call_reviews r SET notified_at = now()
                    FROM unnest($1::uuid[]) AS u(session_id) WHERE r.session_id = u.session_id
                    """, [review.session])
            }
            record(delivery, step: step, &effects)
        }
    }

    // MARK: The bot

    private func requestBotJoin(_ workflow: WorkflowRecord, now: Date) -> StepCompletion {
        let meeting = workflow.meeting
        guard meeting.end > now else { return StepCompletion(outcome: .skipped("the meeting has already ended")) }
        return StepCompletion(outcome: .done()) { effects in
            try effects.publish(
                BotJoinRequested(
                    meetingID: meeting.meetingID, workflowID: workflow.id, meetingURL: meeting.conferenceURL,
                    botName: settings.botName, meetingTitle: meeting.title, meetingStart: meeting.start, meetingEnd: meeting.end,
                    joinAt: workflow.botJoinAt))
        }
    }

    // MARK: Reading and recording

    private func deliver(_ message: OwnerMessage, step: ClaimedStep, of workflow: WorkflowRecord) async throws
        -> OwnerChannels.Delivery
    {
        try await channels.deliver(
            message, ledger: DeliveryLedger(pool: pool, workflow: workflow.id, step: step.id), mayDefer: mayDefer(step))
    }

    /// A channel may ask to be tried again later (an SMTP 4xx) while the step has attempts left.
    private func mayDefer(_ step: ClaimedStep) -> Bool {
        step.attempt < WorkflowDefinition.retry(step.name).attempts
    }

    /// The notification row of the message as it went out, and its delivery settled.
    private func record(_ delivery: OwnerChannels.Delivery, step: ClaimedStep, _ effects: inout StepEffects) {
        guard let message = delivery.message else { return }
        if let entry = delivery.entry { DeliveryLedger.settle(entry, step: step.id, into: &effects) }
        effects.write(
            """
            INSERT INTO prep.notifications (id, workflow_id, kind, channel, recipient, text, created_at)
            SELECT *, clock_timestamp() FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
            """,
            [UUID(), effects.workflow.id, message.kind.rawValue, delivery.channel, message.recipient, message.text])
    }

    private func links(to id: UUID, of workflow: WorkflowRecord, now: Date) -> [MaterialLink] {
        let key = MaterialsKey(id: id, tenant: workflow.tenantID, meeting: workflow.meeting.meetingID)
        return MaterialsRendering.fileNames.map { store.link($0, key: key, now: now) }
    }

    /// The newest materials: those the previous step handed over, or else from the database.
    private func latestMaterials(_ workflow: UUID, handedOver: (any Sendable)? = nil) async throws -> (UUID, Materials) {
        if let handedOver = handedOver as? (UUID, Materials) { return handedOver }
        return try await pool.withConnection { db in
            guard
                let row = try db.queryOne(
                    "SELECT id, content FROM prep.materials WHERE workflow_id = $1 ORDER BY generation DESC LIMIT 1", [workflow])
            else { throw PermanentFailure("workflow \(workflow) has no materials") }
            return (try row.uuid("id"), try row.decode(Materials.self, column: "content", decoder: MessageCoding.sharedDecoder))
        }
    }

    /// What GatherContext found, in the order the meeting type asks for it.
    static func context(of workflow: WorkflowRecord, on db: PostgresConnection) throws -> [ContextResult] {
        let order = workflow.contextRequired
        return try db.query(
            "SELECT kind, status, items, reason, attempts, duration_ms FROM prep.context WHERE workflow_id = $1", [workflow.id]
        ).compactMap { row -> ContextResult? in
            guard let kind = ContextKind(rawValue: try row.string("kind")) else { return nil }
            return ContextResult(
                kind: kind, items: try row.decode([ContextItem].self, column: "items"),
                unavailableReason: try row.string("status") == "available"
                    ? nil : try row.optionalString("reason") ?? "unavailable",
                attempts: try row.int("attempts"), durationMilliseconds: try row.int("duration_ms"))
        }.sorted { (order.firstIndex(of: $0.kind.rawValue) ?? .max) < (order.firstIndex(of: $1.kind.rawValue) ?? .max) }
    }

    static func answers(_ workflow: UUID, on db: PostgresConnection) throws -> [OwnerAnswer] {
        try db.query("SELECT question, answer, skipped FROM prep.answers WHERE workflow_id = $1 ORDER BY position", [workflow])
            .map {
                OwnerAnswer(
                    question: try $0.string("question"), answer: try $0.optionalString("answer"), skipped: try $0.bool("skipped"))
            }
    }
}
