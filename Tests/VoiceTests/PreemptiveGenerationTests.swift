import Foundation
import LanguageModel
import Synchronization
import TestSupport
import Testing
import VoicePipeline

/// Preemptive generation and the first clause: the model starts on the participant's words at
/// their pause, before the end of the turn is confirmed; nothing of that draft is said or kept
/// unless the turn ends on exactly those words; and the first clause of a reply, when it is
/// long enough, goes to speech alone.
@Suite("Preemptive generation and the first clause", .serialized)
struct PreemptiveGenerationTests {
    /// A participant's voice, loud enough for the pipeline to hear (-21 dBFS).
    static let voiced = AudioFrame(Array(repeating: 3000, count: PCM.samplesPerFrame))

    /// A model that answers at once, naming the words it was asked about, and keeps its requests.
    final class NamingModel: ChatModel {
        let requests = Mutex<[ChatRequest]>([])
        let answered = Counter()
        var name: String { "naming" }

        static func answer(to words: String) -> String { "You asked about \(words). That is all I know." }

        func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
            requests.withLock { $0.append(request) }
            let asked = request.messages.last?.content ?? ""
            let answered = answered
            return AsyncThrowingStream { continuation in
                continuation.yield(Self.answer(to: asked))
                continuation.finish()
                answered.increment()
            }
        }

