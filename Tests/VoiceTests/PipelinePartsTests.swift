import Foundation
import TestSupport
import Testing
import VoicePipeline

@Suite("Voice pipeline parts")
struct PipelinePartsTests {
    @Test("sentences leave the aggregator as soon as they end, not at abbreviations or decimals")
    func sentenceAggregation() {
        var aggregator = SentenceAggregator()
        var sentences: [String] = []
        for delta in ["Hello", " there.", " Dr. Smith", " spent 3.5", " million! Is", " that", " right?", " Yes"] {
            sentences += aggregator.add(delta)
        }
        #expect(sentences == ["Hello there.", "Dr. Smith spent 3.5 million!", "Is that right?"])
        #expect(aggregator.flush() == "Yes")
        #expect(aggregator.flush() == nil)
    }

    @Test("a sentence ending a delta leaves at once, unless its full stop may be a decimal point")
    func sentenceLeavesWithoutWaiting() {
        var aggregator = SentenceAggregator()
        #expect(aggregator.add("We are on track.") == ["We are on track."])
        #expect(aggregator.add(" It grew 3.") == [])
        #expect(aggregator.add("5 percent.") == ["It grew 3.5 percent."])
    }

    @Test("a turn ending on a conjunction or an article sounds unfinished")
    func turnPolicy() {
        let policy = TurnPolicy()
        #expect(!policy.soundsComplete("i think we should"))
        #expect(!policy.soundsComplete("the budget and"))
        #expect(policy.soundsComplete("review the budget first"))
        #expect(!policy.soundsComplete("i think we should yeah"), "another participant's acknowledgement in the pause")
        #expect(policy.soundsComplete("yeah"), "an acknowledgement alone is a turn: an answer to the agent")
    }

    @Test(
        "speech over the agent is judged by its words: acknowledgements of any length never take the floor",
        arguments: [
            "mm-hm", "uh-huh", "yeah", "right", "okay", "sure", "I see", "yeah, right", "mm hmm", "mmmmm-hmmm", "yeahhh",
            "okaaay", "riiight", "uh huh yeah yeah sure okay right", "got it", "all right",
        ])
    func acknowledgements(words: String) {
        #expect(TurnPolicy().bargeIn(words) == .acknowledgement)
        #expect(TurnPolicy().isBackchannel(words))
    }

    @Test(
        "words that take the floor cut the agent at once: an objection, a question, a correction",
        arguments: [
            "wait", "no", "stop", "hold on", "yeah but", "what about the launch", "why", "the launch is in march",
            "sorry", "actually", "mm-hm wait", "i think we",
        ])
    func floorTaking(words: String) {
        #expect(TurnPolicy().bargeIn(words) == .takesFloor)
    }

    @Test("too few words to tell are waited for: no words, or a start that could go either way")
    func undecided() {
        let policy = TurnPolicy()
        #expect(policy.bargeIn("") == .undecided)
        #expect(policy.bargeIn("i think") == .undecided)
        #expect(policy.bargeIn("march") == .undecided)
        #expect(policy.bargeIn("i think we") == .takesFloor, "more words settle it")
    }

    @Test("voice activity starts on the first loud frame and ends after the release time")
    func voiceActivity() {
        var detector = VoiceActivityDetector(thresholdDBFS: -45, release: .milliseconds(200))
        let loud = AudioFrame(Array(repeating: 3000, count: PCM.samplesPerFrame))
        #expect(detector.process(.silence) == nil)
        #expect(detector.process(loud) == .started)
        #expect(detector.process(loud) == nil)
        for _ in 0..<9 { #expect(detector.process(.silence) == nil) }
        #expect(detector.process(.silence) == .stopped(voiced: .milliseconds(40)))
    }

    @Test("resampling 22 050 Hz to 16 kHz keeps the duration, across chunk boundaries")
    func resampling() {
        var resampler = Resampler(from: 22_050, to: 16_000)
        let second = (0..<22_050).map { Int16(10_000 * sin(Double($0) * 2 * .pi * 440 / 22_050)) }
        var output: [Int16] = []
        for start in stride(from: 0, to: second.count, by: 1000) {
            output += resampler.process(Array(second[start..<min(start + 1000, second.count)]))
        }
        #expect(abs(output.count - 16_000) <= 2)
        // Still a 440 Hz tone: about 880 zero crossings a second.
        let crossings = zip(output, output.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 880) <= 4)
    }

    @Test("a full channel holds its sender until the consumer takes an element")
    func boundedChannelBackpressure() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let sent = Counter()
        let producer = Task {
            for value in 0..<5 {
                await channel.send(value)
                sent.increment()
            }
            channel.finish()
        }
        try await eventually("the channel full") { sent.value >= 2 }
        // Held, not slow: however long the producer is given, it gets no further until an
        // element is taken (a slow machine can only hide a leak, never fail a correct channel).
        for _ in 0..<10 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(sent.value == 2)
        var received: [Int] = []
        var elements = channel.makeAsyncIterator()
        received.append(try #require(await elements.next()))
        try await eventually("the sender let go") { sent.value >= 3 }
        while let value = await elements.next() { received.append(value) }
        await producer.value
        #expect(received == [0, 1, 2, 3, 4])
    }

    @Test("phonemes become mouth shapes, with repeated shapes merged")
    func visemes() {
        let chunk = SpeechChunk(
            samples: [], words: [],
            phonemes: [("h", 0), ("@", 800), ("l", 1600), ("oU", 2400), ("_", 4000), ("m", 4800), ("b", 5600)]
                .map { SpokenPhoneme(symbol: $0.0, sampleOffset: $0.1) })
        #expect(Visemes.cues(for: chunk).map(\.viseme) == ["kk", "E", "nn", "O", "sil", "PP"])
        #expect(Visemes.cues(for: chunk).last?.offsetMilliseconds == 300)
    }
}
