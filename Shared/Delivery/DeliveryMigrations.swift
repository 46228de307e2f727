import Store

/// The tables every consuming or publishing service keeps in its own schema.
public enum DeliveryMigrations {
    public static let all: [Migration] = [
        Migration(
            "0001_delivery_inbox",
            """
            CREATE TABLE {schema}.inbox (
                message_id uuid PRIMARY KEY,
                message_type text NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());
            """),
        Migration(
            "0002_delivery_outbox",
            """
            CREATE TABLE {schema}.outbox (
                position bigserial PRIMARY KEY,
                message_id uuid NOT NULL UNIQUE,
                message_type text NOT NULL,
                routing_key text NOT NULL,
                body text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now());
            """),
        Migration(
            "0003_delivery_revisions",
            """
            CREATE TABLE {schema}.revisions (
                entity text NOT NULL,
                entity_id text NOT NULL,
                revision bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (entity, entity_id));
            """),
    ]
}
