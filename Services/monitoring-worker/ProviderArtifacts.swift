import Delivery
import Foundation
import Shared
import Store

/// Keeps what a finished call left at the meeting provider (`bot.artifacts.ready`): its
/// transcript, for the review of a call whose live transcript is missing or incomplete, and
/// the recording's link.
struct ProviderArtifacts: Sendable {
    func register(in routes: inout EventRoutes) {
        routes.on(BotArtifactsReady.self, artifactsReady)
    }

    func artifactsReady(_ envelope: Envelope<BotArtifactsReady>, _ context: HandlerContext) async throws {
        let artifacts = envelope.payload
        _ = try await context.once { db in
            try db.execute(
                """
                INSERT INTO monitoring.provider_artifacts (bot_id, meeting_id, transcript, recording_url, fetched_at)
                VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bot_id) DO NOTHING
                """,
                [
                    artifacts.botID, artifacts.meetingID, try JSONBValue(artifacts.transcript), artifacts.recordingURL,
                    artifacts.fetchedAt,
                ])
        }
    }

    static let migration = Migration(
        "0102_provider_artifacts",
        """
        CREATE TABLE {schema}.provider_artifacts (
            bot_id text PRIMARY KEY,
            meeting_id uuid NOT NULL,
            transcript jsonb NOT NULL,
            recording_url text,
            fetched_at timestamptz NOT NULL);
        CREATE INDEX provider_artifacts_by_meeting ON {schema}.provider_artifacts (meeting_id);
        """)
}
