import Foundation
import Synchronization
import TestSupport
import Testing
import VoicePipeline

@testable import SpeechEngines

@Suite("ElevenLabs synthesizer, against a local fake of ElevenLabs stream-input")
struct ElevenLabsSynthesizerTests {
    static let sentence = "Good morning everyone, shall we look at the budget first?"

    static func synthesizer(_ fake: FakeElevenLabs, key: String? = nil, logs: CapturedLogs? = nil) -> ElevenLabsSynthesizer {
        var configuration = ElevenLabsSynthesizer.Configuration(apiKey: key ?? fake.configuration.apiKey, voiceID: "voice-1")
        configuration.baseURL = fake.baseURL
        return ElevenLabsSynthesizer(configuration: configuration, logger: logs?.logger ?? TestStack.logger)
    }

    static func chunks(of text: String, from synthesizer: some TextToSpeech) async throws -> [(
        at: ContinuousClock.Instant, chunk: SpeechChunk
    )] {
        var chunks: [(ContinuousClock.Instant, SpeechChunk)] = []
        for try await chunk in synthesizer.synthesize(text) { chunks.append((.now, chunk)) }
        return chunks
    }

    /// Starts consuming `text` and returns once the first chunk is in (or the synthesis ended).
    static func startConsuming(_ text: String, from synthesizer: some TextToSpeech) async throws -> Task<Void, any Error> {
        let (firstChunk, gotFirst) = AsyncStream<Void>.makeStream()
        let consumer = Task {
            defer { gotFirst.finish() }
            for try await _ in synthesizer.synthesize(text) { gotFirst.yield() }
        }
        do {
            try await within("the first chunk") {
                var signals = firstChunk.makeAsyncIterator()
                _ = await signals.next()
            }
        } catch {
            consumer.cancel()
            throw error
        }
        return consumer
    }

    /// All the chunks of `text`, from a fake that holds back what follows the first chunk until
    /// `rest` opens, which happens once the first chunk is here: a synthesizer that passed chunks
    /// on only with more (or at the end) never gets them, and fails at the limit.
    static func chunks(of text: String, from synthesizer: some TextToSpeech, openingAfterFirst rest: Gate) async throws
        -> [SpeechChunk]
    {
        try await within("the first chunk, then the rest") {
            var chunks: [SpeechChunk] = []
            for try await chunk in synthesizer.synthesize(text) {
                #expect(rest.isOpen == !chunks.isEmpty, "a chunk arrived that the fake had not yet sent")
                chunks.append(chunk)
                rest.open()
            }
            return chunks
        }
    }

    /// The chunks' words, at offsets from the first chunk's start.
    static func wordsFromStart(of chunks: [SpeechChunk]) -> [SpokenWord] {
        var words: [SpokenWord] = []
        var chunkStart = 0
        for chunk in chunks {
            words += chunk.words.map { SpokenWord(text: $0.text, sampleOffset: chunkStart + $0.sampleOffset) }
            chunkStart += chunk.samples.count
        }
        return words
    }

    /// Where the fakes start each word of `sentence`: at its first character, 60 ms a character.
    static func expectedWords(of sentence: String) -> [SpokenWord] {
        var expected: [SpokenWord] = []
        var characterIndex = 0
        for token in sentence.split(separator: " ", omittingEmptySubsequences: false) {
            expected.append(SpokenWord(text: String(token), sampleOffset: characterIndex * 60 * 16))
            characterIndex += token.count + 1
        }
        return expected
    }

    @Test("chunks arrive as they are generated: the first before the next has been sent")
    func streaming() async throws {
        let rest = Gate()
        var configuration = FakeElevenLabs.Configuration()
        configuration.hold = .init(afterMessages: 1, gate: rest)
        let fake = await FakeElevenLabs(configuration: configuration)
        defer { fake.stop() }
        let chunks = try await Self.chunks(of: Self.sentence, from: Self.synthesizer(fake), openingAfterFirst: rest)
        let session = try #require(await fake.sessions.waitFor(1).first)
        #expect(chunks.count == session.audioMessagesSent && chunks.count > 10)
        #expect(chunks.flatMap(\.samples) == FakeElevenLabs.speech(for: Self.sentence))
        #expect(session.texts == [Self.sentence + " ", ""])
        #expect(session.query["model_id"] == "eleven_flash_v2_5" && session.voiceID == "voice-1")
        #expect(!session.closedByClientEarly && session.closeCode == nil)
    }

