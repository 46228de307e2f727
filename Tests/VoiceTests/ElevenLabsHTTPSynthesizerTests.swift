import Foundation
import TestSupport
import Testing
import VoicePipeline

@testable import SpeechEngines

@Suite("ElevenLabs HTTP synthesizer, against a local fake of ElevenLabs stream/with-timestamps")
struct ElevenLabsHTTPSynthesizerTests {
    static let sentence = ElevenLabsSynthesizerTests.sentence

    static func synthesizer(
        _ fake: FakeElevenLabsHTTP, key: String? = nil, optimizeStreamingLatency: Int? = nil, logs: CapturedLogs? = nil
    ) -> ElevenLabsHTTPSynthesizer {
        var configuration = ElevenLabsSynthesizer.Configuration(apiKey: key ?? fake.configuration.apiKey, voiceID: "voice-1")
        configuration.baseURL = fake.baseURL
        var synthesizer = ElevenLabsHTTPSynthesizer(
            configuration: configuration, optimizeStreamingLatency: optimizeStreamingLatency,
            logger: logs?.logger ?? TestStack.logger)
        // These tests read what arrives, not how fast: the 30 s a sentence is allowed in service
        // ran out while the whole suite started at once on two busy cores.
        synthesizer.requestTimeout = hangLimit
        return synthesizer
    }

    static func chunks(
        of text: String, from synthesizer: ElevenLabsHTTPSynthesizer
    ) async throws -> [(at: ContinuousClock.Instant, chunk: SpeechChunk)] {
        try await ElevenLabsSynthesizerTests.chunks(of: text, from: synthesizer)
    }

    static func startConsuming(_ text: String, from synthesizer: ElevenLabsHTTPSynthesizer) async throws -> Task<Void, any Error>
    {
        try await ElevenLabsSynthesizerTests.startConsuming(text, from: synthesizer)
    }

    @Test("samples decode exactly, though samples and lines are split across pieces: the fake's tone, 60 ms a character")
    func samples() async throws {
        let fake = try await FakeElevenLabsHTTP()
        defer { fake.stop() }
        let samples = try await Self.chunks(of: Self.sentence, from: Self.synthesizer(fake)).flatMap(\.chunk.samples)
        #expect(samples.count == Self.sentence.count * 60 * 16)
        #expect(samples == FakeElevenLabs.speech(for: Self.sentence))
    }

    @Test("chunks arrive as the body streams: the first before the rest of the body is sent")
    func streaming() async throws {
        // Each line's last bytes go out with the next line, so the first chunk can be read once
        // two lines have begun; the fake then waits until the consumer has it.
        let rest = Gate()
        var configuration = FakeElevenLabsHTTP.Configuration()
        configuration.hold = .init(afterLines: 2, gate: rest)
        let fake = try await FakeElevenLabsHTTP(configuration: configuration)
        defer { fake.stop() }
        let chunks = try await ElevenLabsSynthesizerTests.chunks(
            of: Self.sentence, from: Self.synthesizer(fake), openingAfterFirst: rest)
        let exchange = try #require(await fake.exchanges.waitFor(1).first)
        #expect(chunks.count == exchange.linesSent && chunks.count > 10)
        #expect(chunks.flatMap(\.samples) == FakeElevenLabs.speech(for: Self.sentence))
        #expect(!exchange.clientWentAway)
    }

