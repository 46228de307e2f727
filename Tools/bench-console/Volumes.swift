import Foundation
import Store

/// Rows as the six services write them, in bulk: every meeting with its whole life, in one
/// transaction of set-based inserts (ten thousand meetings take seconds, not minutes).
struct Volumes {
    let pool: PostgresPool
    let meetings: Int
    let turnsPerCall: Int

    /// Meeting `i`'s ids are derived from `i`, so every table can refer to them without a lookup.
    static let statements = [
        """
        INSERT INTO calendar.connections (id, tenant_id, owner, kind, name, settings, cursor, last_attempt_at,
            last_success_at, last_error, consecutive_failures)
        SELECT md5('c' || i)::uuid, 'tenant-a', 'owner' || i || '@example.com', 'google', 'primary-' || i, '{}',
            'sync-token-' || i, $1::timestamptz, $1::timestamptz,
            CASE WHEN i % 20 = 0 THEN 'Google answered 503' END, CASE WHEN i % 20 = 0 THEN 2 ELSE 0 END
        FROM generate_series(1, $2 / 5) AS i
        """,
        """
        INSERT INTO calendar.meetings (id, tenant_id, source, external_id, item_id, title, description, start_at, end_at,
            organizer, attendees, first_seen_at, updated_at)
        SELECT md5('m' || i)::uuid, 'tenant-a', 'google', 'ev-' || i, 'ev-' || i,
            (ARRAY['Quarterly review', 'Pricing sync', 'Hiring panel', 'Customer onboarding', 'Incident review',
                'Board prep', 'Roadmap planning', 'Vendor call'])[1 + i % 8] || ' ' || i,
            '', $1::timestamptz + i * interval '47 minutes', $1::timestamptz + i * interval '47 minutes' + interval '1 hour',
            jsonb_build_object('email', 'owner' || (i % 200) || '@example.com'),
            '[{"email": "ada@acme.com"}, {"email": "alan@example.com"}]', $1::timestamptz, $1::timestamptz
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO classifier.classifications (meeting_id, tenant_id, meeting, meeting_type, rule, matched_keywords,
            prep_trigger_at, reminder_at, bot_join_at, classified_at, updated_at)
        SELECT md5('m' || i)::uuid, 'tenant-a', '{}', 'external', 'external-attendees', '["acme.com"]',
            $1::timestamptz + i * interval '47 minutes' - interval '24 hours',
            $1::timestamptz + i * interval '47 minutes' - interval '1 hour',
            $1::timestamptz + i * interval '47 minutes' - interval '2 minutes', $1::timestamptz, $1::timestamptz
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO prep.workflows (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type,
            prep_questions, state, created_at, updated_at)
        SELECT md5('w' || i)::uuid, md5('m' || i)::uuid, 'tenant-a', md5('m' || i)::uuid, '00-0-0-00',
            jsonb_build_object('title', 'meeting ' || i, 'start',
                to_char(($1::timestamptz + i * interval '47 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
            'external', '[]',
            (ARRAY['materials_sent', 'awaiting_owner', 'done', 'cancelled', 'failed'])[1 + i % 5],
            $1::timestamptz + i * interval '1 minute', $1::timestamptz + i * interval '1 minute'
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO prep.steps (workflow_id, step, due_at, state, outcome, attempts, started_at, finished_at)
        SELECT md5('w' || i)::uuid, step, $1::timestamptz + i * interval '1 minute', 'done', 'done', 1,
            $1::timestamptz + i * interval '1 minute', $1::timestamptz + i * interval '1 minute' + interval '2 seconds'
        FROM generate_series(1, $2) AS i,
            unnest(ARRAY['gather_context', 'ask_owner', 'generate_materials', 'deliver']) AS step
        """,
        """
        INSERT INTO prep.notifications (id, workflow_id, channel, recipient, text, kind, created_at)
        SELECT md5('n' || i)::uuid, md5('w' || i)::uuid, 'slack', 'U' || i, 'Your meeting is prepared', 'prep',
            $1::timestamptz + i * interval '1 minute'
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, created_at, updated_at)
        SELECT 'bot-' || i, md5('m' || i)::uuid, 'recall', 'tenant-a', md5('m' || i)::uuid, 'done', $1::timestamptz,
            $1::timestamptz
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO gateway.bot_status_history (bot_id, status, changed_at)
        SELECT 'bot-' || i, status, $1::timestamptz + i * interval '47 minutes' + n * interval '1 minute'
        FROM generate_series(1, $2) AS i,
            unnest(ARRAY['joining_call', 'in_waiting_room', 'in_call_recording', 'call_ended', 'done'])
                WITH ORDINALITY AS s (status, n)
        """,
        """
        INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, ended_at)
        SELECT md5('s' || i)::uuid, md5('m' || i)::uuid, 'bot-' || i, $1::timestamptz + i * interval '47 minutes',
            $1::timestamptz + i * interval '47 minutes' + interval '50 minutes'
        FROM generate_series(1, $2) AS i
        """,
        """
        INSERT INTO realtime.turns (session_id, role, speaker, text, spoken_at, latency)
        SELECT md5('s' || i)::uuid, CASE WHEN t % 2 = 0 THEN 'agent' ELSE 'participant' END,
            CASE WHEN t % 2 = 0 THEN 'Attaché' ELSE 'Alex' END,
            CASE WHEN t % 2 = 0 THEN 'Here is what I have on the pricing: the annual plan stays at 12 percent off.'
                ELSE 'What did we decide about pricing last time?' END,
            $1::timestamptz + i * interval '47 minutes' + t * interval '20 seconds',
            CASE WHEN t % 2 = 0 THEN
                '{"stt_final_ms": 180, "llm_start_ms": 200, "llm_first_token_ms": 450, "first_audio_out_ms": 900}'::jsonb
            END
        FROM generate_series(1, $2) AS i, generate_series(1, $3) AS t
        """,
        """
        INSERT INTO monitoring.results (session_id, meeting_id, tenant_id, correlation_id, call, received_at, status,
            summary, analysed_at)
        SELECT md5('s' || i)::uuid, md5('m' || i)::uuid, 'tenant-a', md5('m' || i)::uuid, '{}',
            $1::timestamptz + i * interval '47 minutes' + interval '51 minutes',
            (ARRAY['pass', 'pass', 'pass', 'partial', 'fail', 'skipped'])[1 + i % 6], 'the agent answered 4 of 5 questions',
            $1::timestamptz + i * interval '47 minutes' + interval '53 minutes'
        FROM generate_series(1, $2) AS i
        """,
    ]

    func write() async throws -> (meetings: Int, turns: Int) {
        let values: [any PostgresBindable] = [Date(timeIntervalSince1970: 1_780_000_000), meetings, turnsPerCall]
        let empty = try await pool.withConnection { db in
            try db.queryOne("SELECT count(*) AS n FROM calendar.meetings")!.int("n") == 0
        }
        guard empty else { fail("the database already holds meetings: give the benchmark a database of its own") }
        try await pool.transaction { db in
            for statement in Self.statements {
                // A statement is given only the parameters it names: PostgreSQL refuses one it cannot type.
                let named = (1...values.count).filter { statement.contains("$\($0)") }.count
                _ = try db.execute(statement, Array(values.prefix(named)))
            }
        }
        return try await pool.withConnection { db in
            try db.execute("ANALYZE")
            return (
                try db.queryOne("SELECT count(*) AS n FROM calendar.meetings")!.int("n"),
                try db.queryOne("SELECT count(*) AS n FROM realtime.turns")!.int("n")
            )
        }
    }
}
