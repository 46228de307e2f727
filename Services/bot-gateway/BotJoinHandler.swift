import Delivery
import Foundation
import Shared
import Store

/// Answers `bot.join.requested` by asking the meeting provider for a bot.
struct BotJoinHandler: Sendable {
    let provider: any MeetingBotProvider

    func register(in routes: inout EventRoutes) {
        routes.on(BotJoinRequested.self, joinRequested)
    }

    func joinRequested(_ envelope: Envelope<BotJoinRequested>, _ context: HandlerContext) async throws {
        let request = envelope.payload
        // A redelivered request finds its bot already there: one bot per meeting.
        let existing = try await context.pool.withConnection { db in
            try db.queryOne("SELECT bot_id FROM gateway.bots WHERE meeting_id = $1 AND status <> 'fatal'", [request.meetingID])
        }
        guard existing == nil else {
            context.logger.info("bot already requested for this meeting", metadata: ["meeting_id": "\(request.meetingID)"])
            return
        }
        // The provider is called before anything is recorded: if recording then fails, the retry
        // asks again rather than believing a bot exists that never was requested.
        let botID = try await provider.createBot(for: request)
        let providerName = provider.name
        try await context.once { db in
            try db.execute(
                """
                INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status)
                VALUES ($1, $2, $3, $4, $5, 'requested')
                """, [botID, request.meetingID, providerName, envelope.tenantID, envelope.correlationID])
        }
        context.logger.info("bot requested", metadata: ["bot_id": "\(botID)", "provider": "\(providerName)"])
    }
}
