import CallAnalysis
import Foundation
import LanguageModel
import Shared
import TestSupport
import Testing

@Suite("LLM judge")
struct JudgeAnalyserTests {
    static let call = Calls.call(
        [
            Calls.greeting, ["Ada Lovelace", "Hi all. What's the Q3 budget?"], ["agent", "The Q3 budget is 1.5 million."],
            ["Alan Turing", "Please note an action item for me to send the deck."], ["agent", "Noted: Alan sends the deck."],
        ], context: Calls.budgetContext)

    static let goodAnswer = """
        {"intents": [{"type": "smalltalk", "subject": null, "turns": [1], "confidence": 0.6}, \
        {"type": "ask_fact", "subject": "budget", "turns": [1], "confidence": 0.95}, \
        {"type": "request_action_item", "subject": null, "turns": [3], "confidence": 0.9}], \
        "fulfilments": [{"intent_index": 1, "status": "fail", "failure_kind": "wrong_fact", "evidence_turns": [1, 2], \
        "reason": "Said 1.5 million; the notes say 1.2 million."}, \
        {"intent_index": 2, "status": "pass", "failure_kind": null, "evidence_turns": [3, 4], "reason": "Took the action item."}], \
        "summary": "The budget answer contradicted the notes; the action item was taken."}
        """

    static func judge(_ fake: FakeChatCompletions) -> JudgeAnalyser {
        JudgeAnalyser(
            model: OpenAIChatModel(
                configuration: .init(baseURL: fake.baseURL, apiKey: fake.apiKey, model: "gpt-4o-mini"), logger: TestStack.logger))
    }

    @Test("a good answer becomes a verdict with the model and prompt version; the request asks for strict JSON")
    func goodAnswer() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.answerNext(Self.goodAnswer)
        let verdict = try await Self.judge(fake).analyse(Self.call)
        #expect(verdict.status == .partial)
        #expect(verdict.analyser == "judge")
        #expect(verdict.model == "openai:gpt-4o-mini")
        #expect(verdict.promptVersion == JudgeAnalyser.promptVersion)
        #expect(verdict.intentTypes == [.smalltalk, .askFact, .requestActionItem])
        #expect(verdict.fulfilments.map(\.failureKind) == [.wrongFact, nil])
        #expect(verdict.fulfilments.first?.subject == "budget")
        #expect(verdict.fulfilments.first?.evidence.map(\.speaker) == ["Ada Lovelace", "Attaché"])
        #expect(verdict.summary == "partial: The budget answer contradicted the notes; the action item was taken.")

