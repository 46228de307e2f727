import Delivery
import Foundation
import Logging
import ServiceLifecycle
import Shared
import Store

/// Fetches what each finished call left at the provider (its transcript and recording link)
/// once the bot is done, keeps it in `gateway.bot_artifacts`, and publishes
/// `bot.artifacts.ready` once. A provider still processing is asked again on the next round;
/// one that keeps failing is given up on after `attempts` rounds, and the operator sees why.
struct ArtifactsCollector: Service {
    let pool: PostgresPool
    let outbox: Outbox
    let provider: any MeetingBotProvider
    var interval: Duration = .seconds(30)
    var attempts = 20
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    func run() async throws {
        // Cancelled (another service failed) as well as asked to stop: a cancelled sleep returns
        // at once, so looping on would spin.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do { try await collect() } catch { logger.error("collecting call artifacts failed", metadata: ["error": "\(error)"]) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: returns how many bots' artifacts were published.
    @discardableResult
    func collect() async throws -> Int {
        let due = try await pool.withConnection { db in
            try db.query(
                """
                SELECT b.bot_id, b.meeting_id, b.tenant_id, b.correlation_id FROM gateway.bots b
                LEFT JOIN gateway.bot_artifacts a ON a.bot_id = b.bot_id
                WHERE b.status = 'done' AND b.provider = $1 AND (a.bot_id IS NULL OR (a.fetched_at IS NULL AND a.attempts < $2))
                ORDER BY b.status_at LIMIT 50
                """, [provider.name, attempts])
        }
        var published = 0
        for bot in due {
            let botID = try bot.string("bot_id")
            let fetched: Result<BotArtifacts?, any Error>
            do { fetched = .success(try await provider.artifacts(of: botID)) } catch { fetched = .failure(error) }
            let (outbox, now) = (outbox, clock())
            let isNew = try await outbox.transaction(pool) { db -> Bool in
                guard case .success(let artifacts?) = fetched else {
                    let problem: String? = if case .failure(let error) = fetched { "\(error)" } else { nil }
                    try db.execute(
                        """
                        INSERT INTO gateway.bot_artifacts (bot_id, attempts, last_error) VALUES ($1, 1, $2)
                        ON CONFLICT (bot_id) DO UPDATE SET attempts = gateway.bot_artifacts.attempts + 1, last_error = $2
                        """, [botID, problem])
                    return false
                }
                let payload = BotArtifactsReady(
                    meetingID: try bot.uuid("meeting_id"), botID: botID, transcript: artifacts.transcript,
                    recordingURL: artifacts.recordingURL, fetchedAt: now)
                guard
                    try db.execute(
                        """
                        INSERT INTO gateway.bot_artifacts (bot_id, attempts, transcript, recording_url, fetched_at)
                        VALUES ($1, 1, $2, $3, $4)
                        ON CONFLICT (bot_id) DO UPDATE SET attempts = gateway.bot_artifacts.attempts + 1,
                            transcript = EXCLUDED.transcript, recording_url = EXCLUDED.recording_url,
                            fetched_at = EXCLUDED.fetched_at, last_error = NULL
                        WHERE gateway.bot_artifacts.fetched_at IS NULL
                        """, [botID, try JSONBValue(artifacts.transcript), artifacts.recordingURL, now]) == 1
                else { return false }
                try outbox.append(
                    Envelope(
                        tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"), payload: payload),
                    on: db)
                return true
            }
            if isNew { published += 1 }
            if case .failure(let error) = fetched {
                logger.warning("call artifacts not fetched", metadata: ["bot_id": "\(botID)", "error": "\(error)"])
            }
        }
        return published
    }

    /// The table, to be appended to `GatewaySchema.migrations`.
    static let migration = Migration(
        "0107_bot_artifacts",
        """
        -- What a finished call left at the provider: fetched once (fetched_at), or tried
        -- `attempts` times with the last error.
        CREATE TABLE {schema}.bot_artifacts (
            bot_id text PRIMARY KEY REFERENCES {schema}.bots (bot_id),
            attempts int NOT NULL DEFAULT 0,
            transcript jsonb,
            recording_url text,
            fetched_at timestamptz,
            last_error text);
        """)
}
