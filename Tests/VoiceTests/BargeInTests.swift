import Foundation
import LanguageModel
import SpeechEngines
import TestSupport
import Testing
import VoicePipeline

/// Speech over the agent, frame by frame, with a recogniser whose words the test decides: the
/// agent is lowered while it listens, keeps talking under an acknowledgement, and is cut by
/// words that take the floor or by speech that goes on too long without words.
@Suite("Speech over the agent", .serialized)
struct BargeInTests {
    static let answer =
        "Spending is four percent under plan this quarter, and the hiring plan is on track. Vendor costs are the "
        + "main risk to watch. The launch date is the other one, and we will know more about it next week."
    /// A participant's voice, loud enough for the pipeline to hear (-21 dBFS).
    static let voiced = AudioFrame(Array(repeating: 3000, count: PCM.samplesPerFrame))

    typealias Level = ToneVoice.Level

    /// One call, its answer under way in `ToneVoice`: the test speaks over it with `voiced`
    /// frames and decides what the recogniser makes of them.
    struct Call {
        let conversation: OfflineConversation
        let recognizer: ScriptedRecognizer
        let logs: CapturedLogs

        var levels: [Level] { conversation.sink.audioFrames.map(ToneVoice.level) }

        func count(_ level: Level) -> Int { levels.filter { $0 == level }.count }

        func speak(frames count: Int, _ frame: AudioFrame = BargeInTests.voiced) async {
            for _ in 0..<count { await conversation.pipeline.receive(frame) }
        }

        /// Waits until the agent has sent `more` lowered frames than it had.
        func loweredFramesFlow(_ more: Int = 5) async throws {
            let before = count(.lowered)
            try await eventually("the agent's answer flowing, lowered") { count(.lowered) >= before + more }
        }

    }

    static func withCall(_ body: (Call) async throws -> Void) async throws {
        let recognizer = ScriptedRecognizer()
        let logs = CapturedLogs()
        try await withConversation(
            try await OfflineConversation(
                speechToText: recognizer, chatModel: FixedAnswer(text: answer), textToSpeech: ToneVoice(), logger: logs.logger)
        ) { conversation in
            let call = Call(conversation: conversation, recognizer: recognizer, logs: logs)
            recognizer.hear(.final("how is the budget looking", endOfSpeech: true))
            try await eventually("the answer heard") { call.count(.full) >= 10 }
            try await body(call)
        }
    }