        var askedAbout: [String] { requests.withLock { $0.map { $0.messages.last?.content ?? "" } } }
    }

    /// The texts a speech engine was given, in order, said in `ToneVoice`.
    final class RecordingVoice: TextToSpeech {
        let texts = Mutex<[String]>([])
        var name: String { "recording" }

        func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
            texts.withLock { $0.append(text) }
            return ToneVoice().synthesize(text)
        }
    }

    struct Call {
        let conversation: OfflineConversation
        let recognizer: ScriptedRecognizer
        let model: NamingModel

        var pipeline: VoicePipeline { conversation.pipeline }

        func speak(frames count: Int) async {
            for _ in 0..<count { await pipeline.receive(PreemptiveGenerationTests.voiced) }
        }

        /// Silence in real time until `condition` holds: the pause is measured on the clock.
        func pause(until what: String, _ condition: @escaping @Sendable () async -> Bool) async throws {
            try await within(what) {
                while await !condition() { await conversation.participant.listen(for: .milliseconds(20)) }
            }
        }
    }

    static func withCall(textToSpeech: any TextToSpeech = ToneVoice(), _ body: (Call) async throws -> Void) async throws {
        let recognizer = ScriptedRecognizer()
        let model = NamingModel()
        try await withConversation(
            try await OfflineConversation(speechToText: recognizer, chatModel: model, textToSpeech: textToSpeech)
        ) { conversation in
            try await body(Call(conversation: conversation, recognizer: recognizer, model: model))
        }
    }

    @Test("a draft started at a pause is thrown away when the speaker goes on: none of its words reach the meeting or history")
    func draftThrownAwayWhenSpeakerGoesOn() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 10)
            call.recognizer.hear(.interim("what is on the agenda"))
            try await call.pause(until: "the draft answered") { call.model.answered.value == 1 }
            #expect(await call.pipeline.drafts == DraftCounts(started: 1, used: 0, wasted: 0))
            #expect(call.model.askedAbout == ["what is on the agenda"], "the model was asked at the pause")
            #expect(call.conversation.sink.audioFrames.isEmpty, "a draft is held, not said, before the turn is confirmed")

            // The speaker goes on: the draft was not about the whole turn.
            await call.speak(frames: 10)
            #expect(await call.pipeline.drafts.wasted == 1)
            call.recognizer.hear(.final("what is on the agenda for the budget review", endOfSpeech: true))
            try await call.pause(until: "the reply said") { !call.conversation.log.said.isEmpty }

            let turn = "what is on the agenda for the budget review"
            #expect(call.conversation.log.heard == [turn])
            let said = call.conversation.log.said.map(\.text)
            #expect(said == [NamingModel.answer(to: turn)], "the reply answers the whole turn")
            #expect(!said.joined().contains(NamingModel.answer(to: "what is on the agenda")))
            let history = await call.pipeline.history
            #expect(history == [ChatMessage(.user, turn), ChatMessage(.assistant, NamingModel.answer(to: turn))])
            let drafts = await call.pipeline.drafts
            #expect(drafts.wasted == 1 && drafts.started == drafts.used + drafts.wasted)
        }
    }

    @Test("a confirmed turn's reply starts from the draft made at the pause: the model is asked once, before the turn ends")
    func confirmedTurnUsesDraft() async throws {
        try await Self.withCall { call in
            let turn = "how is the budget looking"
            await call.speak(frames: 10)
            call.recognizer.hear(.interim(turn))
            try await call.pause(until: "the draft answered") { call.model.answered.value == 1 }
            #expect(call.conversation.log.said.isEmpty && call.conversation.sink.audioFrames.isEmpty)
            #expect(await call.pipeline.history.isEmpty, "history gets nothing before the turn is confirmed")

            // The recogniser's final, capitalised and punctuated, has the same words.
            call.recognizer.hear(.final("How is the budget looking?", endOfSpeech: true))
            try await call.pause(until: "the reply said") { !call.conversation.log.said.isEmpty }

            #expect(call.model.askedAbout == [turn], "the draft was the reply: no second request")
            #expect(await call.pipeline.drafts == DraftCounts(started: 1, used: 1, wasted: 0))
            let said = try #require(call.conversation.log.said.first)
            #expect(said.text == NamingModel.answer(to: turn))
            let latency = try #require(said.latency)
            let (asked, confirmed) = (try #require(latency.llmStart), try #require(latency.sttFinal))
            #expect(asked < confirmed, "the model was asked before the end of the turn was confirmed")
            let history = await call.pipeline.history
            #expect(history == [ChatMessage(.user, "How is the budget looking?"), ChatMessage(.assistant, said.text)])
        }
    }

    @Test("a draft on words the recogniser's final revises is thrown away, and the reply answers the final words")
    func revisedWordsDiscardDraft() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 10)
            call.recognizer.hear(.interim("how is the budget cooking"))
            try await call.pause(until: "the draft answered") { call.model.answered.value == 1 }
            call.recognizer.hear(.final("how is the budget looking", endOfSpeech: true))
            try await call.pause(until: "the reply said") { !call.conversation.log.said.isEmpty }

            #expect(call.model.askedAbout.last == "how is the budget looking")
            #expect(call.conversation.log.said.map(\.text) == [NamingModel.answer(to: "how is the budget looking")])
            #expect(await call.pipeline.drafts.wasted >= 1)
        }
    }

    @Test("the first clause of a reply goes to speech alone when it has five words or more")
    func longFirstClauseSpokenAlone() async throws {
        let voice = RecordingVoice()
        try await Self.withCall(textToSpeech: voice) { call in
            call.recognizer.hear(.final("how is the budget looking", endOfSpeech: true))
            try await eventually("the reply said") { !call.conversation.log.said.isEmpty }
            let answer = NamingModel.answer(to: "how is the budget looking")
            #expect(call.conversation.log.said.first?.text == answer)
        }
        // "You asked about how is the budget looking." has no clause: it goes whole.
        #expect(voice.texts.withLock { $0 } == ["You asked about how is the budget looking.", "That is all I know."])

        var aggregator = SentenceAggregator(firstClauseMinimumWords: TurnPolicy().firstClauseMinimumWords)
        var pieces: [String] = []
        let answer = "Vendor costs are the main risk, and the launch date is another. Watch both, closely."
        for token in answer.split(separator: " ", omittingEmptySubsequences: false).map({ " " + $0 }) {
            pieces += aggregator.add(String(token))
        }
        pieces += aggregator.flush().map { [$0] } ?? []
        #expect(
            pieces == ["Vendor costs are the main risk,", "and the launch date is another.", "Watch both, closely."],
            "only the first sentence is cut, at its clause")
    }

    @Test("a short first clause, a comma in a number or a hyphen does not cut the first sentence")
    func shortClauseWaitsForSentence() {
        func pieces(_ text: String) -> [String] {
            var aggregator = SentenceAggregator(firstClauseMinimumWords: 5)
            return aggregator.add(text + " ") + (aggregator.flush().map { [$0] } ?? [])
        }
        #expect(pieces("Yes, the budget is four percent under plan.") == ["Yes, the budget is four percent under plan."])
        #expect(
            pieces("We spent 1,000 dollars on the follow-up review in March.")
                == ["We spent 1,000 dollars on the follow-up review in March."])
        #expect(
            pieces("The budget review is done - the hiring plan is next.")
                == ["The budget review is done -", "the hiring plan is next."])
        var whole = SentenceAggregator()
        #expect(
            whole.add("Vendor costs are the main risk, and the launch date is another. ") == [
                "Vendor costs are the main risk, and the launch date is another."
            ])
    }

    @Test("the pipeline hands a long first clause to speech before the rest of its sentence")
    func pipelineSpeaksFirstClause() async throws {
        let voice = RecordingVoice()
        let answer = "Vendor costs are the main risk this quarter, and the launch date is the other one."
        let recognizer = ScriptedRecognizer()
        try await withConversation(
            try await OfflineConversation(speechToText: recognizer, chatModel: FixedAnswer(text: answer), textToSpeech: voice)
        ) { conversation in
            recognizer.hear(.final("what are the risks", endOfSpeech: true))
            try await eventually("the reply said") { !conversation.log.said.isEmpty }
            #expect(conversation.log.said.first?.text == answer, "every word said, in order")
        }
        #expect(
            voice.texts.withLock { $0 } == [
                "Vendor costs are the main risk this quarter,", "and the launch date is the other one.",
            ])
    }
}
