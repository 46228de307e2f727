import Foundation
import Shared

/// The webhooks a meeting provider sends, in Recall.ai's shapes: bot status changes
/// (`bot.joining_call`, `bot.in_call_recording`, `bot.call_ended`, `bot.done`, …; data.data holds
/// the code, data.bot the bot and the metadata we gave it) and real-time transcript
/// segments (`transcript.data`). The older `bot.status_change` form is read as well.
struct RecallWebhook: Sendable {
    var event: String
    var data: Payload

    struct Payload: Sendable {
        var data: Detail?
        var bot: BotReference?
        // Legacy bot.status_change form.
        var botID: String?
        var status: LegacyStatus?
    }

    struct Detail: Sendable {
        var code: String?
        var subCode: String?
        var updatedAt: String?
        var words: [Word]?
        var speaker: String?
    }

    struct LegacyStatus: Sendable {
        var code: String
        var subCode: String?
        var createdAt: String?
    }

    struct BotReference: Sendable {
        var id: String
        var metadata: [String: String]?
    }

    struct Word: Sendable {
        var text: String
        var absoluteStart: String?
    }

    /// Reads a webhook's body. Read by hand rather than with `JSONDecoder`: at thousands of
    /// webhooks a second, Codable was the gateway's largest cost. Fields it does not use are
    /// not looked at; those it uses must have their type (null counts as absent).
    init(parsing body: [UInt8]) throws(RecallWebhookError) {
        do { try self.init(reading: body) } catch { throw RecallWebhookError(problem: "\(error)") }
    }

    private init(reading body: [UInt8]) throws {
        let fields = JSONFields(try JSONTree(parsing: body))
        event = try fields.required("event", \.string, "a string")
        guard let data = try fields.object("data") else { throw JSONFieldError(problem: "missing field data") }
        var payload = Payload()
        if let detail = try data.object("data") {
            payload.data = Detail(
                code: try detail.optional("code", \.string, "a string"),
                subCode: try detail.optional("sub_code", \.string, "a string"),
                updatedAt: try detail.optional("updated_at", \.string, "a string"),
                words: try detail.optional("words", \.array, "an array").map { words in
                    try words.enumerated().map { index, word -> Word in
                        let word = JSONFields(word, path: detail.path + "words[\(index)].")
                        return Word(
                            text: try word.required("text", \.string, "a string"),
                            absoluteStart: try word.object("start_timestamp")?.optional("absolute", \.string, "a string"))
                    }
                },
                speaker: try detail.object("participant")?.optional("name", \.string, "a string"))
        }
        if let bot = try data.object("bot") {
            payload.bot = BotReference(
                id: try bot.required("id", \.string, "a string"),
                metadata: try bot.object("metadata").map { metadata in
                    var values: [String: String] = [:]
                    for key in metadata.members.names { values[key] = try metadata.required(key, \.string, "a string") }
                    return values
                })
        }
        payload.botID = try data.optional("bot_id", \.string, "a string")
        if let status = try data.object("status") {
            payload.status = LegacyStatus(
                code: try status.required("code", \.string, "a string"),
                subCode: try status.optional("sub_code", \.string, "a string"),
                createdAt: try status.optional("created_at", \.string, "a string"))
        }
        self.data = payload
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
            let spokenAt = words.first?.absoluteStart.flatMap(Self.date) ?? now
            return .transcript(
                botID: bot.id, metadata: bot.metadata ?? [:], speaker: data.data?.speaker ?? "unknown speaker",
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

/// A webhook body that is not JSON, or not in the shape of Recall's webhooks.
struct RecallWebhookError: Error, CustomStringConvertible {
    var problem: String
    var description: String { problem }
}
