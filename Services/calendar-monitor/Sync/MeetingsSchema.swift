import Delivery
import Store

package enum MeetingsSchema {
    package static let name = "calendar"

    /// With the delivery tables, as the service applies them.
    package static var allMigrations: [Migration] { DeliveryMigrations.all + migrations }

    package static let migrations: [Migration] = [
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
        Migration(
            "0102_connections",
            """
            CREATE TABLE {schema}.connections (
                id uuid PRIMARY KEY,
                tenant_id text NOT NULL,
                owner text NOT NULL,
                kind text NOT NULL,
                name text NOT NULL,
                settings jsonb NOT NULL,
                sealed_credentials text,
                cursor text,
                -- active: synced on schedule; needs_reauth: stopped until the owner authorises again.
                status text NOT NULL DEFAULT 'active',
                next_sync_at timestamptz NOT NULL DEFAULT now(),
                last_attempt_at timestamptz,
                last_success_at timestamptz,
                last_error text,
                consecutive_failures int NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, kind, name));
            CREATE INDEX connections_due ON {schema}.connections (next_sync_at) WHERE status = 'active';

            -- A meeting is one occurrence of an item (a single event or a recurring series).
            ALTER TABLE {schema}.meetings ADD COLUMN item_id text;
            UPDATE {schema}.meetings SET item_id = split_part(external_id, '#', 1);
            ALTER TABLE {schema}.meetings ALTER COLUMN item_id SET NOT NULL;
            CREATE INDEX meetings_by_item ON {schema}.meetings (source, item_id);
            """),
        Migration(
            "0103_meeting_revisions",
            """
            -- Grows with every recorded change, so that consumers can tell newer from older news.
            ALTER TABLE {schema}.meetings ADD COLUMN revision bigint NOT NULL DEFAULT 1;
            """),
        Migration(
            "0110_connection_skipped_events",
            """
            -- The events the last read of the calendar could not read (a SkipReport); NULL until one.
            ALTER TABLE {schema}.connections ADD COLUMN last_skipped jsonb;
            """),
        Migration(
            "0111_meetings_by_start",
            """
            -- The operators' console lists meetings by start time across every calendar, a page
            -- at a time from the last row shown (attache-ops serve).
            CREATE INDEX meetings_by_start ON {schema}.meetings (start_at, id);
            """),
        Migration(
            "0112_connections_by_owner",
            """
            -- The operators' console lists calendar connections by owner, a page at a time.
            CREATE INDEX connections_by_owner ON {schema}.connections (owner, kind, name);
            """),
        Migration(
            "0113_connection_claims",
            """
            -- A replica's claim on a connection it is syncing, apart from next_sync_at: a sync asked
            -- for meanwhile (a push, sync now) then waits for the running one instead of running
            -- beside it, and is not lost when the running one schedules the next.
            ALTER TABLE {schema}.connections ADD COLUMN claimed_until timestamptz;
            """),
    ]
}
