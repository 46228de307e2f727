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
    ]
}