    @Test("a drawn-out acknowledgement lowers the agent and then restores it: its answer flows on, never cut, to the end")
    func acknowledgementDucks() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 5)
            try await call.loweredFramesFlow()
            call.recognizer.hear(.interim("mm"))
            try await eventually("the words judged") { call.logs.all.contains("acknowledgement") }
            // "Mmmm-hmm", drawn out past the limit on speech without words: words came, and
            // they are an acknowledgement, so no length makes it an interruption.
            await call.speak(frames: 100)
            try await call.loweredFramesFlow()
            call.recognizer.hear(.final("mm hmm", endOfSpeech: true))
            await call.speak(frames: 15, .silence)
            try await eventually("the answer said") { !call.conversation.log.said.isEmpty }

            let said = try #require(call.conversation.log.said.first)
            #expect(!said.interrupted)
            #expect(said.text == Self.answer, "every word of the answer was said")
            #expect(call.conversation.sink.clearTimes.isEmpty)
            let levels = call.levels
            #expect(
                levels.count == Self.answer.split(separator: " ").count * ToneVoice.framesPerWord,
                "no frame of the answer was dropped or held back")
            let firstLowered = try #require(levels.firstIndex(of: .lowered))
            let lastLowered = try #require(levels.lastIndex(of: .lowered))
            #expect(levels[..<firstLowered].allSatisfy { $0 != .lowered })
            #expect(levels[lastLowered...].contains(.full), "full voice again once the acknowledgement ended")
            #expect(!levels[firstLowered...lastLowered].contains(.full), "lowered throughout the acknowledgement")
            #expect(call.conversation.log.heard == ["how is the budget looking"], "an acknowledgement is not a turn")
        }
    }

    @Test("a recogniser's changing first guesses at an acknowledgement do not cut the agent; its final word decides")
    func revisedGuessesDoNotCut() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 5)
            try await call.loweredFramesFlow()
            // What PocketSphinx, held to a phrase list, made of an eSpeak NG "mm-hm" as it went.
            for guess in ["uh", "when", "how many", "when does"] { call.recognizer.hear(.interim(guess)) }
            call.recognizer.hear(.final("uh huh", endOfSpeech: true))
            await call.speak(frames: 15, .silence)
            try await eventually("the answer said") { !call.conversation.log.said.isEmpty }
            #expect(call.conversation.log.said.first?.interrupted == false)
            #expect(call.conversation.sink.clearTimes.isEmpty)
            #expect(call.conversation.log.heard == ["how is the budget looking"])
        }
    }

    @Test(
        "words a recogniser hears in a sound with no voice in it (a cough heard as \"stop\") neither cut the agent nor make a turn"
    )
    func wordsInNoiseDoNotCount() async throws {
        var random = SystemRandomNumberGenerator()
        let cough = (0..<15).map { _ in
            AudioFrame((0..<PCM.samplesPerFrame).map { _ in Int16.random(in: -9000...9000, using: &random) })
        }
        try await Self.withCall { call in
            for frame in cough { await call.conversation.pipeline.receive(frame) }
            try await call.loweredFramesFlow()
            call.recognizer.hear(.final("stop", endOfSpeech: true))
            // The silence that ends the sound must come after its words, as it does in a call:
            // words judged after the sound had ended would be a turn of their own.
            try await eventually("the words judged") { call.logs.all.contains("no voice in it; ignored") }
            await call.speak(frames: Int(TurnPolicy().verdictWait / PCM.frameDuration), .silence)
            try await eventually("the answer said") { !call.conversation.log.said.isEmpty }
            #expect(call.conversation.log.said.first?.interrupted == false)
            #expect(call.conversation.sink.clearTimes.isEmpty)
            #expect(call.conversation.log.heard == ["how is the budget looking"])
        }
    }

    @Test("a word that takes the floor cuts the lowered agent at once; history keeps the words said at full voice")
    func floorTakingWordCuts() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 5)
            try await call.loweredFramesFlow()
            // The recogniser's guess holds over two interim results: no revision to come.
            call.recognizer.hear(.interim("wait"))
            call.recognizer.hear(.interim("wait a"))
            try await eventually("the agent cut") { !call.conversation.log.said.isEmpty }

            let said = try #require(call.conversation.log.said.first)
            #expect(said.interrupted)
            let sent = call.conversation.sink.sent.withLock { $0.map(\.media) }
            let clear = try #require(sent.firstIndex(of: .clear), "the far end is told to drop what it buffered")
            #expect(!sent[clear...].contains { if case .audio = $0 { true } else { false } }, "no sound after the cut")
            // The room heard the words begun before the agent was lowered, not those said under
            // the participant.
            let lowered = try #require(call.levels.firstIndex { $0 == .between || $0 == .lowered })
            #expect(said.text == ToneVoice.heard(Self.answer, loweredFrom: lowered))
            let history = await call.conversation.pipeline.history
            #expect(history.last == ChatMessage(.assistant, said.text))
        }
    }

    @Test("speech over the agent that brings no words is waited for, and cuts the agent once it goes past the limit")
    func wordlessSpeechCutsPastTheLimit() async throws {
        let limit = TurnPolicy().wordlessInterruption
        let framesToLimit = Int(limit / PCM.frameDuration)
        try await Self.withCall { call in
            await call.speak(frames: framesToLimit - 1)
            try await call.loweredFramesFlow()
            #expect(call.conversation.sink.clearTimes.isEmpty, "not cut on length alone before the limit")
            #expect(call.conversation.log.said.isEmpty)
            await call.speak(frames: 1)
            try await eventually("the agent cut") { !call.conversation.log.said.isEmpty }
            #expect(call.conversation.log.said.first?.interrupted == true)
            #expect(call.conversation.sink.clearTimes.count == 1)
        }
    }

    @Test("a cough over the agent lowers it, and once no words follow it is back at full voice, its answer never stopped")
    func coughDucksAndRestores() async throws {
        try await Self.withCall { call in
            await call.speak(frames: 4)
            try await call.loweredFramesFlow()
            let quiet = Int(TurnPolicy().verdictWait / PCM.frameDuration)
            await call.speak(frames: quiet, .silence)
            let fullBefore = call.count(.full)
            try await eventually("full voice again") { call.count(.full) >= fullBefore + 5 }
            try await eventually("the answer said") { !call.conversation.log.said.isEmpty }
            #expect(call.conversation.log.said.first?.interrupted == false)
            #expect(call.conversation.sink.clearTimes.isEmpty)
            #expect(
                call.levels.count == Self.answer.split(separator: " ").count * ToneVoice.framesPerWord,
                "no frame of the answer was dropped or held back")
        }
    }
}
