import Delivery
import Foundation
import Shared
import Store

/// What webhooks do to the bots they are about, worked out in memory against the bots' rows
/// (locked for the transaction) and written with a handful of statements for all of them
/// (`BatchedWrites`), however many webhooks there are. Webhooks are applied in the order given;
/// a bot's status after each one is the one the next one is decided against, so that
/// `BotLifecycle` orders a bot's statuses by the provider's time within a batch as across them.
struct WebhookEffects {
    let provider: String
    let outbox: Outbox
    /// The locked rows, by bot id.
    private let rows: [String: Row]
    /// Each bot's status as the webhooks applied so far leave it.
    private var current: [String: (status: BotStatus, since: Date?)] = [:]
    /// The bots whose status changed, in the order they first did, with their final status.
    private var changed: [String] = []
    private var latest: [String: (status: BotStatus, at: Date, subCode: String?)] = [:]
    private var writes = BatchedWrites()

    /// Reads the rows of the bots the webhooks are about. Those whose status may change are
    /// locked, in bot id order (so that transactions locking overlapping sets of bots wait for
    /// each other instead of deadlocking); the others (transcripts only need the bot's meeting)
    /// are only read, as a lock costs a write to the row. Bots without a row are left out.
    init(for meanings: [RecallWebhook.Meaning], provider: String, outbox: Outbox, on db: PostgresConnection) throws {
        self.provider = provider
        self.outbox = outbox
        var changing: Set<String> = []
        var reading: Set<String> = []
        for meaning in meanings {
            switch meaning {
            case .status(let botID, _, _, _, _): changing.insert(botID)
            case .transcript(let botID, _, _, _, _): reading.insert(botID)
            case .other: break
            }
        }
        reading.subtract(changing)
        var rows: [String: Row] = [:]
        for (bots, lock) in [(changing, " FOR UPDATE"), (reading, "")] where !bots.isEmpty {
            for row in try db.query(
                "SELECT * FROM gateway.bots WHERE bot_id = ANY($1::text[]) ORDER BY bot_id\(lock)", [PostgresArray(bots.sorted())]
            ) {
                rows[try row.string("bot_id")] = row
            }
        }
        self.rows = rows
    }

    func knows(_ botID: String) -> Bool { rows[botID] != nil }

    mutating func apply(_ meaning: RecallWebhook.Meaning, on db: PostgresConnection) throws -> WebhookReceiver.Outcome {
        switch meaning {
        case .other:
            return .ignored("event not used")
        case .status(let botID, _, let status, let subCode, let at):
            guard let bot = rows[botID] else { throw UnknownBot(botID: botID) }
            if status.rawValue.hasPrefix("recording_permission_") {
                // An event beside the statuses: the bot stays where it is.
                writes.add(
                    """
                    INSERT INTO gateway.bot_status_history (bot_id, status, sub_code, changed_at, event, applied)
                    SELECT bot_id, status, sub_code, changed_at, status, false
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS h(bot_id, status, sub_code, changed_at)
                    """, [botID, status.rawValue, subCode, at])
                if status.rawValue == "recording_permission_denied" {
                    // Rare: written at once, where `BotProblems` tells whether it is new.
                    try BotProblems.record(
                        bot, problem: "recording_permission_denied", status: nil,
                        explanation: BotLifecycle.explanations["recording_permission_denied"]!, at: at, outbox: outbox,
                        on: db)
                }
                return .published("recording permission event")
            }
            let now: (status: BotStatus, since: Date?)
            if let known = current[botID] {
                now = known
            } else {
                now = (BotStatus(rawValue: try bot.string("status")), try bot.optionalDate("status_at"))
            }
            let decision = BotLifecycle.decide(current: now.status, since: now.since, incoming: status, at: at)
            writes.add(
                """
                INSERT INTO gateway.bot_status_history (bot_id, status, sub_code, changed_at, applied)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[])
                """, [botID, status.rawValue, subCode, at, decision == .advance])
            if decision == .advance {
                current[botID] = (status, at)
                if latest[botID] == nil { changed.append(botID) }
                latest[botID] = (status, at, subCode)
                if let problem = BotLifecycle.problem(status, subCode: subCode) {
                    try BotProblems.record(
                        bot, problem: problem.problem, status: status, explanation: problem.explanation, at: at,
                        outbox: outbox, on: db)
                }
            }
            // Every status goes on: the realtime worker orders a call's statuses by their time.
            try outbox.append(
                Envelope(
                    tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"),
                    payload: BotStatusChanged(
                        meetingID: try bot.uuid("meeting_id"), botID: botID, provider: provider, status: status,
                        subCode: subCode, changedAt: at)), to: &writes)
            return .published(BotStatusChanged.messageType.description)
        case .transcript(let botID, _, let speaker, let text, let at):
            guard let bot = rows[botID] else { throw UnknownBot(botID: botID) }
            try outbox.append(
                Envelope(
                    tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"),
                    payload: BotTranscriptReceived(
                        meetingID: try bot.uuid("meeting_id"), botID: botID, speaker: speaker, text: text, spokenAt: at)),
                to: &writes)
            return .published(BotTranscriptReceived.messageType.description)
        }
    }

    /// Writes what the applied webhooks did: their history, events and each bot's final status.
    func write(on db: PostgresConnection) throws {
        try writes.execute(on: db)
        guard !changed.isEmpty else { return }
        let updates = changed.map { (botID: $0, final: latest[$0]!) }
        try db.execute(
            """
            UPDATE gateway.bots AS b SET status = u.status, status_at = u.status_at, sub_code = u.sub_code, updated_at = now()
            FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS u(bot_id, status, status_at, sub_code)
            WHERE b.bot_id = u.bot_id
            """,
            [
                PostgresArray(updates.map { $0.botID }), PostgresArray(updates.map { $0.final.status.rawValue }),
                PostgresArray(updates.map { $0.final.at }), PostgresArray(updates.map { $0.final.subCode }),
            ])
    }
}

extension RecallWebhook.Meaning {
    /// The bot the webhook is about, if any.
    var botID: String? {
        switch self {
        case .status(let botID, _, _, _, _), .transcript(let botID, _, _, _, _): botID
        case .other: nil
        }
    }
}
