import Delivery
import Foundation
import Logging
import Shared
import Slack
import Store

/// The owner's side of preparing in Slack: **Start prep** asks the meeting type's questions one at
/// a time in the owner's DM, each reply answering the open one ("skip" skips it, "done" ends
/// early), into the same answers the prep page keeps, so the owner may switch between the two.
/// With a language model, an answer too vague to use gets one follow-up question, whose reply
/// completes it.
/// The last answer resumes the workflow. **Not this time** lets the materials be made from the
/// context alone. Only the meeting's owner may do either; a second click, a click after the wait
/// ended or a reply with nothing to answer gets a reply saying so, never a second step.
///
/// The conversation's state is committed first and Slack is told after: a reply Slack fails to
/// take is logged, and the owner can go on (or on the prep page).
struct SlackConversation: Sendable {
    let client: SlackClient?
    let pool: PostgresPool
    let wakeup: WakeSignal
    var followUps: AnswerFollowUp? = nil
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    func register(in routes: inout EventRoutes) {
        routes.on(SlackActionReceived.self, clicked)
        routes.on(SlackMessageReceived.self, replied)
    }

    /// What came of a click or a reply, to tell the owner.
    enum Turn: Equatable {
        case ask(position: Int, of: Int, question: String)
        case followUp(String)
        case finished
        case declined
        case refused(PrepPage.Refusal)
        case notTheOwner
        case nothingToAnswer
    }

    func clicked(_ envelope: Envelope<SlackActionReceived>, _ context: HandlerContext) async throws {
        let action = envelope.payload
        guard [SlackChannel.Action.startPrep, SlackChannel.Action.notThisTime].contains(action.actionID) else {
            return  // a link button: Slack reports those clicks too
        }
        let client = try configured()
        guard let workflowID = action.value.flatMap(UUID.init(uuidString:)) else {
            throw PermanentFailure("a \(action.actionID) click without a workflow id")
        }
        let workflow = try await pool.withConnection { db in try WorkflowRecord.load(workflowID, on: db) }
        guard let workflow else { return try await tell(action.user, channel: action.channel, .refused(.unknown)) }
        // The button went to the owner's DM, but a message can be forwarded: the click must be theirs.
        guard try await client.lookupUser(email: workflow.owner) == action.user else {
            return try await tell(action.user, channel: action.channel, .notTheOwner)
        }
        let (outbox, now) = (context.outbox, clock())
        let starting = action.actionID == SlackChannel.Action.startPrep
        let turn = try await context.once { db -> Turn in
            if let refusal = try PrepPage.check(workflow.id, now: now, on: db) { return .refused(refusal) }
            guard starting else {
                try db.execute("UPDATE prep.owner_tokens SET expires_at = now() WHERE workflow_id = $1", [workflow.id])
                try db.execute("DELETE FROM prep.slack_chats WHERE workflow_id = $1", [workflow.id])
                try PrepPage.resume(
                    workflow, outcome: "done: the owner chose not to prepare this time", now: now, outbox: outbox, on: db)
                return .declined
            }
            try db.execute(
                """
                INSERT INTO prep.slack_chats (slack_user, workflow_id, channel) VALUES ($1, $2, $3)
                ON CONFLICT (slack_user) DO UPDATE SET workflow_id = EXCLUDED.workflow_id, channel = EXCLUDED.channel,
                    started_at = now()
                """, [action.user, workflow.id, action.channel ?? ""])
            return try Self.next(workflow, now: now, outbox: outbox, on: db)
        }
        guard let turn else { return }
        if let channel = action.channel, let ts = action.messageTS, turn != .refused(.used) {
            let note =
                starting
                ? "Prep started: the questions follow here." : "Not this time: the materials will be made from the context alone."
            await attempt("update the prep message") {
                try await client.updateMessage(channel: channel, ts: ts, text: note, blocks: [.section(mrkdwn: note)])
            }
        }
        try await tell(action.user, channel: action.channel, turn)
    }

