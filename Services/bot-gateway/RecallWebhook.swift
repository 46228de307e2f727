import Foundation
import Shared

/// The webhooks a meeting provider sends, in Recall.ai's shapes: bot status changes
/// (`bot.joining_call`, `bot.in_call_recording`, `bot.call_ended`, `bot.done`, …; data.data holds
/// the code, data.bot the bot and the metadata we gave it) and real-time transcript
/// segments (`transcript.data`). The older `bot.status_change` form is read as well.
struct RecallWebhook: Decodable, Sendable {
    var event: String
    var data: Payload

    struct Payload: Decodable, Sendable {
        var data: Detail?
        var bot: BotReference?
        // Legacy bot.status_change form.
        var botID: String?
        var status: LegacyStatus?

        enum CodingKeys: String, CodingKey {
            case data, bot, status
            case botID = "bot_id"
        }
    }

    struct Detail: Decodable, Sendable {
        var code: String?
        var subCode: String?
        var updatedAt: String?
        var words: [Word]?
        var participant: Speaker?

        enum CodingKeys: String, CodingKey {
            case code, words, participant
            case subCode = "sub_code"
            case updatedAt = "updated_at"
        }
    }

    struct LegacyStatus: Decodable, Sendable {
        var code: String
        var subCode: String?
        var createdAt: String?

        enum CodingKeys: String, CodingKey {
            case code
            case subCode = "sub_code"
            case createdAt = "created_at"
        }
    }

    struct BotReference: Decodable, Sendable {
        var id: String
        var metadata: [String: String]?
    }

    struct Word: Decodable, Sendable {
        var text: String
        var startTimestamp: Timestamp?

        enum CodingKeys: String, CodingKey {
            case text
            case startTimestamp = "start_timestamp"
        }
    }

    struct Timestamp: Decodable, Sendable {
        var relative: Double?
        var absolute: String?
    }

    struct Speaker: Decodable, Sendable {
        var name: String?
    }

    enum Meaning: Sendable {
        case status(botID: String, metadata: [String: String], status: BotStatus, subCode: String?, at: Date)
        case transcript(botID: String, metadata: [String: String], speaker: String, text: String, at: Date)
        case other
    }

    /// What the webhook tells us, or `.other` for events we do not act on.
    func meaning(receivedAt now: Date) -> Meaning {
        if event == "transcript.data", let bot = data.bot, let words = data.data?.words, !words.isEmpty {
            let text = words.map(\.text).joined(separator: " ")
            let spokenAt = words.first?.startTimestamp?.absolute.flatMap(Self.date) ?? now
            return .transcript(
                botID: bot.id, metadata: bot.metadata ?? [:], speaker: data.data?.participant?.name ?? "unknown speaker",
                text: text, at: spokenAt)
        }
        if event == "bot.status_change", let botID = data.botID, let status = data.status {
            return .status(
                botID: botID, metadata: [:], status: BotStatus(rawValue: status.code), subCode: status.subCode,
                at: status.createdAt.flatMap(Self.date) ?? now)
        }
        if event.hasPrefix("bot."), let bot = data.bot, let detail = data.data, let code = detail.code {
            return .status(
                botID: bot.id, metadata: bot.metadata ?? [:], status: BotStatus(rawValue: code), subCode: detail.subCode,
                at: detail.updatedAt.flatMap(Self.date) ?? now)
        }
        return .other
    }

    private static func date(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}
