import Foundation
import LanguageModel
import TestSupport
import Testing

@testable import PrepOrchestrator

/// Materials from an OpenAI-compatible model, against a local fake of the chat-completions API.
@Suite("Materials from a language model")
struct LanguageModelGeneratorTests {
    static let input = MaterialsInput(
        meeting: classification(minutes: 30).meeting, meetingType: "staff_meeting",
        prepQuestions: ["Goal?", "Anything to announce?"],
        context: [
            ContextResult(
                kind: .budget, items: [ContextItem(summary: "Compute: +$45K over plan", owner: "Dana")], unavailableReason: nil,
                attempts: 1, durationMilliseconds: 2),
            ContextResult(kind: .incidents, items: [], unavailableReason: "HTTP 503", attempts: 2, durationMilliseconds: 9),
        ],
        answers: [OwnerAnswer(question: "Goal?", answer: "Agree the freeze window", skipped: false)], withoutOwnerBecause: nil)

    static let valid =
        #"{"agenda": [{"title": "Goals", "minutes": 5, "points": ["Agree the freeze window"]}, {"title": "Budget", "minutes": 25, "points": ["Compute: +$45K over plan"]}], "question_groups": [{"audience": "Dana", "questions": ["What brings compute back to plan?"]}]}"#
    static let wrongLength = #"{"agenda": [{"title": "Goals", "minutes": 5, "points": []}], "question_groups": []}"#

    func generator(_ fake: FakeChatCompletions, key: String? = nil) -> LanguageModelGenerator {
        LanguageModelGenerator(
            model: OpenAIChatModel(
                configuration: .init(baseURL: fake.baseURL, apiKey: key ?? fake.apiKey, model: "gpt-4o-mini"),
                logger: TestStack.logger),
            logger: TestStack.logger)
    }

    @Test("the model is given every input and asked for strict JSON by schema; its agenda and questions become the materials")
    func usableAnswer() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.answerNext(Self.valid)
        let materials = try await generator(fake).generate(Self.input)

        #expect(materials.agenda.map(\.title) == ["Goals", "Budget"])
        #expect(materials.minutes == 30)
        #expect(materials.questionGroups == [.init(audience: "Dana", questions: ["What brings compute back to plan?"])])
        #expect(materials.generator == "language model")
        #expect(materials.model == "openai:gpt-4o-mini")
        #expect(materials.caveats == ["Incidents context was unavailable: HTTP 503."])
        let request = try #require(fake.requests.first)
        #expect(request.responseFormat?.type == "json_schema")
        #expect(request.responseFormat?.jsonSchema?.name == "meeting_materials")
        #expect(request.responseFormat?.jsonSchema?.strict == true)
        let prompt = try #require(request.messages?.last?.content)
        #expect(prompt == materials.prompt, "the prompt is kept with the materials")
        for given in [
            "Compute: +$45K over plan", "Agree the freeze window", "HTTP 503", "Anything to announce?", "\"minutes\":30",
        ] {
            #expect(prompt.contains(given), "\(given)")
        }
    }

    @Test("an unusable answer is asked for once more, with what was wrong")
    func retryWithTheProblem() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.answerNext("Sure! Here is your agenda.", Self.valid)
        let materials = try await generator(fake).generate(Self.input)
        #expect(materials.generator == "language model")
        #expect(fake.requests.count == 2)
        #expect(fake.requests[1].messages?.last?.content.contains("That answer is not usable: it is not JSON") == true)
    }

    @Test("twice unusable, or no model at all: the embedded generator makes the materials, and they say why")
    func fallback() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.answerNext(Self.wrongLength, Self.wrongLength)
        let materials = try await generator(fake).generate(Self.input)
        #expect(materials.generator == "embedded (fallback from openai:gpt-4o-mini)")
        #expect(materials.minutes == 30)
        #expect(
            materials.caveats.last
                == "Made without the language model, whose answer was not usable: the sections add up to 5 minutes, but the meeting lasts 30."
        )

        let refused = try await generator(fake, key: "sk-wrong").generate(Self.input)
        #expect(refused.generator == "embedded (fallback from openai:gpt-4o-mini)")
        #expect(refused.caveats.last?.contains("the model could not be reached") == true)
        #expect(refused.caveats.last?.contains("sk-wrong") == false, "no key in the materials")
    }
}
