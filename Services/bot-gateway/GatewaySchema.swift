import Store

enum GatewaySchema {
    static let name = "gateway"

    static let migrations: [Migration] = [
        Migration(
            "0101_bots",
            """
            CREATE TABLE {schema}.bots (
                bot_id text PRIMARY KEY,
                meeting_id uuid NOT NULL,
                provider text NOT NULL,
                tenant_id text NOT NULL,
                correlation_id uuid NOT NULL,
                status text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX bots_by_meeting ON {schema}.bots (meeting_id);

            CREATE TABLE {schema}.bot_status_history (
                id bigserial PRIMARY KEY,
                bot_id text NOT NULL REFERENCES {schema}.bots (bot_id),
                status text NOT NULL,
                sub_code text,
                changed_at timestamptz NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());

            -- Every verified webhook, keyed by its webhook-id: a provider's retry of the same
            -- webhook has its effect once, and one we could not use is kept with the reason.
            CREATE TABLE {schema}.webhook_receipts (
                webhook_id text PRIMARY KEY,
                event text NOT NULL,
                outcome text NOT NULL,
                body text NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());
            """),
        Migration(
            "0102_bot_requests",
            """
            -- One bot per meeting: the request is recorded before the provider is called, with
            -- the idempotency key every retry reuses, so a retry gets the same bot back.
            CREATE TABLE {schema}.bot_requests (
                meeting_id uuid PRIMARY KEY,
                idempotency_key uuid NOT NULL,
                bot_id text,
                requested_at timestamptz NOT NULL DEFAULT now());
            """),
        GooglePushReceiver.receiptsMigration,
        SlackReceiver.receiptsMigration,
        TwilioStatusReceiver.receiptsMigration,
        BotLifecycle.migration,
        ArtifactsCollector.migration,
        Migration(
            "0108_status_history_by_bot",
            """
            -- A bot's statuses in order, for `attache-ops bots show` and the console's meeting story.
            CREATE INDEX bot_status_history_by_bot ON {schema}.bot_status_history (bot_id, changed_at);
            """),
    ]
}
