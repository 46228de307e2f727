import Foundation
import LanguageModel
import Logging

/// One short follow-up for an answer too vague to prepare from, asked by a language model: "the
/// plan" for "What do you want from this meeting?" might get "Which decision on the plan do you
/// need from the team?". At most one per question; without an answer from the model, none.
struct AnswerFollowUp: Sendable {
    let model: any ChatModel
    let logger: Logger

    static let format = ResponseFormat(
        name: "answer_check",
        schema: .object([
            "type": .string("object"), "additionalProperties": .bool(false),
            "required": .array([.string("specific"), .string("follow_up")]),
            "properties": .object([
                "specific": .object(["type": .string("boolean")]), "follow_up": .object(["type": .string("string")]),
            ]),
        ]))

    /// The follow-up question, or nil when the answer will do (or the model could not say).
    func question(for answer: String, to question: String, meeting: String) async -> String? {
        let request = ChatRequest(
            messages: [
                ChatMessage(
                    .system,
                    """
                    You help a meeting's organiser prepare it. Given one preparation question and the organiser's \
                    answer, decide whether the answer is specific enough to build the meeting's agenda from. If it is \
                    not, write one short, friendly follow-up question that would make it specific; otherwise leave \
                    follow_up empty.
                    """),
                ChatMessage(.user, "Meeting: \(meeting)\nQuestion: \(question)\nAnswer: \(answer)"),
            ], maxTokens: 120, temperature: 0, responseFormat: Self.format)
        struct Check: Decodable {
            var specific: Bool
            var followUp: String
            enum CodingKeys: String, CodingKey {
                case specific
                case followUp = "follow_up"
            }
        }
        do {
            let check = try JSONDecoder().decode(Check.self, from: Data(try await model.complete(request).utf8))
            let followUp = check.followUp.trimmingCharacters(in: .whitespacesAndNewlines)
            return check.specific || followUp.isEmpty ? nil : followUp
        } catch {
            logger.warning("could not check an answer with the model; no follow-up", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
