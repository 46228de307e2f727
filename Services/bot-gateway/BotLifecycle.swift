import Foundation
import Shared
import Store

/// A bot's life as the gateway keeps it (`gateway.bots`): requested → scheduled → joining_call →
/// in_waiting_room → in_call_not_recording → in_call_recording → call_ended → done, with fatal
/// possible from anywhere. Every status and its sub-code is kept in `gateway.bot_status_history`,
/// codes Recall adds later included; the bot's current status is the one with the latest
/// timestamp, and done or fatal is where it stays. Recording permission allowed or denied is
/// kept as an event beside the statuses.
enum BotLifecycle {
    static let requested = BotStatus(rawValue: "requested")
    static let scheduled = BotStatus(rawValue: "scheduled")
    /// Done, failed, or called off by the gateway (the meeting was cancelled or moved).
    static let terminal: Set<BotStatus> = [.done, .fatal, BotStatus(rawValue: "cancelled")]

    enum Decision: Equatable {
        /// The bot's current status becomes the incoming one.
        case advance
        /// Kept in the history only, for the reason given.
        case historyOnly(String)
    }

    static func decide(current: BotStatus, since: Date?, incoming: BotStatus, at: Date) -> Decision {
        if terminal.contains(current), !terminal.contains(incoming) || current == incoming {
            return .historyOnly("the bot is already \(current)")
        }
        if let since, at < since, !terminal.contains(incoming) {
            return .historyOnly("older than the bot's \(current) at \(since.formatted(.iso8601))")
        }
        return .advance
    }

    /// What the owner should hear about a status, in plain language; nil for a normal step.
    static func problem(_ status: BotStatus, subCode: String?) -> (problem: String, explanation: String)? {
        if let subCode, let explanation = explanations[subCode] { return (subCode, explanation) }
        switch status {
        case .fatal:
            return (
                subCode ?? "fatal",
                "The meeting bot failed and will not be in the meeting"
                    + (subCode.map { " (Recall said \($0))" } ?? "") + "."
            )
        case .callEnded where subCode?.hasPrefix("timeout_exceeded_waiting_room") == true:
            return (subCode!, explanations["timeout_exceeded_waiting_room"]!)
        default:
            return nil
        }
    }

    /// Recall's sub-codes people can act on. Recall adds sub-codes without notice: any other
    /// fatal one still reaches the owner, in general words.
    static let explanations: [String: String] = [
        "meeting_not_found": "The bot could not find the meeting: check that the calendar invite has the right meeting link.",
        "meeting_requires_sign_in":
            "The meeting only admits signed-in users, so the bot could not join: allow guests, or invite the bot's account.",
        "meeting_requires_registration": "The meeting needs registration, so the bot could not join.",
        "meeting_link_expired": "The meeting link has expired, so the bot could not join: send a fresh invite.",
        "meeting_link_invalid": "The meeting link is not valid, so the bot could not join: check the invite.",
        "meeting_password_incorrect": "The meeting's passcode was wrong or missing, so the bot could not join.",
        "meeting_locked": "The meeting was locked, so the bot could not join.",
        "meeting_full": "The meeting was full, so the bot could not join.",
        "bot_kicked_from_waiting_room": "Someone declined the bot in the waiting room, so it is not in the meeting.",
        "timeout_exceeded_waiting_room": "Nobody admitted the bot from the waiting room in time, so it left.",
        "bot_kicked_from_call": "Someone removed the bot from the meeting.",
        "recording_permission_denied":
            "The host did not allow the bot to record, so it cannot listen or answer in this meeting.",
        "timeout_exceeded_recording_permission_denied":
            "The host did not allow the bot to record, so it left the meeting.",
        "silent_past_join_time": "The meeting bot has not joined, although it should have by now.",
        "stalled_in_waiting_room": "The meeting bot is still waiting to be admitted from the waiting room.",
    ]

    /// The table changes, to be appended to `GatewaySchema.migrations`.
    static let migration = Migration(
        "0106_bot_lifecycle",
        """
        -- When the bot's current status happened (Recall's timestamp), its sub-code, when it should
        -- join and when the meeting ends (to notice a silent bot), and the problem the owner was
        -- told about (once per bot and problem).
        ALTER TABLE {schema}.bots
            ADD COLUMN status_at timestamptz,
            ADD COLUMN sub_code text,
            ADD COLUMN join_at timestamptz,
            ADD COLUMN meeting_end timestamptz;
        ALTER TABLE {schema}.bot_status_history
            ADD COLUMN event text NOT NULL DEFAULT 'status',
            ADD COLUMN applied boolean NOT NULL DEFAULT true;
        -- The join time the meeting's bot was asked for: asked again with another, it is replaced.
        ALTER TABLE {schema}.bot_requests ADD COLUMN join_at timestamptz;
        CREATE TABLE {schema}.bot_problems (
            bot_id text NOT NULL REFERENCES {schema}.bots (bot_id),
            problem text NOT NULL,
            explanation text NOT NULL,
            detected_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (bot_id, problem));
        CREATE INDEX bots_not_joined ON {schema}.bots (join_at) WHERE status IN ('requested', 'scheduled');
        """)
}
