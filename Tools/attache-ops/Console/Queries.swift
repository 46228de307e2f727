import Foundation
import Shared
import Store

/// What the operator commands and the console read from the services' schemas. Every query runs
/// in a read-only transaction: the console may look at every service's tables and change none.
public struct OpsQueries: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// One snapshot for the whole of `body`, refused by the server if anything tries to write.
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection { db in
            try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { _ = try? db.execute("ROLLBACK") }
            return try body(db)
        }
    }

    // MARK: Meetings

    public struct MeetingFilter: Sendable {
        public var title: String?
        public var owner: String?
        /// Meetings starting at or after `from` and before `to`.
        public var from: Date?
        public var to: Date?
        public init(title: String? = nil, owner: String? = nil, from: Date? = nil, to: Date? = nil) {
            self.title = title
            self.owner = owner
            self.from = from
            self.to = to
        }
    }

    /// Where the next page starts: the last row shown (pages go back in time).
    public struct MeetingCursor: Sendable, Equatable {
        public var startAt: Date
        public var id: UUID

        public init(startAt: Date, id: UUID) {
            self.startAt = startAt
            self.id = id
        }

        /// `<unix milliseconds>_<uuid>`, as it travels in a link.
        public init?(_ text: String) {
            let parts = text.split(separator: "_")
            guard parts.count == 2, let millis = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
                return nil
            }
            self.init(startAt: Date(timeIntervalSince1970: Double(millis) / 1000), id: id)
        }

        public var text: String {
            "\(Int64((startAt.timeIntervalSince1970 * 1000).rounded(.down)))_\(id.uuidString.lowercased())"
        }
    }

    public struct MeetingSummary: Sendable {
        public var id: UUID
        public var title: String
        public var owner: String?
        public var startAt: Date
        public var source: String
        public var cancelled: Bool
        public var meetingType: String?
    }

    /// A page of meetings, latest start first, and the cursor of the next page if there is one.
    /// Walks the `(start_at, id)` index (calendar-monitor's 0111_meetings_by_start).
    public func meetings(_ filter: MeetingFilter, after cursor: MeetingCursor?, limit: Int) async throws
        -> (meetings: [MeetingSummary], next: MeetingCursor?)
    {
        let rows = try await read { db in
            try db.query(
                """
                SELECT m.id, m.title, m.organizer->>'email' AS owner, m.start_at, m.source, m.cancelled, c.meeting_type
                FROM calendar.meetings m LEFT JOIN classifier.classifications c ON c.meeting_id = m.id
                WHERE ($1::text IS NULL OR m.title ILIKE '%' || $1 || '%')
                    AND ($2::text IS NULL OR m.organizer->>'email' ILIKE '%' || $2 || '%')
                    AND ($3::timestamptz IS NULL OR m.start_at >= $3)
                    AND ($4::timestamptz IS NULL OR m.start_at < $4)
                    AND ($5::timestamptz IS NULL OR (m.start_at, m.id) < ($5, $6::uuid))
                ORDER BY m.start_at DESC, m.id DESC LIMIT $7
                """,
                [
                    filter.title.map(likePattern), filter.owner.map(likePattern), filter.from, filter.to,
                    cursor?.startAt, cursor?.id, limit + 1,
                ])
        }
        var meetings = try rows.map { row in
            MeetingSummary(
                id: try row.uuid("id"), title: try row.string("title"), owner: try row.optionalString("owner"),
                startAt: try row.date("start_at"), source: try row.string("source"), cancelled: try row.bool("cancelled"),
                meetingType: try row.optionalString("meeting_type"))
        }
        var next: MeetingCursor?
        if meetings.count > limit {
            meetings.removeLast()
            next = meetings.last.map { MeetingCursor(startAt: $0.startAt, id: $0.id) }
        }
        return (meetings, next)
    }

    // MARK: A meeting's story

    public struct StoryEvent: Sendable {
        public var at: Date
        public var service: String
        public var what: String
        public var detail: String?
    }

    public struct Story: Sendable {
        public var meeting: MeetingSummary
        public var events: [StoryEvent]
    }

    /// Everything the six services recorded about a meeting, on one timeline ordered by time
    /// (events at the same instant keep the order in which the services act: sync first).
    public func story(of meetingID: UUID) async throws -> Story? {
        try await read { db in
            guard
                let meeting = try db.queryOne(
                    """
                    SELECT m.*, m.organizer->>'email' AS owner, c.meeting_type FROM calendar.meetings m
                    LEFT JOIN classifier.classifications c ON c.meeting_id = m.id WHERE m.id = $1
                    """, [meetingID])
            else { return nil }
            let summary = MeetingSummary(
                id: meetingID, title: try meeting.string("title"), owner: try meeting.optionalString("owner"),
                startAt: try meeting.date("start_at"), source: try meeting.string("source"),
                cancelled: try meeting.bool("cancelled"), meetingType: try meeting.optionalString("meeting_type"))
            var events: [StoryEvent] = []
            func add(_ at: Date?, _ service: String, _ what: String, _ detail: String? = nil) {
                if let at { events.append(StoryEvent(at: at, service: service, what: what, detail: detail)) }
            }

            // calendar-monitor: when the sync first saw it, and its last change.
            add(
                try meeting.date("first_seen_at"), "calendar-monitor", "synced from \(summary.source)",
                "starts \(summary.startAt.consoleText)")
            if try meeting.int("revision") > 1 {
                add(
                    try meeting.date("updated_at"), "calendar-monitor",
                    "changed (revision \(try meeting.int("revision")))\(summary.cancelled ? ": cancelled" : "")")
            }

            // classifier: the type and the rule that decided it.
            if let row = try db.queryOne(
                """
                SELECT meeting_type, rule, matched_keywords::text AS keywords, classified_at, updated_at,
                    prep_trigger_at, bot_join_at
                FROM classifier.classifications WHERE meeting_id = $1
                """, [meetingID])
            {
                add(
                    try row.date("classified_at"), "classifier",
                    "classified \(try row.string("meeting_type")) by rule \(try row.string("rule"))",
                    "keywords \(try row.string("keywords")); prep at \(try row.date("prep_trigger_at").consoleText)"
                        + (try row.optionalDate("bot_join_at").map { "; bot joins \($0.consoleText)" } ?? ""))
            }

            // prep-orchestrator: the workflow, each step with its timing and outcome, messages.
            if let workflow = try db.queryOne(
                "SELECT id, state, created_at, finished_at, definition_version FROM prep.workflows WHERE meeting_id = $1",
                [meetingID])
            {
                let workflowID = try workflow.uuid("id")
                add(
                    try workflow.date("created_at"), "prep-orchestrator",
                    "workflow started (definition v\(try workflow.int("definition_version")))",
                    "now \(try workflow.string("state"))")
                add(
                    try workflow.optionalDate("finished_at"), "prep-orchestrator",
                    "workflow finished: \(try workflow.string("state"))")
                for step in try db.query(
                    """
                    SELECT step, state, outcome, attempts, due_at, started_at, finished_at, last_error,
                        round(extract(epoch FROM finished_at - started_at) * 1000)::bigint AS took_ms
                    FROM prep.steps WHERE workflow_id = $1 ORDER BY coalesce(started_at, due_at), id
                    """, [workflowID])
                {
                    let took = try step.optionalString("took_ms").map { ", took \($0) ms" } ?? ""
                    let outcome = try step.optionalString("outcome") ?? step.string("state")
                    var detail = "attempts \(try step.int("attempts"))\(took); due \(try step.date("due_at").consoleText)"
                    if let error = try step.optionalString("last_error") { detail += "; last error: \(error)" }
                    add(
                        try step.optionalDate("finished_at") ?? step.optionalDate("started_at") ?? step.date("due_at"),
                        "prep-orchestrator", "step \(try step.string("step")): \(outcome)", detail)
                }
                for note in try db.query(
                    "SELECT kind, channel, recipient, created_at FROM prep.notifications WHERE workflow_id = $1",
                    [workflowID])
                {
                    add(
                        try note.date("created_at"), "prep-orchestrator",
                        "notification \(try note.string("kind")) via \(try note.string("channel"))",
                        "to \(try note.string("recipient"))")
                }
            }

            // bot-gateway: the bot and every status it reported.
            for bot in try db.query(
                "SELECT bot_id, provider, status, created_at FROM gateway.bots WHERE meeting_id = $1 ORDER BY created_at",
                [meetingID])
            {
                let botID = try bot.string("bot_id")
                add(try bot.date("created_at"), "bot-gateway", "bot \(botID) requested from \(try bot.string("provider"))")
                for change in try db.query(
                    "SELECT status, sub_code, changed_at FROM gateway.bot_status_history WHERE bot_id = $1 ORDER BY changed_at, id",
                    [botID])
                {
                    add(
                        try change.date("changed_at"), "bot-gateway", "bot status \(try change.string("status"))",
                        try change.optionalString("sub_code"))
                }
                for problem in try db.query(
                    "SELECT problem, explanation, detected_at FROM gateway.bot_problems WHERE bot_id = $1", [botID])
                {
                    add(
                        try problem.date("detected_at"), "bot-gateway", "bot problem \(try problem.string("problem"))",
                        try problem.string("explanation"))
                }
            }

            // realtime-worker: the call and its turns, with each stage's latency.
            let sessions = try db.query(
                "SELECT id, started_at, ended_at FROM realtime.sessions WHERE meeting_id = $1 ORDER BY started_at",
                [meetingID])
            for session in sessions {
                let sessionID = try session.uuid("id")
                add(
                    try session.date("started_at"), "realtime-worker", "call started",
                    "session \(sessionID.uuidString.lowercased())")
                for turn in try db.query(
                    "SELECT speaker, text, spoken_at, interrupted, latency::text AS latency FROM realtime.turns WHERE session_id = $1 ORDER BY spoken_at, id",
                    [sessionID])
                {
                    let latency = try turn.optionalString("latency").flatMap {
                        try? JSONDecoder().decode(TurnLatency.self, from: Data($0.utf8))
                    }
                    let cut = try turn.bool("interrupted") ? " (cut off)" : ""
                    add(
                        try turn.date("spoken_at"), "realtime-worker",
                        "\(try turn.string("speaker")): \(try turn.string("text"))\(cut)",
                        latency.map(Self.describe))
                }
                add(try session.optionalDate("ended_at"), "realtime-worker", "call ended")

                // monitoring-worker: the verdict and the diagnosis of that call.
                if let result = try db.queryOne(
                    """
                    SELECT received_at, status, summary, analysed_at, diagnosed_at, diagnosis->>'summary' AS diagnosis
                    FROM monitoring.results WHERE session_id = $1
                    """, [sessionID])
                {
                    add(try result.date("received_at"), "monitoring-worker", "call received for review")
                    add(
                        try result.optionalDate("analysed_at"), "monitoring-worker", "verdict \(try result.string("status"))",
                        try result.optionalString("summary"))
                    add(
                        try result.optionalDate("diagnosed_at"), "monitoring-worker", "diagnosis",
                        try result.optionalString("diagnosis"))
                }
            }
            let order = Self.services
            let sorted = events.enumerated().sorted { a, b in
                if a.element.at != b.element.at { return a.element.at < b.element.at }
                let (x, y) = (order.firstIndex(of: a.element.service) ?? 9, order.firstIndex(of: b.element.service) ?? 9)
                return x != y ? x < y : a.offset < b.offset
            }
            return Story(meeting: summary, events: sorted.map(\.element))
        }
    }

    public static let services = [
        "calendar-monitor", "classifier", "prep-orchestrator", "bot-gateway", "realtime-worker", "monitoring-worker",
    ]

    /// Each stage of one reply, in milliseconds from the end of the participant's speech.
    static func describe(_ latency: TurnLatency) -> String {
        let stages: [(String, Double?)] = [
            ("stt", latency.sttFinal), ("llm start", latency.llmStart), ("first token", latency.llmFirstToken),
            ("first sentence", latency.firstSentence), ("tts", latency.ttsFirstAudio), ("voice to voice", latency.firstAudioOut),
        ]
        return stages.compactMap { name, value in value.map { "\(name) \(Int($0.rounded())) ms" } }.joined(separator: " · ")
    }

    // MARK: Workflows

    public struct WorkflowSummary: Sendable {
        public var id: UUID
        public var meetingID: UUID
        public var title: String
        public var meetingType: String
        public var state: String
        public var start: String
        public var definitionVersion: Int
        public var finishedSteps: Int
        public var steps: Int
    }

    /// Workflows in `state` (all if nil), the last changed first. Steps are counted for the page's
    /// rows only: counted beside the OFFSET, every skipped row would be counted too.
    public func workflows(state: String?, limit: Int, offset: Int = 0) async throws -> [WorkflowSummary] {
        try await read { db in
            try db.query(
                """
                SELECT w.id, w.meeting_id, w.meeting->>'title' AS title, w.meeting_type, w.state, w.meeting->>'start' AS start,
                    w.definition_version, s.finished, s.steps
                FROM (
                    SELECT id, meeting_id, meeting, meeting_type, state, definition_version, updated_at FROM prep.workflows
                    WHERE $1::text IS NULL OR state = $1 ORDER BY updated_at DESC, id LIMIT $2 OFFSET $3
                ) w
                CROSS JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE state IN ('done', 'skipped')) AS finished, count(*) AS steps
                    FROM prep.steps WHERE workflow_id = w.id
                ) s
                ORDER BY w.updated_at DESC, w.id
                """, [state, limit, offset]
            ).map { row in
                WorkflowSummary(
                    id: try row.uuid("id"), meetingID: try row.uuid("meeting_id"), title: try row.string("title"),
                    meetingType: try row.string("meeting_type"), state: try row.string("state"), start: try row.string("start"),
                    definitionVersion: try row.int("definition_version"), finishedSteps: try row.int("finished"),
                    steps: try row.int("steps"))
            }
        }
    }

    /// How many workflows are in each state.
    public func workflowStates() async throws -> [(state: String, count: Int)] {
        try await read { db in
            try db.query("SELECT state, count(*) AS n FROM prep.workflows GROUP BY state ORDER BY state").map {
                (try $0.string("state"), try $0.int("n"))
            }
        }
    }

    // MARK: Calls

    public struct CallSummary: Sendable {
        public var sessionID: UUID
        public var meetingID: UUID
        public var receivedAt: Date
        public var status: String
        public var intents: [String]
        public var confidence: Double?
        public var summary: String?
        public var diagnosed: Bool
    }

    /// Calls with their verdicts, the latest first; only those with `status` if given.
    public func calls(status: String?, limit: Int, offset: Int = 0) async throws -> [CallSummary] {
        try await read { db in
            try db.query(
                """
                SELECT session_id, meeting_id, status, array_to_string(intent_types, ',') AS intents, confidence, summary,
                    received_at, diagnostic_status
                FROM monitoring.results WHERE $1::text IS NULL OR status = $1
                ORDER BY received_at DESC, session_id LIMIT $2 OFFSET $3
                """, [status, limit, offset]
            ).map { row in
                CallSummary(
                    sessionID: try row.uuid("session_id"), meetingID: try row.uuid("meeting_id"),
                    receivedAt: try row.date("received_at"), status: try row.string("status"),
                    intents: try row.string("intents").split(separator: ",").map(String.init),
                    confidence: try row.optionalString("confidence").flatMap(Double.init),
                    summary: try row.optionalString("summary"), diagnosed: try row.string("diagnostic_status") == "done")
            }
        }
    }

    // MARK: Calendar connections

    public struct ConnectionSummary: Sendable {
        public var id: UUID
        public var owner: String
        public var kind: String
        public var name: String
        public var status: String
        public var lastSuccessAt: Date?
        public var nextSyncAt: Date
        public var hasCursor: Bool
        public var lastError: String?
        public var consecutiveFailures: Int
    }

    /// One connection's tenant and status: what "sync now" needs to address its request.
    public func connection(_ id: UUID) async throws -> (tenantID: String, status: String, summary: String)? {
        try await read { db in
            try db.queryOne("SELECT tenant_id, status, owner, name FROM calendar.connections WHERE id = $1", [id]).map {
                (try $0.string("tenant_id"), try $0.string("status"), "\(try $0.string("name")) (\(try $0.string("owner")))")
            }
        }
    }

    public func connections(limit: Int, offset: Int = 0) async throws -> [ConnectionSummary] {
        try await read { db in
            try db.query(
                """
                SELECT id, owner, kind, name, status, last_success_at, next_sync_at, cursor IS NOT NULL AS has_cursor,
                    last_error, consecutive_failures
                FROM calendar.connections ORDER BY owner, kind, name LIMIT $1 OFFSET $2
                """, [limit, offset]
            ).map { row in
                ConnectionSummary(
                    id: try row.uuid("id"), owner: try row.string("owner"), kind: try row.string("kind"),
                    name: try row.string("name"), status: try row.string("status"),
                    lastSuccessAt: try row.optionalDate("last_success_at"), nextSyncAt: try row.date("next_sync_at"),
                    hasCursor: try row.bool("has_cursor"), lastError: try row.optionalString("last_error"),
                    consecutiveFailures: try row.int("consecutive_failures"))
            }
        }
    }
}

/// `value` as a literal ILIKE substring: its own `%`, `_` and `\` match only themselves.
func likePattern(_ value: String) -> String {
    value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
        .replacingOccurrences(of: "_", with: "\\_")
}