    @Test("a reply's sentences share one socket: each is flushed as it comes, and its audio follows the one before")
    func replyKeepsOneSocket() async throws {
        let fake = await FakeElevenLabs()
        defer { fake.stop() }
        let reply = try #require(Self.synthesizer(fake).openReply())
        let sentences = ["Spending is four percent under plan.", "Vendor costs are the main risk,", "and the launch is next."]
        let collected = Mutex<[SpeechChunk]>([])
        let reader = Task {
            for try await chunk in reply.chunks { collected.withLock { $0.append(chunk) } }
        }
        // The second sentence is written only once the first has been heard in full, as a model
        // slower than the speech would: the socket stays open in between.
        reply.say(sentences[0])
        let firstLength = FakeElevenLabs.sampleCount(for: sentences[0])
        try await eventually("the first sentence's audio") {
            collected.withLock { $0.flatMap(\.samples).count } >= firstLength
        }
        #expect(fake.sessions.summaries.isEmpty, "the socket is still open")
        reply.say(sentences[1])
        reply.say(sentences[2])
        reply.finish()
        try await reader.value

        let sessions = await fake.sessions.waitFor(1)
        #expect(sessions.count == 1, "one connection for the whole reply")
        let session = try #require(sessions.first)
        #expect(session.texts == sentences.map { $0 + " " } + [""])
        #expect(!session.closedByClientEarly && session.closeCode == nil)
        let chunks = collected.withLock { $0 }
        #expect(chunks.flatMap(\.samples) == sentences.flatMap(FakeElevenLabs.speech(for:)))
        #expect(Self.wordsFromStart(of: chunks).map(\.text) == sentences.flatMap { $0.split(separator: " ").map(String.init) })
    }

    @Test("samples decode exactly: the fake's tone, 60 ms a character")
    func samples() async throws {
        let fake = await FakeElevenLabs()
        defer { fake.stop() }
        let samples = try await Self.chunks(of: Self.sentence, from: Self.synthesizer(fake)).flatMap(\.chunk.samples)
        #expect(samples.count == Self.sentence.count * 60 * 16)
        #expect(samples == FakeElevenLabs.speech(for: Self.sentence))
    }

    @Test("words carry the sentence's text at the sample offsets of their first character")
    func words() async throws {
        let fake = await FakeElevenLabs()
        defer { fake.stop() }
        let chunks = try await Self.chunks(of: Self.sentence, from: Self.synthesizer(fake)).map(\.chunk)
        for chunk in chunks {
            #expect(chunk.words.allSatisfy { $0.sampleOffset >= 0 && $0.sampleOffset < chunk.samples.count })
        }
        let words = Self.wordsFromStart(of: chunks)
        #expect(words == Self.expectedWords(of: Self.sentence))
        #expect(zip(words, words.dropFirst()).allSatisfy { $0.sampleOffset < $1.sampleOffset })
    }

    @Test("a wrong key ends the synthesis with ElevenLabs' 1008 close and a clear error without the key")
    func wrongKey() async throws {
        let fake = await FakeElevenLabs()
        defer { fake.stop() }
        let logs = CapturedLogs()
        let secret = "xi-secret-that-must-not-leak"
        let error = await #expect(throws: ElevenLabsError.self) {
            _ = try await Self.chunks(of: "Hello.", from: Self.synthesizer(fake, key: secret, logs: logs))
        }
        let description = String(describing: try #require(error))
        #expect(description.contains("1008") && description.contains("API key"))
        #expect(!description.contains(secret))
        #expect(!logs.all.contains(secret))
        #expect(try #require(await fake.sessions.waitFor(1).first).closeCode == 1008)
    }

    @Test("cancelling the consuming task closes the socket before the audio is complete")
    func cancellation() async throws {
        // The fake sends one message and holds the rest for good: only the client can end this.
        var configuration = FakeElevenLabs.Configuration()
        configuration.hold = .init(afterMessages: 1, gate: Gate())
        let fake = await FakeElevenLabs(configuration: configuration)
        defer { fake.stop() }
        let consumer = try await Self.startConsuming(Self.sentence, from: Self.synthesizer(fake))
        consumer.cancel()
        let session = try #require(await fake.sessions.waitFor(1).first)
        #expect(session.closedByClientEarly)
        #expect(session.audioMessagesSent == 1)
    }

    @Test("a sample split across messages is put back together; a cut word is completed from the sentence")
    func assembler() {
        var assembler = ElevenLabsChunkAssembler(text: "hello world")
        let first = assembler.chunk(
            samples: [0x01, 0x00, 0x34],
            alignment: .init(chars: ["h", "e", "l", "l", "o", " ", "w", "o"], charStartTimesMs: [0, 1, 2, 3, 4, 5, 6, 7]))
        let second = assembler.chunk(
            samples: [0x12, 0xFF, 0xFF], alignment: .init(chars: ["r", "l", "d"], charStartTimesMs: [0, 1, 2]))
        #expect(first.samples == [1])
        #expect(second.samples == [0x1234, -1])
        #expect(first.words == [SpokenWord(text: "hello", sampleOffset: 0), SpokenWord(text: "world", sampleOffset: 96)])
        #expect(second.words.isEmpty)
    }
}
