import Delivery
import Foundation
import Resilience
import Shared
import Store

/// Answers `bot.join.requested` by asking the meeting provider for a bot.
struct BotJoinHandler: Sendable {
    let provider: any MeetingBotProvider
    /// How long before the meeting's start the bot joins (the design's 2 to 3 minutes).
    var earlyJoin: Duration = .seconds(120)

    func register(in routes: inout EventRoutes) {
        routes.on(BotJoinRequested.self, joinRequested)
    }

    func joinRequested(_ envelope: Envelope<BotJoinRequested>, _ context: HandlerContext) async throws {
        let request = envelope.payload
        let recorded = try await context.pool.transaction { db in
            try db.execute(
                "INSERT INTO gateway.bot_requests (meeting_id, idempotency_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [request.meetingID, UUID()])
            return try db.queryOne(
                "SELECT idempotency_key, bot_id FROM gateway.bot_requests WHERE meeting_id = $1", [request.meetingID])!
        }
        if let botID = try recorded.optionalString("bot_id") {
            context.logger.info("this meeting has its bot already", metadata: ["bot_id": "\(botID)"])
            try await context.once { _ in }
            return
        }
        let botID = try await provider.createBot(for: request, idempotencyKey: try recorded.uuid("idempotency_key"))
        let providerName = provider.name
        try await context.once { db in
            try db.execute(
                """
                INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, join_at, meeting_end)
                VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7) ON CONFLICT (bot_id) DO NOTHING
                """,
                [
                    botID, request.meetingID, providerName, envelope.tenantID, envelope.correlationID,
                    request.meetingStart.addingTimeInterval(-earlyJoin.secondsValue), request.meetingEnd,
                ])
            try db.execute("UPDATE gateway.bot_requests SET bot_id = $2 WHERE meeting_id = $1", [request.meetingID, botID])
        }
        context.logger.info("bot requested", metadata: ["bot_id": "\(botID)", "provider": "\(providerName)"])
    }
}
