import Delivery
import Foundation
import Logging
import ServiceLifecycle
import Shared
import Store

/// Follows the bot through the call: a pipeline opens when the bot starts recording, hears the
/// transcript while the call lasts, and closes when the call ends, which publishes
/// `call.completed` with the whole conversation. Turns are stored as they arrive, so a restart
/// mid-call loses none of them.
struct CallHandlers: Sendable {
    let registry: PipelineRegistry

    func register(in routes: inout EventRoutes) {
        routes.on(BotStatusChanged.self, statusChanged)
        routes.on(BotTranscriptReceived.self, transcriptReceived)
    }

    func statusChanged(_ envelope: Envelope<BotStatusChanged>, _ context: HandlerContext) async throws {
        let change = envelope.payload
        let revisions = context.revisions
        // The provider's timestamps order a bot's statuses: a late "recording" never reopens an
        // ended call. Only the statuses acted on here are recorded.
        let revision = Int(change.changedAt.timeIntervalSince1970 * 1_000_000)
        switch change.status {
        case .inCallRecording:
            let sessionID = try await context.once { db -> UUID? in
                guard try revisions.acceptNewer("bot-status", id: change.botID, revision: revision, on: db) else { return nil }
                return try db.queryOne(
                    """
                    INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (meeting_id, bot_id) DO NOTHING
                    RETURNING id
                    """, [UUID(), change.meetingID, change.botID, change.changedAt])?.uuid("id")
            }
            if let sessionID = sessionID ?? nil {
                _ = await registry.open(sessionID: sessionID, meetingID: change.meetingID, botID: change.botID)
                context.logger.info("call pipeline opened", metadata: ["meeting_id": "\(change.meetingID)"])
            }
        case .callEnded, .fatal:
            let outbox = context.outbox
            try await context.once { db in
                guard try revisions.acceptNewer("bot-status", id: change.botID, revision: revision, on: db) else { return }
                // A call whose start was never seen (its status still on its way) still ends,
                // and is still reported.
                guard let session = try db.queryOne(
                    """
                    INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, ended_at) VALUES ($1, $2, $3, $4, $4)
                    ON CONFLICT (meeting_id, bot_id) DO UPDATE SET ended_at = EXCLUDED.ended_at
                    WHERE realtime.sessions.ended_at IS NULL
                    RETURNING id, started_at
                    """, [UUID(), change.meetingID, change.botID, change.changedAt])
                else { return }  // completed already
                let sessionID = try session.uuid("id")
                let turns = try db.query(
                    "SELECT role, speaker, text, spoken_at FROM realtime.turns WHERE session_id = $1 ORDER BY spoken_at, id",
                    [sessionID]
                ).map { row in
                    CallTurn(
                        role: CallTurn.Role(rawValue: try row.string("role")) ?? .participant,
                        speaker: try row.string("speaker"), text: try row.string("text"), at: try row.date("spoken_at"))
                }
                try outbox.append(
                    Envelope(
                        CallCompleted(
                            sessionID: sessionID, meetingID: change.meetingID, botID: change.botID,
                            startedAt: try session.date("started_at"), endedAt: change.changedAt, turns: turns),
                        causedBy: envelope), on: db)
            }
            await registry.remove(meetingID: change.meetingID)
            context.logger.info("call pipeline closed", metadata: ["meeting_id": "\(change.meetingID)"])
        default:
            return
        }
    }

    func transcriptReceived(_ envelope: Envelope<BotTranscriptReceived>, _ context: HandlerContext) async throws {
        let segment = envelope.payload
        let turn = CallTurn(role: .participant, speaker: segment.speaker, text: segment.text, at: segment.spokenAt)
        let stored = try await context.once { db -> Bool in
            guard let session = try db.queryOne(
                "SELECT id, ended_at FROM realtime.sessions WHERE meeting_id = $1 AND bot_id = $2",
                [segment.meetingID, segment.botID])
            else {
                // The status change that opens the session may still be on its way: retry later.
                throw SessionNotOpenYet(meetingID: segment.meetingID)
            }
            try db.execute(
                "INSERT INTO realtime.turns (session_id, role, speaker, text, spoken_at) VALUES ($1, $2, $3, $4, $5)",
                [try session.uuid("id"), turn.role.rawValue, turn.speaker, turn.text, turn.at])
            return try session.optionalDate("ended_at") == nil
        }
        if stored == true, let pipeline = await registry.pipeline(forMeeting: segment.meetingID) {
            await pipeline.hear(turn)
        }
    }
}

struct SessionNotOpenYet: Error, CustomStringConvertible {
    var meetingID: UUID
    var description: String { "no call session for meeting \(meetingID) yet" }
}

/// Closes every live pipeline when the service stops, so no call work outlives it.
struct PipelineShutdown: Service {
    let registry: PipelineRegistry
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let live = await registry.liveMeetings
        await registry.closeAll()
        if !live.isEmpty { logger.info("closed live call pipelines at shutdown", metadata: ["count": "\(live.count)"]) }
    }
}
