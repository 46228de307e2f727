import Delivery
import Foundation
import Hummingbird
import Logging
import Shared
import Store

/// The owner's prep page, `/prep/{token}`: the meeting, the context gathered and the meeting
/// type's questions. Answers are saved as they come (all at once or one by one, any may be
/// skipped); finishing spends the token and resumes the workflow. Plain HTML forms, no script.
struct PrepPage: Sendable {
    let pool: PostgresPool
    let outbox: Outbox
    let wakeup: WakeSignal
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    /// Why a token does not open the page, as the owner is told.
    enum Refusal: Error, Equatable {
        case unknown, revoked, used, expired, waitOver

        var status: HTTPResponse.Status {
            self == .unknown ? .notFound : .gone
        }

        var explanation: String {
            switch self {
            case .unknown: "This preparation link is not valid. Use the link in your most recent message."
            case .revoked: "This meeting was cancelled, so there is nothing to prepare any more."
            case .used: "You have already finished preparing this meeting: your materials are on their way."
            case .expired, .waitOver:
                "The time to answer has passed: your materials were prepared from the meeting's context alone."
            }
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/prep/{token}") { _, context -> Response in
            let token = try context.parameters.require("token")
            do {
                let page = try await load(token)
                return Self.html(.ok, PrepPageHTML.form(page, saved: false))
            } catch let refusal as Refusal {
                return Self.html(refusal.status, PrepPageHTML.refusal(refusal))
            }
        }
        router.post("/prep/{token}") { request, context -> Response in
            let token = try context.parameters.require("token")
            let body = try await request.body.collect(upTo: 64 * 1024)
            let form = FormBody.parse(String(buffer: body))
            do {
                let finished = try await submit(token, form: form)
                if finished {
                    wakeup.wake()
                    return Self.html(.ok, PrepPageHTML.finished())
                }
                return Self.html(.ok, PrepPageHTML.form(try await load(token), saved: true))
            } catch let refusal as Refusal {
                return Self.html(refusal.status, PrepPageHTML.refusal(refusal))
            }
        }
    }

    /// What the page shows.
    struct Page: Sendable {
        var workflow: WorkflowRecord
        var context: [ContextResult]
        var answers: [OwnerAnswer]
        var expiresAt: Date
    }

    func load(_ token: String) async throws -> Page {
        let now = clock()
        return try await pool.withConnection { db in
            let (workflow, expiresAt) = try Self.open(token, now: now, lock: false, on: db)
            return Page(
                workflow: workflow, context: try PrepSteps.context(of: workflow, on: db),
                answers: try PrepSteps.answers(workflow.id, on: db), expiresAt: expiresAt)
        }
    }

    /// Saves the answers in `form`; with `finish`, spends the token and resumes the workflow.
    /// Returns whether the owner finished.
    func submit(_ token: String, form: [String: String]) async throws -> Bool {
        let now = clock()
        let finish = form["action"] == "finish"
        let outbox = outbox
        let finished = try await outbox.transaction(pool) { db in
            let (workflow, _) = try Self.open(token, now: now, lock: true, on: db)
            for (position, question) in workflow.prepQuestions.enumerated() {
                let answer = form["answer_\(position)"]?.trimmingCharacters(in: .whitespacesAndNewlines)
                let skipped = form["skip_\(position)"] != nil
                guard skipped || !(answer ?? "").isEmpty else { continue }
                try Self.save(skipped ? nil : answer, to: question, at: position, of: workflow.id, on: db)
            }
            guard finish else { return false }
            try Self.finish(workflow, now: now, outbox: outbox, on: db)
            return true
        }
        if finished { PrepMetrics.ownerFinished(true) }
        return finished
    }

    /// Saves one answer (nil: skipped), replacing an earlier one: the page and a Slack
    /// conversation write the same answers.
    static func save(_ answer: String?, to question: String, at position: Int, of workflow: UUID, on db: PostgresConnection)
        throws
    {
        try db.execute(
            """
            INSERT INTO prep.answers (workflow_id, position, question, answer, skipped) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (workflow_id, position) DO UPDATE SET answer = EXCLUDED.answer, skipped = EXCLUDED.skipped,
                question = EXCLUDED.question, answered_at = now()
            """, [workflow, position, question, answer, answer == nil])
    }

    /// The owner finished: the token is spent and the workflow goes on to the materials.
    static func finish(_ workflow: WorkflowRecord, now: Date, outbox: Outbox, on db: PostgresConnection) throws {
        try db.execute("UPDATE prep.owner_tokens SET used_at = now() WHERE workflow_id = $1", [workflow.id])
        try resume(workflow, outcome: "done: the owner answered", now: now, outbox: outbox, on: db)
    }

    /// Ends the wait for the owner with `outcome` and schedules the materials.
    static func resume(_ workflow: WorkflowRecord, outcome: String, now: Date, outbox: Outbox, on db: PostgresConnection) throws {
        let resumed = try db.execute(
            """
            UPDATE prep.steps SET state = 'done', outcome = $2, output = '{"answered": "true"}', finished_at = now(),
                lease_until = NULL
            WHERE workflow_id = $1 AND step = 'wait_for_owner' AND state = 'waiting'
            """, [workflow.id, outcome])
        // The wait ended on its own (timed out) a moment ago: the materials are already being made.
        guard resumed == 1 else { throw Refusal.waitOver }
        var effects = StepEffects(workflow: workflow, outbox: outbox)
        effects.setState("generating")
        effects.schedule(.generateMaterials, at: now)
        try effects.apply(on: db)
    }

    /// Whether the owner may still answer for `workflow`, or why not (for a channel that reaches
    /// the workflow without the token, such as Slack).
    static func check(_ workflow: UUID, now: Date, on db: PostgresConnection) throws -> Refusal? {
        guard
            let row = try db.queryOne(
                "SELECT expires_at, used_at, revoked_at FROM prep.owner_tokens WHERE workflow_id = $1 FOR UPDATE", [workflow])
        else { return .unknown }
        if try row.optionalDate("revoked_at") != nil { return .revoked }
        if try row.optionalDate("used_at") != nil { return .used }
        return try row.date("expires_at") > now ? nil : .expired
    }

    /// The workflow a token opens, or why it opens none.
    static func open(_ token: String, now: Date, lock: Bool, on db: PostgresConnection) throws -> (WorkflowRecord, Date) {
        guard
            let row = try db.queryOne(
                """
                SELECT t.expires_at, t.used_at, t.revoked_at, \(WorkflowRecord.columns)
                FROM prep.owner_tokens t JOIN prep.workflows w ON w.id = t.workflow_id
                WHERE t.token_hash = $1 \(lock ? "FOR UPDATE OF t" : "")
                """, [OwnerToken.hash(token)])
        else { throw Refusal.unknown }
        if try row.optionalDate("revoked_at") != nil { throw Refusal.revoked }
        if try row.optionalDate("used_at") != nil { throw Refusal.used }
        let expiresAt = try row.date("expires_at")
        guard expiresAt > now else { throw Refusal.expired }
        return (try WorkflowRecord(row), expiresAt)
    }

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .init("Referrer-Policy")!: "no-referrer",
                .init("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}

/// `application/x-www-form-urlencoded`, as browsers post forms.
enum FormBody {
    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
