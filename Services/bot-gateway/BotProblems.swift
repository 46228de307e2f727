import Delivery
import Foundation
import Logging
import ServiceLifecycle
import Shared
import Store

/// Problems with bots that their meetings' owners hear about: recorded once per bot and problem
/// in `gateway.bot_problems`, and published as `bot.problem.detected` in the same transaction.
enum BotProblems {
    /// Returns true when the problem is new for this bot.
    @discardableResult
    static func record(
        _ bot: Row, problem: String, status: BotStatus?, explanation: String, at: Date, outbox: Outbox,
        on db: PostgresConnection
    ) throws -> Bool {
        let botID = try bot.string("bot_id")
        guard
            try db.execute(
                "INSERT INTO gateway.bot_problems (bot_id, problem, explanation, detected_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                [botID, problem, explanation, at]) == 1
        else { return false }
        try outbox.append(
            Envelope(
                tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"),
                payload: BotProblemDetected(
                    meetingID: try bot.uuid("meeting_id"), botID: botID, problem: problem, status: status,
                    explanation: explanation, detectedAt: at)), on: db)
        return true
    }
}

/// Notices bots that go quiet: one not in the call `joinGrace` after its join time, or one still
/// in the waiting room after `waitingRoomStall`, while the meeting lasts. Runs every `interval`.
struct BotWatch: Service {
    struct Settings: Sendable {
        var interval: Duration = .seconds(30)
        var joinGrace: Duration = .seconds(5 * 60)
        var waitingRoomStall: Duration = .seconds(10 * 60)
    }

    let pool: PostgresPool
    let outbox: Outbox
    let settings: Settings
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    func run() async throws {
        // Cancelled (another service failed) as well as asked to stop: a cancelled sleep returns
        // at once, so looping on would spin.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do { try await check() } catch { logger.error("checking for quiet bots failed", metadata: ["error": "\(error)"]) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
        }
    }

    /// Records and publishes the problems found now; returns how many were new.
    @discardableResult
    func check() async throws -> Int {
        let (outbox, settings, now) = (outbox, settings, clock())
        let found = try await outbox.transaction(pool) { db -> Int in
            var found = 0
            for bot in try db.query(
                """
                SELECT b.*, CASE WHEN b.status = 'in_waiting_room' THEN 'stalled_in_waiting_room'
                    ELSE 'silent_past_join_time' END AS problem
                FROM gateway.bots b
                WHERE b.meeting_end > $1 AND (
                    (b.status IN ('requested', 'scheduled') AND b.join_at < $1::timestamptz - make_interval(secs => $2))
                    OR (b.status = 'in_waiting_room' AND b.status_at < $1::timestamptz - make_interval(secs => $3)))
                FOR UPDATE OF b SKIP LOCKED
                """, [now, settings.joinGrace.secondsValue, settings.waitingRoomStall.secondsValue])
            {
                let (botID, problem) = (try bot.string("bot_id"), try bot.string("problem"))
                if try BotProblems.record(
                    bot, problem: problem, status: BotStatus(rawValue: try bot.string("status")),
                    explanation: BotLifecycle.explanations[problem]!, at: now, outbox: outbox, on: db)
                {
                    found += 1
                    logger.warning(
                        "bot gone quiet", metadata: ["bot_id": "\(botID)", "problem": "\(problem)"])
                }
            }
            return found
        }
        return found
    }
}
