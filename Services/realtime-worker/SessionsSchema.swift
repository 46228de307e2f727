import Store

enum SessionsSchema {
    static let name = "realtime"

    static let migrations: [Migration] = [
        Migration(
            "0101_sessions",
            """
            CREATE TABLE {schema}.sessions (
                id uuid PRIMARY KEY,
                meeting_id uuid NOT NULL,
                bot_id text NOT NULL,
                started_at timestamptz NOT NULL,
                ended_at timestamptz,
                UNIQUE (meeting_id, bot_id));

            CREATE TABLE {schema}.turns (
                id bigserial PRIMARY KEY,
                session_id uuid NOT NULL REFERENCES {schema}.sessions (id),
                role text NOT NULL,
                speaker text NOT NULL,
                text text NOT NULL,
                spoken_at timestamptz NOT NULL);
            CREATE INDEX turns_by_session ON {schema}.turns (session_id, spoken_at);
            """),
        Migration(
            "0102_voice_pipeline",
            """
            ALTER TABLE {schema}.sessions
                ADD COLUMN owner text,
                ADD COLUMN media_url text,
                ADD COLUMN skipped_reason text,
                ADD COLUMN end_seen_at timestamptz,
                ADD COLUMN pipeline_closed_at timestamptz,
                ADD COLUMN completed_at timestamptz;
            -- Calls that ended before this migration were reported already.
            UPDATE {schema}.sessions SET completed_at = ended_at, end_seen_at = ended_at WHERE ended_at IS NOT NULL;

            ALTER TABLE {schema}.turns
                ADD COLUMN source text NOT NULL DEFAULT 'provider',
                ADD COLUMN interrupted boolean NOT NULL DEFAULT false,
                ADD COLUMN latency jsonb;

            CREATE TABLE {schema}.meetings (
                meeting_id uuid PRIMARY KEY,
                revision integer NOT NULL,
                title text NOT NULL,
                description text NOT NULL,
                starts_at timestamptz NOT NULL,
                participants jsonb NOT NULL,
                meeting_type text NOT NULL);
            """),
        Migration(
            "0103_prep_materials",
            """
            CREATE TABLE {schema}.prep_materials (
                meeting_id uuid PRIMARY KEY,
                generated_at timestamptz NOT NULL,
                agenda jsonb NOT NULL,
                question_bank jsonb NOT NULL,
                notes jsonb NOT NULL);
            """),
        Migration(
            "0104_call_evidence",
            """
            -- What the agent knew (its context lines) and what failed, for the post-call review.
            ALTER TABLE {schema}.sessions ADD COLUMN context jsonb;
            CREATE TABLE {schema}.call_problems (
                id bigserial PRIMARY KEY,
                session_id uuid NOT NULL REFERENCES {schema}.sessions (id),
                kind text NOT NULL,
                detail text NOT NULL,
                at timestamptz NOT NULL);
            CREATE INDEX call_problems_by_session ON {schema}.call_problems (session_id, at);
            """),
    ]
}
