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
        Migration(
            "0104_durable_workflow",
            """
            -- The preparation workflow as durable steps (the design's Step Functions states).
            ALTER TABLE {schema}.workflows
                ADD COLUMN definition_version int NOT NULL DEFAULT 1,
                ADD COLUMN context_required jsonb NOT NULL DEFAULT '[]',
                ADD COLUMN prep_trigger_at timestamptz,
                ADD COLUMN reminder_at timestamptz,
                ADD COLUMN bot_join_at timestamptz,
                ADD COLUMN finished_at timestamptz;

            -- A row per step: pending (due at due_at), waiting (for the owner, until due_at),
            -- done, skipped, failed or cancelled. A replica claims a due step by taking a lease
            -- (FOR UPDATE SKIP LOCKED); its completion, with its effects, commits only while the
            -- claim is still its own (the attempt it claimed), so each step completes once.
            ALTER TABLE {schema}.timers RENAME TO steps;
            DROP INDEX {schema}.timers_due;
            ALTER TABLE {schema}.steps
                ADD COLUMN state text NOT NULL DEFAULT 'pending',
                ADD COLUMN lease_until timestamptz,
                ADD COLUMN output jsonb,
                ADD COLUMN started_at timestamptz,
                ADD COLUMN finished_at timestamptz,
                ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
            UPDATE {schema}.steps SET finished_at = fired_at,
                state = CASE WHEN outcome LIKE 'skipped%' THEN 'skipped' WHEN outcome LIKE 'failed%' THEN 'failed' ELSE 'done' END
                WHERE fired_at IS NOT NULL;
            ALTER TABLE {schema}.steps DROP COLUMN fired_at;
            CREATE INDEX steps_due ON {schema}.steps (due_at) WHERE state IN ('pending', 'waiting');

            -- GatherContext: one row per branch, available with its items or unavailable with why.
            CREATE TABLE {schema}.context (
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                kind text NOT NULL,
                status text NOT NULL,
                items jsonb NOT NULL DEFAULT '[]',
                reason text,
                attempts int NOT NULL,
                duration_ms int NOT NULL,
                gathered_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (workflow_id, kind));

            -- The owner's task token: only its SHA-256 is kept.
            CREATE TABLE {schema}.owner_tokens (
                workflow_id uuid PRIMARY KEY REFERENCES {schema}.workflows (id),
                token_hash text NOT NULL UNIQUE,
                expires_at timestamptz NOT NULL,
                used_at timestamptz,
                revoked_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now());

            CREATE TABLE {schema}.answers (
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                position int NOT NULL,
                question text NOT NULL,
                answer text,
                skipped boolean NOT NULL DEFAULT false,
                answered_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (workflow_id, position));

            -- Each generation of a meeting's materials, and (embedded store) its files.
            CREATE TABLE {schema}.materials (
                id uuid PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                generation int NOT NULL,
                content jsonb NOT NULL,
                generator text NOT NULL,
                model text,
                prompt text,
                stored_in text,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (workflow_id, generation));
            CREATE INDEX materials_created ON {schema}.materials (created_at);
            CREATE TABLE {schema}.material_files (
                materials_id uuid NOT NULL REFERENCES {schema}.materials (id) ON DELETE CASCADE,
                name text NOT NULL,
                content_type text NOT NULL,
                body text NOT NULL,
                PRIMARY KEY (materials_id, name));
            """),
        Migration(
            "0105_slack_chats",
            """
            -- The owner's conversation in Slack: one open at a time per Slack user, on the
            -- workflow whose questions they are answering.
            CREATE TABLE {schema}.slack_chats (
                slack_user text PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                channel text NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX slack_chats_by_workflow ON {schema}.slack_chats (workflow_id);
            """),
        Migration(
            "0106_slack_follow_ups",
            """
            -- The question whose answer got a follow-up: the next reply completes that answer.
            ALTER TABLE {schema}.slack_chats ADD COLUMN follow_up_position int;
            """),
        Migration(
            "0107_deliveries",
            """
            -- A message's way to its owner through the channel chain, written before each channel
            -- that sends something outside is tried: a step run again after a crash, or a channel
            -- that reports failure later (an SMS undelivered), goes on from where the chain was
            -- and sends nothing twice. `settled` once the step that sent it has committed.
            -- state: pending, sending, deferred (try the same channel later), sent, delivered (the
            -- channel confirmed it), unknown (the service stopped while sending: not sent again),
            -- bounced (the channel reported failure after taking it: the chain goes on).
            CREATE TABLE {schema}.deliveries (
                id uuid PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                step_id bigint NOT NULL,
                kind text NOT NULL,
                message jsonb NOT NULL,
                chain text[] NOT NULL,
                position int NOT NULL DEFAULT 0,
                state text NOT NULL DEFAULT 'pending',
                failures text[] NOT NULL DEFAULT '{}',
                reference text,
                settled boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX deliveries_open ON {schema}.deliveries (step_id) WHERE NOT settled;
            CREATE INDEX deliveries_by_workflow ON {schema}.deliveries (workflow_id);
            CREATE UNIQUE INDEX deliveries_by_reference ON {schema}.deliveries (reference) WHERE reference IS NOT NULL;

            -- Owners who asked not to be reached on a channel: an SMS recipient who replied STOP
            -- (Twilio's 21610), an e-mail recipient who unsubscribed.
            CREATE TABLE {schema}.opt_outs (
                tenant_id text NOT NULL,
                channel text NOT NULL,
                address text NOT NULL,
                reason text NOT NULL,
                opted_out_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, channel, address));
            """),
        Migration(
            "0108_bot_problems",
            """
            -- Problems bot-gateway reported with a meeting's bot, once each; notified_at when the
            -- owner was told (notify_bot_problem).
            CREATE TABLE {schema}.bot_problems (
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                bot_id text NOT NULL,
                problem text NOT NULL,
                explanation text NOT NULL,
                detected_at timestamptz NOT NULL,
                notified_at timestamptz,
                PRIMARY KEY (bot_id, problem));
            CREATE INDEX bot_problems_to_notify ON {schema}.bot_problems (workflow_id) WHERE notified_at IS NULL;
            """),
        Migration(
            "0109_call_reviews",
            """
            -- Calls monitoring-worker found the agent failed, once each; notified_at when the
            -- owner was told (notify_call_review).
            CREATE TABLE {schema}.call_reviews (
                session_id uuid PRIMARY KEY,
                workflow_id uuid NOT NULL REFERENCES {schema}.workflows (id),
                root_causes text[] NOT NULL,
                summary text NOT NULL,
                diagnosed_at timestamptz NOT NULL,
                notified_at timestamptz);
            CREATE INDEX call_reviews_to_notify ON {schema}.call_reviews (workflow_id) WHERE notified_at IS NULL;
            """),
        Migration(
            "0110_notifications_by_workflow",
            """
            -- A workflow's messages, for `attache-ops workflows show` and the console's meeting story.
            CREATE INDEX notifications_by_workflow ON {schema}.notifications (workflow_id, created_at);
            """),
        Migration(
            "0111_console_lists",
            """
            -- The operators' console lists workflows latest first, all or in one state, a page at a
            -- time, each with its steps counted (attache-ops serve).
            CREATE INDEX workflows_by_update ON {schema}.workflows (updated_at DESC, id);
            CREATE INDEX workflows_by_state ON {schema}.workflows (state, updated_at DESC, id);
            CREATE INDEX steps_by_workflow ON {schema}.steps (workflow_id);
            """),
    ]
}
