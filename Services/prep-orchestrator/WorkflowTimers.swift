import Delivery
import Foundation
import Logging
import Metrics
import Resilience
import ServiceLifecycle
import Shared
import Store

enum PrepStep: String, Sendable {
    case sendPrepNotification = "send_prep_notification"
    case requestBotJoin = "request_bot_join"
}

/// Fires due workflow steps. Each step runs in the transaction that claims its timer: its
/// effects and its events are recorded, and the timer marked fired, together or not at all.
/// A step that fails is retried with increasing delay.
struct WorkflowTimers: Service {
    let pool: PostgresPool
    let outbox: Outbox
    /// Woken by handlers when a timer may now be due sooner than the next poll.
    let wakeup: WakeSignal
    let botName: String
    let pollInterval: Duration
    let logger: Logger

    func run() async throws {
        await wakeup.run(every: pollInterval) {
            do {
                while try await fireDueTimers() > 0 {}
            } catch {
                logger.error("firing workflow timers failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Fires up to ten due timers; returns how many were claimed.
    func fireDueTimers() async throws -> Int {
        let (outbox, botName, logger) = (outbox, botName, logger)
        let fired = try await outbox.transaction(pool) { db -> [(step: String, outcome: String)] in
            let due = try db.query(
                """
                SELECT t.id, t.step, t.attempts, w.id AS workflow_id, w.tenant_id, w.correlation_id, w.traceparent,
                       w.meeting, w.meeting_type, w.prep_questions
                FROM prep.timers t JOIN prep.workflows w ON w.id = t.workflow_id
                WHERE t.fired_at IS NULL AND t.due_at <= now()
                ORDER BY t.due_at LIMIT 10
                FOR UPDATE OF t SKIP LOCKED
                """)
            var fired: [(step: String, outcome: String)] = []
            for timer in due {
                let id = try timer.int("id")
                let attempts = try timer.int("attempts") + 1
                var outcome: String
                do {
                    try db.execute("SAVEPOINT step")
                    outcome = try Self.perform(timer, botName: botName, outbox: outbox, on: db)
                    try db.execute("RELEASE SAVEPOINT step")
                } catch {
                    // Only this step is undone; it is tried again later, further apart each time,
                    // until it has had its chances.
                    try db.execute("ROLLBACK TO SAVEPOINT step")
                    logger.error(
                        "workflow step failed", metadata: ["timer": "\(id)", "attempt": "\(attempts)", "error": "\(error)"])
                    if error is PermanentFailure || attempts >= Self.maxAttempts {
                        outcome = "failed after \(attempts) attempt(s): \(error)"
                    } else {
                        let delay = Backoff(initial: .seconds(5), maximum: .seconds(600)).ceiling(forAttempt: attempts)
                        try db.execute(
                            """
                            UPDATE prep.timers SET attempts = $2, last_error = $3,
                                due_at = now() + make_interval(secs => $4) WHERE id = $1
                            """, [id, attempts, "\(error)", delay.secondsValue])
                        continue
                    }
                }
                try db.execute(
                    "UPDATE prep.timers SET fired_at = now(), attempts = $2, outcome = $3 WHERE id = $1", [id, attempts, outcome])
                fired.append((try timer.string("step"), outcome))
            }
            return fired
        }
        for (step, outcome) in fired {
            logger.info("workflow step fired", metadata: ["step": "\(step)", "outcome": "\(outcome)"])
            Counter(
                label: "attache_workflow_steps_total",
                dimensions: [("step", step), ("outcome", String(outcome.prefix { $0 != " " && $0 != ":" }))]
            ).increment()
        }
        return fired.count
    }

    /// A step failing this many times in a row is given up, and says so in its outcome.
    static let maxAttempts = 8

    /// Runs one step and returns its outcome ("done", or why it was skipped).
    static func perform(_ timer: Row, botName: String, outbox: Outbox, on db: PostgresConnection) throws -> String {
        let workflowID = try timer.uuid("workflow_id")
        let meeting = try timer.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.decoder())
        let trace = TraceContext(parsing: try timer.string("traceparent"))?.child() ?? .newRoot()
        func envelope<P: EventPayload>(_ payload: P) throws -> Envelope<P> {
            Envelope(
                tenantID: try timer.string("tenant_id"), correlationID: try timer.uuid("correlation_id"),
                traceparent: trace.traceparent, payload: payload)
        }
        let now = Date()
        switch PrepStep(rawValue: try timer.string("step")) {
        case .sendPrepNotification:
            // After an outage, or on the first sync, yesterday's meetings come due at once.
            guard meeting.start > now else { return "skipped: the meeting has already started" }
            let questions = try timer.decode([String].self, column: "prep_questions")
            let recipient = meeting.organizer?.email ?? "meeting owner"
            let text = PrepNotification.text(
                for: meeting, type: try timer.string("meeting_type"), questions: questions)
            try db.execute(
                "INSERT INTO prep.notifications (id, workflow_id, kind, channel, recipient, text) VALUES ($1, $2, 'prep', 'local', $3, $4)",
                [UUID(), workflowID, recipient, text])
            try db.execute("UPDATE prep.workflows SET state = 'prep_notified', updated_at = now() WHERE id = $1", [workflowID])
            try outbox.append(
                try envelope(
                    PrepNotificationSent(
                        workflowID: workflowID, meetingID: meeting.meetingID, channel: "local", recipient: recipient,
                        text: text)), on: db)
            return "done"
        case .requestBotJoin:
            guard meeting.end > now else { return "skipped: the meeting has already ended" }
            try db.execute("UPDATE prep.workflows SET state = 'bot_requested', updated_at = now() WHERE id = $1", [workflowID])
            try outbox.append(
                try envelope(
                    BotJoinRequested(
                        meetingID: meeting.meetingID, workflowID: workflowID, meetingURL: meeting.conferenceURL,
                        botName: botName, meetingTitle: meeting.title, meetingStart: meeting.start,
                        meetingEnd: meeting.end)), on: db)
            return "done"
        case nil:
            throw PermanentFailure("unknown workflow step \(try timer.string("step"))")
        }
    }
}

enum PrepNotification {
    /// The message the owner receives; in Slack it would carry a "Start prep" button.
    static func text(for meeting: MeetingSnapshot, type: String, questions: [String]) -> String {
        let when = meeting.start.formatted(.iso8601)
        var text = "Time to prepare “\(meeting.title)” (\(type.replacingOccurrences(of: "_", with: " "))), starting \(when)."
        if !questions.isEmpty {
            text += " A few questions to think about: " + questions.map { "• \($0)" }.joined(separator: " ")
        }
        return text
    }
}
