import SpeechEngines
import Testing
import VoicePipeline

@Suite("Offline speech engines")
struct OfflineEngineTests {
    @Test("eSpeak NG's speech comes at 16 kHz with every word of the text, in order, and phonemes for the lips")
    func espeakWords() async throws {
        let text = "I do not have that in my notes for the follow-up."
        var chunks: [SpeechChunk] = []
        for try await chunk in try ESpeakSynthesizer().synthesize(text) { chunks.append(chunk) }
        let chunk = try #require(chunks.first)
        #expect(chunk.words.map(\.text) == text.split(separator: " ").map(String.init))
        #expect(zip(chunk.words, chunk.words.dropFirst()).allSatisfy { $0.sampleOffset <= $1.sampleOffset })
        #expect(chunk.words.last.map { $0.sampleOffset < chunk.samples.count } == true)
        // About 2.5 s of speech at 16 kHz, not eSpeak's own 22 050 Hz.
        #expect((24_000...64_000).contains(chunk.samples.count))
        #expect(chunk.phonemes.count > 20)
    }

    @Test("PocketSphinx hears eSpeak NG's speech exactly when it knows the phrases")
    func pocketSphinxPhrases() async throws {
        var configuration = PocketSphinxRecognizer.Configuration()
        configuration.phrases = ["what is on the agenda today", "how is the budget looking"]
        let stream = try await PocketSphinxRecognizer(configuration: configuration).openStream()
        var samples: [Int16] = []
        for try await chunk in try ESpeakSynthesizer().synthesize("How is the budget looking?") { samples += chunk.samples }
        let frames = PCM.frames(samples) + Array(repeating: AudioFrame.silence, count: 75)
        let collecting = Task {
            var events: [TranscriptEvent] = []
            for try await event in stream.events { events.append(event) }
            return events
        }
        for frame in frames { try await stream.send(frame) }
        await stream.close()
        let events = try await collecting.value
        #expect(events.first == .speechStarted)
        #expect(events.contains(.final("how is the budget looking", endOfSpeech: true)))
        #expect(events.last == .utteranceEnd)
    }

    @Test("a phrase with a word PocketSphinx's dictionary lacks is refused at once, naming the word")
    func unknownWord() async throws {
        var configuration = PocketSphinxRecognizer.Configuration()
        configuration.phrases = ["schedule the zzyzxq review"]
        await #expect { try await PocketSphinxRecognizer(configuration: configuration).openStream() } throws: { error in
            "\(error)".contains("zzyzxq")
        }
    }
}
