import CallAnalysis
import Foundation
import LanguageModel
import Shared
import TestSupport
import Testing

@Suite("Diagnosis")
struct DiagnosisTests {
    static let diagnostician = Diagnostician()

    static func diagnose(_ call: CallCompleted) -> (SessionVerdict, Diagnosis) {
        let verdict = EmbeddedAnalyser().verdict(for: call)
        return (verdict, diagnostician.diagnose(call, verdict: verdict))
    }

    static func cause(_ diagnosis: Diagnosis, _ kind: RootCauseKind) throws -> RootCause {
        try #require(diagnosis.rootCauses.first { $0.kind == kind }, "no \(kind) in \(diagnosis.kinds)")
    }

    @Test("a contradicted fact comes first, with the verdict's reason as evidence")
    func wrongFact() throws {
        let (_, diagnosis) = Self.diagnose(
            Calls.call(
                [Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent", "It's 1.5 million."]],
                context: Calls.budgetContext))
        #expect(diagnosis.kinds.first == .contradictedContext)
        let cause = try Self.cause(diagnosis, .contradictedContext)
        #expect(cause.turns == [1, 2])
        #expect(cause.evidence.first?.contains("1.5 million") == true)
        #expect(diagnosis.summary.hasPrefix("the answer contradicted the prep notes"))
    }

    @Test("slow replies are measured against the 800 ms budget and name their slowest stage; the budget is a setting")
    func slowReply() throws {
        let slow = TurnLatency(
            sttFinal: 150, llmFirstToken: 1_250, firstSentence: 1_300, ttsFirstAudio: 1_380, firstAudioOut: 1_420)
        let quick = TurnLatency(sttFinal: 120, llmFirstToken: 350, firstSentence: 420, ttsFirstAudio: 500, firstAudioOut: 560)
        let call = Calls.call(
            [
                Calls.greeting, ["Ada Lovelace", "What's on the agenda?"], ["agent", "Budget, then hiring."],
                ["Alan Turing", "What's the Q3 budget?"], ["agent", "It's 2 million."],
            ], context: Calls.budgetContext, latency: [2: quick, 4: slow])
        let (verdict, diagnosis) = Self.diagnose(call)
        let cause = try Self.cause(diagnosis, .slowReply)
        #expect(cause.turns == [4])
        #expect(cause.evidence == ["turn 4: 1420 ms voice to voice, most of it the model's first token (1100 ms)"])
        #expect(cause.summary.contains("800 ms"))
        let lenient = Diagnostician(latencyBudget: LatencyBudget(voiceToVoiceMs: 1_500)).diagnose(call, verdict: verdict)
        #expect(!lenient.kinds.contains(.slowReply))
    }

    @Test("an interruption says what the agent got out and what the participant said over it")
    func interruption() throws {
        let (verdict, diagnosis) = Self.diagnose(
            Calls.call(
                [
                    Calls.greeting, ["Ada Lovelace", "What's the agenda?"], ["agent~", "Sure, so today"],
                    ["Alan Turing", "Sorry, go ahead."],
                ],
                context: Calls.budgetContext))
        #expect(verdict.fulfilments.first?.failureKind == .cutOff)
        let cause = try Self.cause(diagnosis, .interruptedReply)
        #expect(cause.evidence == ["turn 2: cut off after “Sure, so today” by Alan Turing, who said “Sorry, go ahead.”"])
    }

    @Test("empty, too short and garbled recognition are named, and ordinary short words are not")
    func recognition() throws {
        let (_, diagnosis) = Self.diagnose(
            Calls.call(
                [
                    Calls.greeting, ["Ada Lovelace", ""], ["Alan Turing", "xq"], ["Ada Lovelace", "brrt zzkt the mmm"],
                    ["Alan Turing", "ok"], ["Ada Lovelace", "What's the budget?"], ["agent", "I don't know."],
                ], context: Calls.budgetContext))
        let cause = try Self.cause(diagnosis, .poorRecognition)
        #expect(cause.turns == [1, 2, 3])
        #expect(cause.evidence[0].contains("came through empty"))
        #expect(cause.evidence[1].contains("too short to be words"))
        #expect(cause.evidence[2].contains("garbled"))
    }

    @Test("the machinery's problems each become a cause with their time, unknown kinds included")
    func problems() throws {
        let call = Calls.call(
            [Calls.greeting, ["Ada Lovelace", "What's the budget?"], ["Alan Turing", "Hello?"]], context: Calls.budgetContext,
            problems: [
                Calls.problem(.engineFallback, after: 1, "deepgram unavailable; pocketsphinx took over"),
                Calls.problem(.modelTimeout, after: 12.5, "no first token within 10 s"),
                Calls.problem(.modelError, after: 20, "HTTP 500 from the model"),
                Calls.problem(.speechError, after: 21, "elevenlabs 503"),
                Calls.problem(.recognitionError, after: 22, "deepgram dropped"),
                Calls.problem(.mediaDisconnected, after: 30, "websocket closed"),
                Calls.problem(CallProblem.Kind(rawValue: "camera_frozen"), after: 31, "no frames for 5 s"),
            ])
        let (verdict, diagnosis) = Self.diagnose(call)
        #expect(verdict.fulfilments.first?.failureKind == .noReply)
        #expect(diagnosis.kinds.first == .noReply)
        for kind: RootCauseKind in [
            .engineFallback, .modelTimeout, .modelError, .speechError, .recognitionError, .mediaDisconnected, .otherProblem,
        ] {
            #expect(diagnosis.kinds.contains(kind))
        }
        #expect(try Self.cause(diagnosis, .modelTimeout).evidence == ["at +12.5 s: no first token within 10 s"])
        #expect(try Self.cause(diagnosis, .otherProblem).evidence == ["camera_frozen at +31.0 s: no frames for 5 s"])
        #expect(!diagnosis.summary.contains("\n"))
        #expect(diagnosis.summary.contains("and 4 more"))
    }

    @Test("a failed answer the context could not have given points at the missing prep material")
    func missingContext() throws {
        let bare = ["Meeting: Weekly sync", "Time: 2026-12-01T10:00:00Z", "Participants: Ravi Patel, Lena Fischer"]
        let (_, diagnosis) = Self.diagnose(
            Calls.call(
                [Calls.greeting, ["Ravi Patel", "What's on the agenda?"], ["agent", "We'll talk about the weather."]],
                context: bare))
        #expect(diagnosis.kinds.first == .offTopicReply)
        let cause = try Self.cause(diagnosis, .missingContext)
        #expect(
            cause.evidence == [
                "no agenda or prep notes reached the agent (3 context lines, none from preparation); ask_agenda needed them"
            ])

        let (_, partial) = Self.diagnose(
            Calls.call(
                [Calls.greeting, ["Ada Lovelace", "Any incidents this week?"], ["agent", "I don't have incident notes."]],
                context: Calls.budgetContext))
        #expect(partial.kinds.first == .missingContext)
    }

