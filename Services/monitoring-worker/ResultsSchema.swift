import Store

enum ResultsSchema {
    static let name = "monitoring"

    static let migrations: [Migration] = [
        Migration(
            "0101_results",
            """
            CREATE TABLE {schema}.results (
                id uuid PRIMARY KEY,
                session_id uuid NOT NULL UNIQUE,
                meeting_id uuid NOT NULL,
                verdict text NOT NULL,
                is_placeholder boolean NOT NULL,
                summary text NOT NULL,
                turn_count int NOT NULL,
                analysed_at timestamptz NOT NULL DEFAULT now());
            """),
        ProviderArtifacts.migration,
        Migration(
            "0103_verdicts",
            """
            -- The placeholder results judged nothing and kept no call to judge: they go.
            DROP TABLE {schema}.results;
            -- One row per call session (the design's monitoring_results): the call as reported,
            -- then its verdict, then, for a failed or partial one, its diagnosis.
            CREATE TABLE {schema}.results (
                session_id uuid PRIMARY KEY,
                meeting_id uuid NOT NULL,
                tenant_id text NOT NULL,
                correlation_id uuid NOT NULL,
                call jsonb NOT NULL,
                received_at timestamptz NOT NULL,
                -- pending, pass, fail, partial, skipped, error
                status text NOT NULL DEFAULT 'pending',
                attempts int NOT NULL DEFAULT 0,
                next_attempt_at timestamptz,
                -- Who is analysing it, until when: a second replica leaves it alone meanwhile.
                claim uuid,
                claimed_until timestamptz,
                intent_types text[] NOT NULL DEFAULT '{}',
                confidence double precision,
                verdict jsonb,
                summary text,
                error text,
                analysed_at timestamptz,
                -- none (pass, skipped), pending (fail, partial), done
                diagnostic_status text NOT NULL DEFAULT 'none',
                diagnosis jsonb,
                diagnosed_at timestamptz);
            CREATE INDEX results_to_analyse ON {schema}.results (received_at) WHERE status IN ('pending', 'error');
            CREATE INDEX results_to_diagnose ON {schema}.results (analysed_at) WHERE diagnostic_status = 'pending';
            CREATE INDEX results_by_status ON {schema}.results (status, received_at);
            -- When the last cycle ran, whichever replica ran it.
            CREATE TABLE {schema}.cycles (id int PRIMARY KEY, last_cycle_at timestamptz NOT NULL);
            INSERT INTO {schema}.cycles VALUES (1, '-infinity');
            """),
        Migration(
            "0104_langfuse_exports",
            """
            -- When the verdict went to Langfuse as scores (with ATTACHE_LANGFUSE_* set).
            ALTER TABLE {schema}.results ADD COLUMN exported_at timestamptz;
            CREATE INDEX results_to_export ON {schema}.results (analysed_at) WHERE exported_at IS NULL;
            """),
        Migration(
            "0105_results_by_arrival",
            """
            -- The operators' console lists calls latest first, a page at a time (attache-ops serve).
            CREATE INDEX results_by_arrival ON {schema}.results (received_at DESC, session_id);
            """),
    ]
}
