import Foundation
import LanguageModel
import SpeechEngines
import TestSupport
import Testing
import VoicePipeline

/// Whole conversations on the offline engines, in real time: eSpeak NG speaks for the
/// participant, PocketSphinx hears them, the local responder answers, eSpeak NG answers aloud.
@Suite("Voice conversation", .serialized)
struct ConversationTests {
    @Test("the agent greets the room, hears a question and answers it from the meeting's context")
    func scriptedMeeting() async throws {
        let call = try await withConversation(try await OfflineConversation(greets: true)) { call in
            await call.participant.listen(for: .seconds(60)) { !call.log.said.isEmpty }
            #expect(call.log.said.first?.text == "Hi, this is Attaché joining from Attaché.")
            #expect(call.log.said.first?.interrupted == false)

            let framesBefore = call.sink.audioFrameTimes.count
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { call.log.said.count >= 2 }
            #expect(call.sink.audioFrameTimes.count > framesBefore + 100, "the answer is heard, not only written")
            return call
        }

        #expect(call.log.heard == ["what is on the agenda today"])
        let answer = try #require(call.log.said.dropFirst().first)
        #expect(answer.text.contains("budget review, then the hiring plan, then next steps."))
        #expect(!answer.interrupted)
        #expect(!call.sink.visemes.isEmpty, "the avatar's lips move with the speech")
        #expect(call.sink.reactions.contains(.thinking))
        let latency = try #require(answer.latency)
        let llmDone = try #require(latency.llmDone)
        let firstAudio = try #require(latency.firstAudioOut)
        #expect(firstAudio > 0)
        #expect(llmDone > 0)
        let history = await call.pipeline.history
        #expect(history.map(\.role) == [.assistant, .user, .assistant])
    }

    @Test("a greeting the speech engine fails on is logged and skipped, and the call goes on")
    func greetingFailure() async throws {
        let logs = CapturedLogs()
        let call = try await withConversation(
            try await OfflineConversation(
                greets: true, textToSpeech: FailingFirstSynthesis(try ESpeakSynthesizer()), logger: logs.logger)
        ) { call in
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { !call.log.said.isEmpty }
            return call
        }
        #expect(logs.all.contains("speech synthesis failed"))
        #expect(call.log.problems.map(\.kind) == [.speechError], "kept for the post-call diagnosis")
        #expect(call.log.said.map(\.text).count == 1)
        #expect(call.log.said.first?.text.contains("budget review") == true)
    }

    @Test(
        "a chat model that fails or times out leaves the question unanswered and is reported as what it was",
        arguments: [
            (ChatModelError.rejected(endpoint: "https://llm.example", status: 500, message: "overloaded"), "model_error"),
            (ChatModelError.timedOut(endpoint: "https://llm.example", after: .seconds(5)), "model_timeout"),
        ])
    func modelFailure(error: ChatModelError, kind: String) async throws {
        let call = try await withConversation(try await OfflineConversation(chatModel: FailingChatModel(error: error))) {
            call in
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { !call.log.problems.isEmpty }
            return call
        }
        #expect(call.log.heard == ["what is on the agenda today"])
        #expect(call.log.said.isEmpty, "nothing to say")
        #expect(call.log.problems.map(\.kind.rawValue) == [kind])
    }

    @Test("no answer to a pause in mid-sentence, and one answer to the finished turn")
    func midSentencePause() async throws {
        let call = try await withConversation(try await OfflineConversation()) { call in
            try await call.participant.say("I think we should")
            await call.participant.listen(for: .milliseconds(650))
            try await call.participant.say("review the budget first.")
            await call.participant.listen(for: .seconds(60)) { call.log.said.count >= 1 }
            await call.participant.listen(for: .seconds(2))
            return call
        }

        #expect(call.log.heard == ["i think we should review the budget first"])
        #expect(call.log.said.count == 1)
    }

    @Test(
        "a participant who talks over the agent cuts it: no more of the reply reaches the meeting, and history keeps only what did"
    )
    func bargeIn() async throws {
        // The agent speaks in a voice whose level is known in every frame, to tell where it was lowered.
        let call = try await withConversation(try await OfflineConversation(textToSpeech: ToneVoice())) { call in
            // Synthesised beforehand, so that the participant cuts in while the agent is speaking.
            let interruption = try await call.participant.frames(of: "Wait a moment.")
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { call.sink.audioFrameTimes.count > 60 }
            await call.participant.stream(interruption)
            await call.participant.listen(for: .seconds(60)) { call.log.heard.count >= 2 && call.log.said.count >= 2 }
            return call
        }

        let cut = try #require(call.log.said.first)
        #expect(cut.interrupted)
        let question = ChatRequest(messages: [
            ChatMessage(.system, OfflineConversation.context.systemPrompt(agentName: "Attaché", company: "Attaché")),
            ChatMessage(.user, "what is on the agenda today"),
        ])
        let fullAnswer = LocalResponder.answer(to: question)
        #expect(!cut.text.isEmpty && fullAnswer.hasPrefix(cut.text) && cut.text.count < fullAnswer.count)

        // What the meeting got, in order: the reply's sound, then `clear` (the far end drops what
        // it buffered), then no sound until the answer to the interruption begins.
        let sent = call.sink.sent.withLock { $0.map(\.media) }
        let clear = try #require(sent.firstIndex(of: .clear), "the far end is told to drop what it buffered")
        let nextReply = try #require(sent[clear...].firstIndex(of: .reaction(.thinking)), "the interruption is answered")
        let soundAfterCut = sent[clear..<nextReply].filter { if case .audio = $0 { true } else { false } }.count
        #expect(soundAfterCut == 0, "\(soundAfterCut) frames of the cut reply reached the meeting after the cut")

        // History keeps the words whose sound had begun to reach the meeting at full voice, before
        // the agent was lowered for the participant, and no others.
        let levels = sent[..<clear].compactMap { if case let .audio(frame) = $0 { ToneVoice.level(of: frame) } else { nil } }
        let lowered = try #require(levels.firstIndex { $0 == .between || $0 == .lowered }, "lowered before it was cut")
        #expect(cut.text == ToneVoice.heard(fullAnswer, loweredFrom: lowered))

        let history = await call.pipeline.history
        #expect(
            history.prefix(3) == [
                ChatMessage(.user, "what is on the agenda today"), ChatMessage(.assistant, cut.text),
                ChatMessage(.user, "wait a moment"),
            ])
    }

    @Test("a cough while the agent speaks does not interrupt it")
    func coughIsNotAnInterruption() async throws {
        let call = try await withConversation(try await OfflineConversation()) { call in
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { call.sink.audioFrameTimes.count > 60 }
            var noise = SystemRandomNumberGenerator()
            let cough = (0..<4).map { _ in
                AudioFrame((0..<PCM.samplesPerFrame).map { _ in Int16.random(in: -9000...9000, using: &noise) })
            }
            await call.participant.stream(cough)
            await call.participant.listen(for: .seconds(60)) { !call.log.said.isEmpty }
            return call
        }

        #expect(call.log.said.count == 1)
        #expect(call.log.said.first?.interrupted == false)
        #expect(call.log.heard == ["what is on the agenda today"])
    }
}
