import Store

enum WorkflowSchema {
    static let name = "prep"

    static let migrations: [Migration] = [
        Migration(
            "0101_workflows",
            """
            CREATE TABLE {schema}.workflows (
                id uuid PRIMARY KEY,
                meeting_id uuid NOT NULL UNIQUE,
                tenant_id text NOT NULL,
                correlation_id uuid NOT NULL,
                traceparent text NOT NULL,
                meeting jsonb NOT NULL,
                meeting_type text NOT NULL,
                prep_questions jsonb NOT NULL,
                state text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now());

            -- Durable timers: a row per step that waits for a time. Due rows are claimed with
            -- FOR UPDATE SKIP LOCKED, so replicas share the work and a restart loses nothing.
            CREATE TABLE {schema}.timers (
                id bigserial PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                step text NOT NULL,
                due_at timestamptz NOT NULL,
                fired_at timestamptz,
                attempts int NOT NULL DEFAULT 0,
                last_error text,
                UNIQUE (workflow_id, step));
            CREATE INDEX timers_due ON {schema}.timers (due_at) WHERE fired_at IS NULL;

            -- The embedded notification channel: what would go to Slack, kept for the operator.
            CREATE TABLE {schema}.notifications (
                id uuid PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                channel text NOT NULL,
                recipient text NOT NULL,
                text text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now());
            """),
        Migration(
            "0102_notifications_without_workflow",
            """
            -- Not every notification belongs to a meeting's preparation (a calendar to reconnect).
            ALTER TABLE {schema}.notifications ALTER COLUMN workflow_id DROP NOT NULL;
            ALTER TABLE {schema}.notifications ADD COLUMN kind text NOT NULL DEFAULT 'prep';
            ALTER TABLE {schema}.notifications ALTER COLUMN kind DROP DEFAULT;
            """),
        Migration(
            "0103_timer_outcomes",
            """
            -- What became of a fired step: done, skipped (too late to be useful) or failed.
            ALTER TABLE {schema}.timers ADD COLUMN outcome text;
            UPDATE {schema}.timers SET outcome = 'done' WHERE fired_at IS NOT NULL;
            """),
    ]
}
