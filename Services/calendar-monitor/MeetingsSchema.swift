import Store

enum MeetingsSchema {
    static let name = "calendar"

    static let migrations: [Migration] = [
        Migration(
            "0101_meetings",
            """
            CREATE TABLE {schema}.meetings (
                id uuid PRIMARY KEY,
                tenant_id text NOT NULL,
                source text NOT NULL,
                external_id text NOT NULL,
                title text NOT NULL,
                description text NOT NULL,
                start_at timestamptz NOT NULL,
                end_at timestamptz NOT NULL,
                organizer jsonb,
                attendees jsonb NOT NULL,
                conference_url text,
                cancelled boolean NOT NULL DEFAULT false,
                first_seen_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (source, external_id));
            CREATE INDEX meetings_by_source_and_start ON {schema}.meetings (source, start_at);
            """),
    ]
}
