import Delivery
import Foundation
import Resilience
import Shared
import Store

/// Answers `bot.join.requested` by asking the meeting provider for a bot, one per meeting; asked
/// again with another join time (the meeting moved), it replaces a bot that has not joined yet
/// and leaves one in the call alone. Answers `bot.join.cancelled` by calling the meeting's bot
/// off: deleted if it has not joined, asked to leave if it is in the call.
struct BotJoinHandler: Sendable {
    let provider: any MeetingBotProvider
    /// How long before the meeting's start the bot joins (the design's 2 to 3 minutes), when the
    /// request does not say.
    var earlyJoin: Duration = .seconds(120)

    static let cancelled = BotStatus(rawValue: "cancelled")
    /// Statuses of a bot that has not joined yet: it can be deleted rather than asked to leave.
    static let notJoined: Set<BotStatus> = [BotLifecycle.requested, BotLifecycle.scheduled]

    func register(in routes: inout EventRoutes) {
        routes.on(BotJoinRequested.self, joinRequested)
        routes.on(BotJoinCancelled.self, joinCancelled)
    }

    func joinRequested(_ envelope: Envelope<BotJoinRequested>, _ context: HandlerContext) async throws {
        let request = envelope.payload
        let joinAt = request.joinAt ?? request.meetingStart.addingTimeInterval(-earlyJoin.secondsValue)
        var recorded = try await context.pool.transaction { db in
            try db.execute(
                "INSERT INTO gateway.bot_requests (meeting_id, idempotency_key, join_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [request.meetingID, UUID(), joinAt])
            // There by the insert just above, in this transaction.
            return try Self.request(for: request.meetingID, on: db)!
        }
        if let botID = try recorded.optionalString("bot_id") {
            let status = BotStatus(rawValue: try recorded.optionalString("status") ?? "requested")
            let sameTime = try recorded.optionalDate("join_at").map { abs($0.timeIntervalSince(joinAt)) < 1 } ?? true
            if sameTime || !Self.notJoined.contains(status) {
                context.logger.info(
                    "this meeting has its bot already", metadata: ["bot_id": "\(botID)", "status": "\(status)"])
                try await context.once { _ in }
                return
            }
            // The meeting moved before its bot joined: a new bot for the new time.
            try await provider.removeBot(botID, inCall: false)
            recorded = try await context.pool.transaction { db in
                try Self.callOff(botID, event: "replaced: the meeting moved", on: db)
                try db.execute(
                    "UPDATE gateway.bot_requests SET idempotency_key = $2, bot_id = NULL, join_at = $3 WHERE meeting_id = $1",
                    [request.meetingID, UUID(), joinAt])
                return try Self.request(for: request.meetingID, on: db)!
            }
            context.logger.info("the meeting moved: its bot is replaced", metadata: ["bot_id": "\(botID)"])
        }
        let botID = try await provider.createBot(for: request, idempotencyKey: try recorded.uuid("idempotency_key"))
        let providerName = provider.name
        // Scheduled when asked ahead enough for the provider to join on time by itself.
        let status = joinAt.timeIntervalSinceNow > 600 ? BotLifecycle.scheduled : BotLifecycle.requested
        try await context.once { db in
            try db.execute(
                """
                INSERT INTO gateway.bots (bot_id, meeting_id, provider, tenant_id, correlation_id, status, join_at, meeting_end)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bot_id) DO NOTHING
                """,
                [
                    botID, request.meetingID, providerName, envelope.tenantID, envelope.correlationID, status.rawValue, joinAt,
                    request.meetingEnd,
                ])
            try db.execute("UPDATE gateway.bot_requests SET bot_id = $2 WHERE meeting_id = $1", [request.meetingID, botID])
        }
        context.logger.info(
            "bot requested", metadata: ["bot_id": "\(botID)", "provider": "\(providerName)", "status": "\(status)"])
    }

    func joinCancelled(_ envelope: Envelope<BotJoinCancelled>, _ context: HandlerContext) async throws {
        let meeting = envelope.payload.meetingID
        let recorded = try await context.pool.withConnection { db in try Self.request(for: meeting, on: db) }
        guard let recorded, let botID = try recorded.optionalString("bot_id") else {
            try await context.once { _ in }
            return
        }
        let status = BotStatus(rawValue: try recorded.optionalString("status") ?? "requested")
        guard !BotLifecycle.terminal.contains(status), status != Self.cancelled else {
            try await context.once { _ in }
            return
        }
        let inCall = !Self.notJoined.contains(status)
        try await provider.removeBot(botID, inCall: inCall)
        try await context.once { db in
            if inCall {
                try db.execute(
                    """
                    INSERT INTO gateway.bot_status_history (bot_id, status, changed_at, event, applied)
                    VALUES ($1, 'asked_to_leave', now(), 'asked_to_leave: the meeting was cancelled', false)
                    """, [botID])
            } else {
                try Self.callOff(botID, event: "cancelled: the meeting was cancelled", on: db)
            }
        }
        context.logger.info("the meeting was cancelled: its bot is called off", metadata: ["bot_id": "\(botID)"])
    }

    private static func request(for meeting: UUID, on db: PostgresConnection) throws -> Row? {
        try db.queryOne(
            """
            SELECT r.idempotency_key, r.bot_id, r.join_at, b.status FROM gateway.bot_requests r
            LEFT JOIN gateway.bots b ON b.bot_id = r.bot_id WHERE r.meeting_id = $1
            """, [meeting])
    }

    private static func callOff(_ botID: String, event: String, on db: PostgresConnection) throws {
        try db.execute(
            "UPDATE gateway.bots SET status = 'cancelled', status_at = now(), updated_at = now() WHERE bot_id = $1", [botID])
        try db.execute(
            """
            INSERT INTO gateway.bot_status_history (bot_id, status, changed_at, event, applied)
            VALUES ($1, 'cancelled', now(), $2, true)
            """, [botID, event])
    }
}