    func replied(_ envelope: Envelope<SlackMessageReceived>, _ context: HandlerContext) async throws {
        let message = envelope.payload
        _ = try configured()
        let reply = message.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let command = reply.lowercased()
        // The model is asked before the transaction; the answer applies only if the same question is still open.
        let followUp = ["skip", "done"].contains(command) ? nil : try await followUp(for: reply, from: message.user)
        let (outbox, now) = (context.outbox, clock())
        let turn = try await context.once { db -> Turn in
            guard
                let chat = try db.queryOne(
                    "SELECT workflow_id, follow_up_position FROM prep.slack_chats WHERE slack_user = $1 FOR UPDATE",
                    [message.user]),
                let workflow = try WorkflowRecord.load(try chat.uuid("workflow_id"), on: db)
            else { return .nothingToAnswer }
            if let refusal = try PrepPage.check(workflow.id, now: now, on: db) {
                try db.execute("DELETE FROM prep.slack_chats WHERE slack_user = $1", [message.user])
                return .refused(refusal)
            }
            if command == "done" {
                try Self.end(workflow, now: now, outbox: outbox, on: db)
                return .finished
            }
            if let followedUp = try chat.optionalString("follow_up_position").flatMap(Int.init) {
                // This reply completes the answer the follow-up was about ("skip" keeps it as it was).
                try db.execute("UPDATE prep.slack_chats SET follow_up_position = NULL WHERE slack_user = $1", [message.user])
                if command != "skip" {
                    try db.execute(
                        """
                        UPDATE prep.answers SET answer = concat_ws(' ', answer, $3::text), skipped = false, answered_at = now()
                        WHERE workflow_id = $1 AND position = $2
                        """, [workflow.id, followedUp, reply])
                }
                return try Self.next(workflow, now: now, outbox: outbox, on: db)
            }
            guard let position = try Self.open(workflow, on: db) else { return .nothingToAnswer }
            try PrepPage.save(
                command == "skip" ? nil : reply, to: workflow.prepQuestions[position], at: position, of: workflow.id, on: db)
            if let followUp, followUp.workflow == workflow.id, followUp.position == position {
                try db.execute(
                    "UPDATE prep.slack_chats SET follow_up_position = $2 WHERE slack_user = $1", [message.user, position])
                return .followUp(followUp.question)
            }
            return try Self.next(workflow, now: now, outbox: outbox, on: db)
        }
        guard let turn else { return }
        try await tell(message.user, channel: message.channel, turn)
    }

    /// A follow-up for `reply` as the answer to the question open now, if that question has not
    /// had one and the model finds the answer too vague.
    private func followUp(for reply: String, from user: String) async throws -> (workflow: UUID, position: Int, question: String)?
    {
        guard let followUps else { return nil }
        let open = try await pool.withConnection { db -> (WorkflowRecord, Int)? in
            guard
                let chat = try db.queryOne(
                    "SELECT workflow_id, follow_up_position FROM prep.slack_chats WHERE slack_user = $1", [user]),
                try chat.optionalString("follow_up_position") == nil,
                let workflow = try WorkflowRecord.load(try chat.uuid("workflow_id"), on: db),
                let position = try Self.open(workflow, on: db)
            else { return nil }
            return (workflow, position)
        }
        guard let (workflow, position) = open,
            let question = await followUps.question(
                for: reply, to: workflow.prepQuestions[position], meeting: workflow.meeting.title)
        else { return nil }
        return (workflow.id, position, question)
    }

    /// The question the owner has not answered yet, or, with none left, the end.
    private static func next(_ workflow: WorkflowRecord, now: Date, outbox: Outbox, on db: PostgresConnection) throws -> Turn {
        guard let position = try open(workflow, on: db) else {
            try end(workflow, now: now, outbox: outbox, on: db)
            return .finished
        }
        return .ask(position: position, of: workflow.prepQuestions.count, question: workflow.prepQuestions[position])
    }

    /// The first question without an answer (from either channel).
    private static func open(_ workflow: WorkflowRecord, on db: PostgresConnection) throws -> Int? {
        let answered = Set(
            try db.query("SELECT position FROM prep.answers WHERE workflow_id = $1", [workflow.id]).map { try $0.int("position") }
        )
        return workflow.prepQuestions.indices.first { !answered.contains($0) }
    }

    private static func end(_ workflow: WorkflowRecord, now: Date, outbox: Outbox, on db: PostgresConnection) throws {
        try db.execute("DELETE FROM prep.slack_chats WHERE workflow_id = $1", [workflow.id])
        try PrepPage.finish(workflow, now: now, outbox: outbox, on: db)
    }

    private func tell(_ user: String, channel: String?, _ turn: Turn) async throws {
        if turn == .finished || turn == .declined {
            if turn == .finished { PrepMetrics.ownerFinished(true) }
            wakeup.wake()
        }
        let client = try configured()
        let text = Self.text(turn)
        await attempt("reply to the owner") {
            let dm = if let channel { channel } else { try await client.openDirectMessage(user: user) }
            _ = try await client.postMessage(channel: dm, text: text, blocks: [.section(mrkdwn: SlackChannel.escaped(text))])
        }
    }

    static func text(_ turn: Turn) -> String {
        switch turn {
        case .ask(let position, let count, let question):
            "Question \(position + 1) of \(count): \(question)\nReply here; “skip” skips it, “done” finishes."
        case .followUp(let question): "\(question)\n(Reply here, or “skip” to keep your answer as it is.)"
        case .finished: "Great! Generating your materials…"
        case .declined: "Understood: your materials will be made from the meeting's context alone."
        case .refused(let refusal): refusal.explanation
        case .notTheOwner: "This preparation belongs to the meeting's organiser; only they can answer it."
        case .nothingToAnswer: "There is no preparation waiting for your answers right now."
        }
    }

    private func configured() throws -> SlackClient {
        guard let client else {
            throw PermanentFailure("a Slack event arrived, but prep-orchestrator has no ATTACHE_SLACK_BOT_TOKEN to answer with")
        }
        return client
    }

    private func attempt(_ what: String, _ body: () async throws -> Void) async {
        do { try await body() } catch {
            logger.error("Slack: could not \(what)", metadata: ["error": "\(error)"])
        }
    }
}