    @Test("words carry the sentence's text at the sample offsets of their first character")
    func words() async throws {
        let fake = try await FakeElevenLabsHTTP()
        defer { fake.stop() }
        let chunks = try await Self.chunks(of: Self.sentence, from: Self.synthesizer(fake)).map(\.chunk)
        // A character whose first byte ends a line starts the next line's first sample.
        for chunk in chunks {
            #expect(chunk.words.allSatisfy { $0.sampleOffset >= 0 && $0.sampleOffset <= chunk.samples.count })
        }
        #expect(
            ElevenLabsSynthesizerTests.wordsFromStart(of: chunks) == ElevenLabsSynthesizerTests.expectedWords(of: Self.sentence))
    }

    @Test("the request is the documented one: path, query, xi-api-key, JSON body with text, model and voice settings")
    func request() async throws {
        let fake = try await FakeElevenLabsHTTP()
        defer { fake.stop() }
        _ = try await Self.chunks(of: "Hello there.", from: Self.synthesizer(fake, optimizeStreamingLatency: 2))
        let exchange = try #require(await fake.exchanges.waitFor(1).first)
        #expect(exchange.voiceID == "voice-1")
        #expect(exchange.query == ["output_format": "pcm_16000", "optimize_streaming_latency": "2"])
        #expect(exchange.apiKey == fake.configuration.apiKey)
        #expect(exchange.contentType == "application/json")
        #expect(exchange.text == "Hello there." && exchange.modelID == "eleven_flash_v2_5")
        #expect(exchange.voiceSettings == .init(stability: 0.5, similarityBoost: 0.8, speed: 1.0))
    }

    @Test("the WebSocket engine's base URL serves: wss becomes https")
    func baseURL() {
        let configuration = ElevenLabsSynthesizer.Configuration(apiKey: "k", voiceID: "v")
        let synthesizer = ElevenLabsHTTPSynthesizer(configuration: configuration, logger: TestStack.logger)
        #expect(
            synthesizer.streamURL
                == "https://api.elevenlabs.io/v1/text-to-speech/v/stream/with-timestamps?output_format=pcm_16000")
    }

    @Test("a wrong key is a 401 that names the setting to fix, and the key is neither in the error nor in the logs")
    func wrongKey() async throws {
        let fake = try await FakeElevenLabsHTTP()
        defer { fake.stop() }
        let logs = CapturedLogs()
        let secret = "xi-secret-that-must-not-leak"
        let thrown = await #expect(throws: ElevenLabsError.self) {
            _ = try await Self.chunks(of: "Hello.", from: Self.synthesizer(fake, key: secret, logs: logs))
        }
        let error = try #require(thrown)
        #expect(error == .unauthorized(code: "invalid_api_key", message: "Invalid API key"))
        let description = String(describing: error)
        #expect(description.contains("ATTACHE_ELEVENLABS_API_KEY") && description.contains("401"))
        #expect(!description.contains(secret) && !logs.all.contains(secret))
        #expect(try #require(await fake.exchanges.waitFor(1).first).status == 401)
    }

    @Test("beyond the account's concurrency the 429 is its own error, after one short retry")
    func concurrencyLimit() async throws {
        // The first request streams on until the test is over: the account stays at its limit.
        var configuration = FakeElevenLabsHTTP.Configuration()
        configuration.concurrencyLimit = 1
        configuration.hold = .init(afterLines: 2, gate: Gate())
        let fake = try await FakeElevenLabsHTTP(configuration: configuration)
        defer { fake.stop() }
        let first = try await Self.startConsuming(Self.sentence, from: Self.synthesizer(fake))
        defer { first.cancel() }
        let thrown = await #expect(throws: ElevenLabsError.self) {
            _ = try await Self.chunks(of: "Hello.", from: Self.synthesizer(fake))
        }
        let error = try #require(thrown)
        guard case .tooManyConcurrentRequests = error else {
            Issue.record("\(error)")
            return
        }
        #expect(String(describing: error).contains("as many requests in progress as its plan allows"))
        #expect(fake.exchanges.summaries.map(\.status) == [429, 429])
    }

    @Test("an unknown voice is refused with ElevenLabs' own message and what to check")
    func unknownVoice() async throws {
        var configuration = FakeElevenLabsHTTP.Configuration()
        configuration.voices = ["another-voice"]
        let fake = try await FakeElevenLabsHTTP(configuration: configuration)
        defer { fake.stop() }
        let thrown = await #expect(throws: ElevenLabsError.self) {
            _ = try await Self.chunks(of: "Hello.", from: Self.synthesizer(fake))
        }
        let error = try #require(thrown)
        #expect(error == .refused(status: 400, code: "voice_not_found", message: "A voice with voice_id voice-1 was not found."))
        #expect(String(describing: error).contains("ATTACHE_ELEVENLABS_VOICE_ID"))
    }

    @Test("nothing listening is an unreachable error that names the base URL")
    func unreachable() async throws {
        var configuration = ElevenLabsSynthesizer.Configuration(apiKey: "k", voiceID: "v")
        configuration.baseURL = "http://127.0.0.1:1"
        let synthesizer = ElevenLabsHTTPSynthesizer(configuration: configuration, logger: TestStack.logger)
        let thrown = await #expect(throws: ElevenLabsError.self) {
            _ = try await Self.chunks(of: "Hello.", from: synthesizer)
        }
        let error = try #require(thrown)
        guard case .unreachable = error else {
            Issue.record("\(error)")
            return
        }
        #expect(String(describing: error).contains("127.0.0.1:1"))
    }

    @Test("cancelling the consuming task aborts the request: the fake sees the client go")
    func cancellation() async throws {
        // The fake sends two lines and holds the rest for good: only the client's abort can end
        // the answer.
        var configuration = FakeElevenLabsHTTP.Configuration()
        configuration.hold = .init(afterLines: 2, gate: Gate())
        let fake = try await FakeElevenLabsHTTP(configuration: configuration)
        defer { fake.stop() }
        // Nor can the request's own timeout end it while the test waits.
        var synthesizer = Self.synthesizer(fake)
        synthesizer.requestTimeout = .seconds(3600)
        let consumer = try await Self.startConsuming(Self.sentence, from: synthesizer)
        consumer.cancel()
        let exchange = try #require(await fake.exchanges.waitFor(1).first)
        #expect(exchange.clientWentAway)
        #expect(exchange.linesSent == 2)
    }

    @Test("lines split anywhere are put back together; blank lines are dropped; a last line may lack its newline")
    func lineSplitter() {
        var splitter = JSONLineSplitter()
        #expect(splitter.lines(in: Array(#"{"a":"#.utf8)).isEmpty)
        #expect(splitter.lines(in: Array("1}\n\r\n{\"b\"".utf8)) == [Array(#"{"a":1}"#.utf8)])
        #expect(splitter.lines(in: Array(":2}".utf8)).isEmpty)
        #expect(splitter.remainder() == Array(#"{"b":2}"#.utf8))
        #expect(splitter.remainder() == nil)
    }
}
