import Foundation
import Store

/// Rows as each service writes them into its own schema, at times the test chooses.
struct Seed {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    let pool: PostgresPool

    init(_ pool: PostgresPool) { self.pool = pool }

    func meeting(title: String, owner: String, start: Date) async throws -> UUID {
        let id = UUID()
        let organizer = try JSONBValue(["email": owner])
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO calendar.meetings (id, tenant_id, source, external_id, item_id, title, description, start_at,
                    end_at, organizer, attendees, first_seen_at, updated_at)
                VALUES ($1, 'tenant-a', 'google', $2, $2, $3, '', $4, $5, $6, '[]', $7, $7)
                """,
                [id, id.uuidString, title, start, start.addingTimeInterval(3600), organizer, Self.t0])
        }
        return id
    }

    func classification(of meeting: UUID, at: Date) async throws {
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO classifier.classifications (meeting_id, tenant_id, meeting, meeting_type, rule, matched_keywords,
                    prep_trigger_at, reminder_at, bot_join_at, classified_at, updated_at)
                VALUES ($1, 'tenant-a', '{}', 'external', 'external-attendees', '["acme.com"]', $2, $2, $3, $4, $4)
                """, [meeting, Self.t0.addingTimeInterval(60), Self.t0.addingTimeInterval(7200), at])
        }
    }

    @discardableResult
    func workflow(
        of meeting: UUID, title: String = "a meeting", state: String, at: Date = Seed.t0.addingTimeInterval(10)
    ) async throws -> UUID {
        let id = UUID()
        let snapshot = try JSONBValue(["title": title, "start": "2026-05-28T22:26:40Z"])
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO prep.workflows (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type,
                    prep_questions, state, created_at, updated_at)
                VALUES ($1, $2, 'tenant-a', $3, '00-0-0-00', $4, 'external', '[]', $5, $6, $6)
                """, [id, meeting, UUID(), snapshot, state, at])
        }
        return id
    }

    func call(of meeting: UUID, status: String, summary: String, session: UUID = UUID(), at: Date = Seed.t0) async throws {
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO monitoring.results (session_id, meeting_id, tenant_id, correlation_id, call, received_at, status,
                    summary, analysed_at)
                VALUES ($1, $2, 'tenant-a', $3, '{}', $4, $5, $6, $7)
                """, [session, meeting, UUID(), at, status, summary, at.addingTimeInterval(90)])
        }
    }

    /// One meeting's whole life: classified, prepared, attended by a bot, the call judged.
    func story(of meeting: UUID) async throws {
        let t0 = Self.t0
        @Sendable func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
        try await classification(of: meeting, at: at(5))
        let workflow = try await workflow(of: meeting, state: "materials_sent")
        let session = UUID()
        let latency = #"{"stt_final_ms": 180, "llm_start_ms": 200, "llm_first_token_ms": 450, "first_audio_out_ms": 900}"#
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO prep.steps (workflow_id, step, due_at, state, outcome, attempts, started_at, finished_at)
                VALUES ($1, 'gather_context', $2, 'done', 'done', 1, $2, $3)
                """, [workflow, at(20), at(21.5)])
            try db.execute(
                """
                INSERT INTO prep.notifications (id, workflow_id, channel, recipient, text, kind, created_at)
                VALUES ($1, $2, 'slack', 'U123', 'Your meeting is prepared', 'prep', $3)
                """, [UUID(), workflow, at(30)])
            try db.execute(
                """
                INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, created_at, updated_at)
                VALUES ('bot-1', $1, 'recall', 'tenant-a', $2, 'done', $3, $3)
                """, [meeting, UUID(), at(40)])
            try db.execute(
                """
                INSERT INTO gateway.bot_status_history (bot_id, status, changed_at)
                VALUES ('bot-1', 'done', $1), ('bot-1', 'joining_call', $2)
                """, [at(9000), at(7200)])
            try db.execute(
                """
                INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, ended_at)
                VALUES ($1, $2, 'bot-1', $3, $4)
                """, [session, meeting, at(7210), at(8990)])
            try db.execute(
                """
                INSERT INTO realtime.turns (session_id, role, speaker, text, spoken_at, latency)
                VALUES ($1, 'agent', 'Attaché', 'We agreed on the annual plan.', $2, $3::jsonb),
                    ($1, 'participant', 'Alex', 'What did we decide about pricing?', $4, NULL)
                """, [session, at(7302), latency, at(7300)])
            try db.execute(
                """
                INSERT INTO monitoring.results (session_id, meeting_id, tenant_id, correlation_id, call, received_at, status,
                    summary, analysed_at, diagnostic_status, diagnosis, diagnosed_at)
                VALUES ($1, $2, 'tenant-a', $3, '{}', $4, 'partial', 'the price list was missing', $5, 'done', $6, $7)
                """,
                [
                    session, meeting, UUID(), at(9010), at(9100),
                    try JSONBValue(["summary": "the agent had no pricing context"]), at(9200),
                ])
        }
    }

    /// A calendar connection as calendar-monitor keeps it, due an hour after `t0` (far off).
    func connection(owner: String, name: String, status: String = "active") async throws -> UUID {
        let id = UUID()
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                INSERT INTO calendar.connections (id, tenant_id, owner, kind, name, settings, status, next_sync_at)
                VALUES ($1, 'tenant-a', $2, 'ics', $3, '{}', $4, now() + interval '1 hour')
                """, [id, owner, name, status])
        }
        return id
    }
}
