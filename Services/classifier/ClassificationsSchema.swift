import ClassificationRules
import Store

enum ClassificationsSchema {
    static let name = "classifier"

    static let migrations: [Migration] = [
        Migration(
            "0101_classifications",
            """
            CREATE TABLE {schema}.classifications (
                meeting_id uuid PRIMARY KEY,
                tenant_id text NOT NULL,
                meeting jsonb NOT NULL,
                meeting_type text NOT NULL,
                rule text NOT NULL,
                matched_keywords jsonb NOT NULL,
                prep_trigger_at timestamptz NOT NULL,
                reminder_at timestamptz NOT NULL,
                cancelled boolean NOT NULL DEFAULT false,
                classified_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now());
            """),
        Migration(
            "0102_bot_join_at",
            """
            ALTER TABLE {schema}.classifications ADD COLUMN bot_join_at timestamptz;
            """),
    ]
}
