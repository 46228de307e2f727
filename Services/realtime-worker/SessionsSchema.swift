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
    ]
}
