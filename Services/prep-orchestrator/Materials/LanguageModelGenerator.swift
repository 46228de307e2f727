import Foundation
import LanguageModel
import Logging

/// Materials from a language model (any OpenAI-compatible endpoint): it is given every input
/// and asked for JSON matching `schema`; its answer is checked (the time boxes add up to the
/// meeting, nothing empty). An unusable answer is asked for once more with what was wrong; if
/// that fails too, or the model cannot be reached, the embedded generator makes the materials
/// and they say so. The prompt and the model are kept with the materials.
struct LanguageModelGenerator: MaterialsGenerator {
    let model: any ChatModel
    var fallback = EmbeddedGenerator()
    let logger: Logger

    /// What the model answers.
    struct Answer: Codable, Equatable {
        struct Section: Codable, Equatable {
            var title: String
            var minutes: Int
            var points: [String]
        }
        struct Group: Codable, Equatable {
            var audience: String
            var questions: [String]
        }
        var agenda: [Section]
        var questionGroups: [Group]

        enum CodingKeys: String, CodingKey {
            case agenda
            case questionGroups = "question_groups"
        }
    }

    struct Unusable: Error, CustomStringConvertible {
        var description: String
    }

    static let schema = ResponseFormat(
        name: "meeting_materials",
        schema: .object([
            "type": .string("object"), "additionalProperties": .bool(false),
            "required": .array([.string("agenda"), .string("question_groups")]),
            "properties": .object([
                "agenda": .object([
                    "type": .string("array"),
                    "items": .object([
                        "type": .string("object"), "additionalProperties": .bool(false),
                        "required": .array([.string("title"), .string("minutes"), .string("points")]),
                        "properties": .object([
                            "title": .object(["type": .string("string")]), "minutes": .object(["type": .string("integer")]),
                            "points": .object(["type": .string("array"), "items": .object(["type": .string("string")])]),
                        ]),
                    ]),
                ]),
                "question_groups": .object([
                    "type": .string("array"),
                    "items": .object([
                        "type": .string("object"), "additionalProperties": .bool(false),
                        "required": .array([.string("audience"), .string("questions")]),
                        "properties": .object([
                            "audience": .object(["type": .string("string")]),
                            "questions": .object(["type": .string("array"), "items": .object(["type": .string("string")])]),
                        ]),
                    ]),
                ]),
            ]),
        ]))

    static let instructions = """
        You prepare a meeting for its owner. From the meeting, the context gathered and the owner's answers, write an \
        agenda whose sections' minutes add up exactly to the meeting's length (each at least 1), with the context items \
        and answers placed in the sections they belong to, and a question bank grouped by who should be asked. Use only \
        what you are given. Answer with JSON only.
        """

    func generate(_ input: MaterialsInput) async throws -> Materials {
        let minutes = Self.minutes(of: input)
        let prompt = try Self.prompt(input, minutes: minutes)
        var messages = [ChatMessage(.system, Self.instructions), ChatMessage(.user, prompt)]
        var problem = ""
        for attempt in 1...2 {
            do {
                let text = try await model.complete(
                    ChatRequest(messages: messages, temperature: 0.2, responseFormat: Self.schema))
                do {
                    let answer = try Self.validated(text, minutes: minutes)
                    return Self.materials(answer, input: input, model: model.name, prompt: prompt)
                } catch {
                    problem = "\(error)"
                    logger.warning(
                        "the model's materials were not usable", metadata: ["attempt": "\(attempt)", "problem": "\(problem)"])
                    messages += [
                        ChatMessage(.assistant, text),
                        ChatMessage(.user, "That answer is not usable: \(problem). Answer again with JSON that fixes it."),
                    ]
                }
            } catch {
                problem = "the model could not be reached (\(error))"
                break
            }
        }
        var materials = try await fallback.generate(input)
        materials.caveats.append("Made without the language model, whose answer was not usable: \(problem).")
        materials.generator = "\(EmbeddedGenerator.name) (fallback from \(model.name))"
        materials.model = model.name
        materials.prompt = prompt
        return materials
    }

    static func minutes(of input: MaterialsInput) -> Int {
        max(5, Int((input.meeting.end.timeIntervalSince(input.meeting.start) / 60).rounded()))
    }

    /// Everything the model is given, as JSON.
    static func prompt(_ input: MaterialsInput, minutes: Int) throws -> String {
        struct Prompt: Encodable {
            var meeting: [String: String]
            var minutes: Int
            var attendees: [String]
            var context: [String: [ContextItem]]
            var unavailableContext: [String: String]
            var answers: [String: String]
            var unansweredQuestions: [String]
            var preparedWithoutOwnerBecause: String?
        }
        let answered = input.answers.filter { $0.text != nil }
        let prompt = Prompt(
            meeting: [
                "title": input.meeting.title, "type": input.meetingType, "start": input.meeting.start.formatted(.iso8601),
                "description": input.meeting.description,
            ],
            minutes: minutes,
            attendees: ([input.meeting.organizer] + input.meeting.attendees).compactMap { $0.map { $0.name ?? $0.email } },
            context: Dictionary(uniqueKeysWithValues: input.context.filter(\.isAvailable).map { ($0.kind.rawValue, $0.items) }),
            unavailableContext: Dictionary(
                uniqueKeysWithValues: input.context.compactMap { result in
                    result.unavailableReason.map { (result.kind.rawValue, $0) }
                }),
            answers: Dictionary(answered.map { ($0.question, $0.text ?? "") }) { first, _ in first },
            unansweredQuestions: input.prepQuestions.filter { question in !answered.contains { $0.question == question } },
            preparedWithoutOwnerBecause: input.withoutOwnerBecause)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(prompt), as: UTF8.self)
    }

    /// The model's answer if it can be used as it is; otherwise why not, in a sentence the model can act on.
    static func validated(_ text: String, minutes: Int) throws -> Answer {
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: Data(text.utf8))
        } catch {
            throw Unusable(description: "it is not JSON matching the schema (\(DecodingSummary(error)))")
        }
        guard !answer.agenda.isEmpty else { throw Unusable(description: "the agenda has no sections") }
        if let empty = answer.agenda.first(where: { $0.title.trimmingCharacters(in: .whitespaces).isEmpty || $0.minutes < 1 }) {
            throw Unusable(
                description:
                    "every section needs a title and at least 1 minute (\(empty.title.isEmpty ? "untitled" : empty.title))")
        }
        let total = answer.agenda.reduce(0) { $0 + $1.minutes }
        guard total == minutes else {
            throw Unusable(description: "the sections add up to \(total) minutes, but the meeting lasts \(minutes)")
        }
        return answer
    }

    static func materials(_ answer: Answer, input: MaterialsInput, model: String, prompt: String) -> Materials {
        Materials(
            meetingTitle: input.meeting.title, start: input.meeting.start, end: input.meeting.end, meetingType: input.meetingType,
            attendees: ([input.meeting.organizer] + input.meeting.attendees).compactMap { $0.map { $0.name ?? $0.email } },
            agenda: answer.agenda.map { .init(title: $0.title, minutes: $0.minutes, points: $0.points) },
            questionGroups: answer.questionGroups.filter { !$0.questions.isEmpty }.map {
                .init(audience: $0.audience, questions: $0.questions)
            },
            context: input.context, answers: input.answers, caveats: EmbeddedGenerator.caveats(input),
            generator: "language model",
            model: model, prompt: prompt)
    }
}