        let sent = try #require(fake.requests.first)
        #expect(sent.responseFormat?.type == "json_schema")
        #expect(sent.responseFormat?.jsonSchema?.name == "call_verdict")
        #expect(sent.responseFormat?.jsonSchema?.strict == true)
        #expect(sent.temperature == 0)
        let system = try #require(sent.messages?.first?.content)
        let user = try #require(sent.messages?.last?.content)
        for intent in IntentTaxonomy.bundledDefault.intents {
            #expect(system.contains("- \(intent.type.rawValue): \(intent.rubric)"))
        }
        #expect(system.contains("unjustified_unknown"))
        #expect(user.contains("Budget: 1.2 million for Q3"))
        #expect(user.contains("[1] participant Ada Lovelace: Hi all. What's the Q3 budget?"))
    }

    @Test("an answer that is not JSON is refused as such")
    func notJSON() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.answerNext("Sure! The agent did well overall, with one slip on the budget.")
        await #expect {
            try await Self.judge(fake).analyse(Self.call)
        } throws: { error in
            guard case .answerNotJSON(let model, _)? = error as? CallAnalysisError else { return false }
            return model == "openai:gpt-4o-mini"
        }
    }

    @Test("a failing endpoint is a thrown modelFailed naming the model, for the session to be marked error")
    func failingEndpoint() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        fake.failNext(.serverError)
        await #expect {
            try await Self.judge(fake).analyse(Self.call)
        } throws: { error in
            guard case .modelFailed(let model, let reason)? = error as? CallAnalysisError else { return false }
            return model == "openai:gpt-4o-mini" && reason.contains("500")
        }
    }

    @Test("a call nobody spoke in is skipped without asking the model")
    func skippedWithoutAsking() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        let verdict = try await Self.judge(fake).analyse(Calls.call([Calls.greeting]))
        #expect(verdict.status == .skipped)
        #expect(fake.requests.isEmpty)
    }

    static func problem(_ answer: String) -> (path: String, problem: String)? {
        do {
            _ = try JudgeAnalyser(model: LocalResponder()).verdict(fromAnswer: answer, for: call)
            return nil
        } catch {
            if case .answerInvalid(_, let path, let problem) = error { return (path, problem) }
            return ("other", "\(error)")
        }
    }

    static func breaking(_ old: String, _ new: String) -> String {
        #expect(goodAnswer.contains(old))
        return goodAnswer.replacingOccurrences(of: old, with: new)
    }

    @Test("answers that break the schema or the call are refused, naming the field and what is wrong")
    func invalidAnswers() {
        #expect(Self.problem(Self.goodAnswer) == nil)
        #expect(
            Self.problem(Self.breaking(#""type": "request_action_item""#, #""type": "book_flight""#))?.path == "intents[2].type")
        #expect(Self.problem(Self.breaking(#""confidence": 0.95"#, #""confidence": 1.4"#))?.path == "intents[1].confidence")
        #expect(Self.problem(Self.breaking(#""confidence": 0.95"#, #""confidence": "high""#))?.path == "intents[1].confidence")
        #expect(Self.problem(Self.breaking(#""turns": [3]"#, #""turns": [12]"#))?.path == "intents[2].turns[0]")
        #expect(Self.problem(Self.breaking(#""turns": [3]"#, #""turns": [4]"#))?.problem.contains("the agent's") == true)
        #expect(Self.problem(Self.breaking(#""subject": "budget""#, #""subject": "weather""#))?.path == "intents[1].subject")
        #expect(Self.problem(Self.breaking(#", "reason": "Took the action item.""#, ""))?.path == "fulfilments[1].reason")
        #expect(
            Self.problem(Self.breaking(#""failure_kind": "wrong_fact""#, #""failure_kind": "bad_vibes""#))?.path
                == "fulfilments[0].failure_kind")
        #expect(
            Self.problem(
                Self.breaking(#""status": "fail", "failure_kind": "wrong_fact""#, #""status": "fail", "failure_kind": null"#))?
                .path == "fulfilments[0].failure_kind")
        #expect(Self.problem(Self.breaking(#""intent_index": 2"#, #""intent_index": 7"#))?.path == "fulfilments[1].intent_index")
        #expect(Self.problem(Self.breaking(#""intent_index": 2"#, #""intent_index": 1"#))?.path == "fulfilments[1].intent_index")
        #expect(
            Self.problem(Self.breaking(#""intent_index": 2"#, #""intent_index": 0"#))?.problem.contains("nothing to fulfil")
                == true)
        let missing = Self.breaking(
            #", {"intent_index": 2, "status": "pass", "failure_kind": null, "evidence_turns": [3, 4], "reason": "Took the action item."}"#,
            "")
        #expect(Self.problem(missing)?.problem.contains("has no fulfilment") == true)
        #expect(Self.problem(Self.breaking(#""summary": "#, #""verdict": "x", "summary": "#))?.path == "verdict")
        #expect(
            Self.problem(
                Self.breaking(
                    #""summary": "The budget answer contradicted the notes; the action item was taken.""#, #""summary": " ""#))?
                .path == "summary")
        #expect(Self.problem("[1, 2]")?.problem.contains("did not answer with a JSON object") == true)
    }

    @Test("a JSON answer wrapped in a Markdown fence is still read")
    func fenced() throws {
        let verdict = try JudgeAnalyser(model: LocalResponder()).verdict(
            fromAnswer: "```json\n\(Self.goodAnswer)\n```", for: Self.call)
        #expect(verdict.status == .partial)
        #expect(verdict.model == "local")
    }
}