    @Test("a call whose agent never greeted: from the problem, from a first turn that is no greeting, from silence")
    func greeting() throws {
        let failed = Calls.call(
            [["Ada Lovelace", "Hello? What's the agenda?"], ["agent", "Budget, then hiring."]], context: Calls.budgetContext,
            problems: [Calls.problem(.greetingFailed, after: 2, "speech synthesis failed for the greeting")])
        #expect(Self.diagnose(failed).1.kinds.contains(.greetingFailed))
        let answeredFirst = Calls.call(
            [["Ada Lovelace", "What's the agenda?"], ["agent", "Budget, then hiring."]], context: Calls.budgetContext)
        #expect(try Self.cause(Self.diagnose(answeredFirst).1, .greetingFailed).evidence.first?.contains("no greeting") == true)
        let silent = Calls.call(
            [["Ada Lovelace", "Hello?"], ["Alan Turing", "Is the bot here?"]], context: Calls.budgetContext)
        #expect(try Self.cause(Self.diagnose(silent).1, .greetingFailed).evidence == ["the agent never spoke in 2 turns"])
        let greeted = Calls.call([Calls.greeting, ["Ada Lovelace", "Hi!"]], context: Calls.budgetContext)
        #expect(!Self.diagnose(greeted).1.kinds.contains(.greetingFailed))
    }

    @Test("a call with nothing wrong in it says so; root-cause labels are unique snake_case words")
    func nothingFound() {
        let (_, diagnosis) = Self.diagnose(
            Calls.call(
                [Calls.greeting, ["Ada Lovelace", "What's the agenda?"], ["agent", "Budget, then hiring."]],
                context: Calls.budgetContext))
        #expect(diagnosis.rootCauses.isEmpty)
        #expect(diagnosis.summary == "no root cause found in the call's evidence")
        let labels = RootCauseKind.allCases.map(\.rawValue)
        #expect(Set(labels).count == labels.count)
        #expect(labels.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }

    @Test("the same call and verdict give the same diagnosis, and its JSON has snake_case keys")
    func deterministic() throws {
        let call = Calls.call(
            [Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent~", "It's 3"], ["Ada Lovelace", "What?"]],
            context: Calls.budgetContext)
        let (verdict, diagnosis) = Self.diagnose(call)
        #expect(Self.diagnostician.diagnose(call, verdict: verdict) == diagnosis)
        let json = String(decoding: try JSONEncoder().encode(diagnosis), as: UTF8.self)
        #expect(json.contains("\"root_causes\""))
        #expect(try JSONDecoder().decode(Diagnosis.self, from: Data(json.utf8)) == diagnosis)
    }

    @Test("a writer adds a model's short account, and its failures are thrown, not swallowed")
    func writer() async throws {
        let fake = try await FakeChatCompletions(tokens: [])
        defer { fake.stop() }
        let writer = DiagnosisWriter(
            model: OpenAIChatModel(
                configuration: .init(baseURL: fake.baseURL, apiKey: fake.apiKey, model: "gpt-4o-mini"), logger: TestStack.logger))
        let call = Calls.call(
            [Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent", "It's 1.5 million."]],
            context: Calls.budgetContext)
        let (verdict, diagnosis) = Self.diagnose(call)

        fake.answerNext("The agent gave 1.5 million for the Q3 budget where its notes said 1.2 million.\n\nA second paragraph.")
        let written = try await writer.write(diagnosis, call: call, verdict: verdict)
        #expect(written.writtenSummary == "The agent gave 1.5 million for the Q3 budget where its notes said 1.2 million.")
        #expect(written.writer == "openai:gpt-4o-mini")
        #expect(written.rootCauses == diagnosis.rootCauses)
        let asked = try #require(fake.requests.first?.messages?.last?.content)
        #expect(asked.contains("contradicted_context"))
        #expect(asked.contains("[2] agent Attaché: It's 1.5 million."))

        fake.failNext(.serverError)
        await #expect {
            try await writer.write(diagnosis, call: call, verdict: verdict)
        } throws: { error in
            if case .modelFailed? = error as? CallAnalysisError { return true }
            return false
        }

        fake.answerNext("")
        await #expect {
            try await writer.write(diagnosis, call: call, verdict: verdict)
        } throws: { error in
            (error as? CallAnalysisError) == .answerEmpty(model: "openai:gpt-4o-mini")
        }
    }
}
