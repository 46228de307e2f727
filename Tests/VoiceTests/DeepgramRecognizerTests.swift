import Foundation
import Synchronization
import TestSupport
import Testing
import VoicePipeline

@testable import SpeechEngines

@Suite("Deepgram recognizer, against a local fake of Deepgram live streaming")
struct DeepgramRecognizerTests {
    static let tone = AudioFrame(
        (0..<PCM.samplesPerFrame).map { Int16((8000 * sin(2 * Double.pi * 440 * Double($0) / 16_000)).rounded()) })

    static func frames(_ frame: AudioFrame, milliseconds: Int) -> [AudioFrame] {
        Array(repeating: frame, count: milliseconds / 20)
    }

    static func recognizer(_ fake: FakeDeepgram, key: String? = nil, keepAlive: Duration = .seconds(5), logs: CapturedLogs? = nil)
        -> DeepgramRecognizer
    {
        var configuration = DeepgramRecognizer.Configuration(apiKey: key ?? fake.configuration.apiKey)
        configuration.baseURL = fake.baseURL
        configuration.keepAliveInterval = keepAlive
        return DeepgramRecognizer(configuration: configuration, logger: logs?.logger ?? TestStack.logger)
    }

    /// Collects a stream's events until it finishes; the error, if it finished with one.
    static func collect(_ stream: DeepgramStream) -> Task<(events: [TranscriptEvent], error: (any Error)?), Never> {
        Task {
            var events: [TranscriptEvent] = []
            do {
                for try await event in stream.events { events.append(event) }
                return (events, nil)
            } catch {
                return (events, error)
            }
        }
    }

    @Test("tone then silence gives SpeechStarted, interims, a final that ends the speech, then UtteranceEnd")
    func utteranceEvents() async throws {
        let fake = await FakeDeepgram(transcripts: ["hello there"])
        defer { fake.stop() }
        let stream = try await Self.recognizer(fake).openDeepgramStream()
        let collected = Self.collect(stream)
        for frame in Self.frames(Self.tone, milliseconds: 1000) + Self.frames(.silence, milliseconds: 1500) {
            try await stream.send(frame)
        }
        await stream.close()
        let (events, error) = await collected.value
        #expect(error == nil)
        #expect(events.first == .speechStarted)
        #expect(events.suffix(2) == [.final("hello there", endOfSpeech: true), .utteranceEnd])
        let interims = events.dropFirst().dropLast(2)
        #expect(!interims.isEmpty)
        #expect(interims.allSatisfy { if case .interim = $0 { true } else { false } })
        #expect(interims.last == .interim("hello there"))
        let query = try #require(await fake.sessions.waitFor(1).first).query
        #expect(query["endpointing"] == "300" && query["utterance_end_ms"] == "1000" && query["model"] == "nova-3")
        #expect(query["interim_results"] == "true" && query["vad_events"] == "true" && query["channels"] == "1")
    }

    @Test("the final comes no sooner than the injected latency after the endpointing silence")
    func finalLatency() async throws {
        var configuration = FakeDeepgram.Configuration()
        configuration.finalLatency = .milliseconds(150)
        let fake = await FakeDeepgram(configuration: configuration, transcripts: ["quick"])
        defer { fake.stop() }
        let stream = try await Self.recognizer(fake).openDeepgramStream()
        let finalAt = Task { () -> ContinuousClock.Instant? in
            for try await event in stream.events { if case .final = event { return .now } }
            return nil
        }
        // The last frame completes the 300 ms of endpointing silence. Timed from before it is
        // sent, so that a slow machine can only lengthen the wait measured.
        let frames = Self.frames(Self.tone, milliseconds: 200) + Self.frames(.silence, milliseconds: 300)
        for frame in frames.dropLast() { try await stream.send(frame) }
        let endpointSent = ContinuousClock.now
        try await stream.send(frames[frames.count - 1])
        let arrived = try #require(try await finalAt.value("the final"))
        #expect(arrived - endpointSent >= .milliseconds(150))
        await stream.close()
    }

    @Test("a wrong key fails at open with an error that names the cause and not the key")
    func wrongKey() async throws {
        let fake = await FakeDeepgram()
        defer { fake.stop() }
        let logs = CapturedLogs()
        let secret = "dg-secret-that-must-not-leak"
        let error = await #expect(throws: DeepgramError.self) {
            _ = try await Self.recognizer(fake, key: secret, logs: logs).openDeepgramStream()
        }
        #expect(error == .handshakeRefused(status: 401))
        let description = String(describing: try #require(error))
        #expect(description.contains("API key") && description.contains("401"))
        #expect(!description.contains(secret))
        #expect(!logs.all.contains(secret))
        #expect(!String(describing: Self.recognizer(fake, key: secret).configuration).contains(secret))
    }

    @Test("a stream left without audio or KeepAlive is closed by Deepgram with 1011, and events throw it")
    func idleTimeout() async throws {
        var configuration = FakeDeepgram.Configuration()
        configuration.idleTimeout = .milliseconds(300)
        let fake = await FakeDeepgram(configuration: configuration)
        defer { fake.stop() }
        let stream = try await Self.recognizer(fake, keepAlive: .seconds(30)).openDeepgramStream()
        let (_, error) = await Self.collect(stream).value
        let deepgramError = try #require(error as? DeepgramError)
        guard case .closedByServer(code: 1011, let reason) = deepgramError else {
            Issue.record("expected a 1011 close, got \(deepgramError)")
            return
        }
        #expect(reason.contains("net0001"))
        #expect(String(describing: deepgramError).contains("1011"))
        await #expect(throws: DeepgramError.self) { try await stream.send(.silence) }
    }

    @Test("KeepAlive more often than the idle timeout keeps a silent stream open")
    func keepAlive() async throws {
        var configuration = FakeDeepgram.Configuration()
        // Long enough that a busy machine's pause between two KeepAlives (seconds, under load)
        // stays well inside it: the test is about the KeepAlives, not about the scheduler.
        configuration.idleTimeout = .seconds(5)
        let fake = await FakeDeepgram(configuration: configuration)
        defer { fake.stop() }
        let interval = Duration.milliseconds(100)
        let stream = try await Self.recognizer(fake, keepAlive: interval).openDeepgramStream()
        let collected = Self.collect(stream)
        // KeepAlives go out at least `interval` apart, so 75 of them span at least 7.4 s of
        // silence: half as long again as the idle timeout, however slowly the machine runs.
        let spanning = 75
        try await eventually("\(spanning) KeepAlives, or the stream closed") {
            fake.keepAlivesHeard >= spanning || !fake.sessions.summaries.isEmpty
        }
        #expect(fake.sessions.summaries.isEmpty, "the fake closed the silent stream")
        #expect(interval * (spanning - 1) > configuration.idleTimeout * 1.4)
        try await stream.send(.silence)
        await stream.close()
        let (_, error) = await collected.value
        #expect(error == nil)
        let session = try #require(await fake.sessions.waitFor(1).first)
        #expect(session.keepAlives >= spanning)
        #expect(session.closeCode == 1000 && session.closeStreamReceived)
    }

    @Test("close sends CloseStream, which delivers the pending final before the stream ends")
    func closeStreamFlushes() async throws {
        let fake = await FakeDeepgram(transcripts: ["pending words"])
        defer { fake.stop() }
        let stream = try await Self.recognizer(fake).openDeepgramStream()
        let collected = Self.collect(stream)
        for frame in Self.frames(Self.tone, milliseconds: 500) { try await stream.send(frame) }
        await stream.close()
        let (events, error) = await collected.value
        #expect(error == nil)
        #expect(events.first == .speechStarted)
        #expect(events.last == .final("pending words", endOfSpeech: false))
    }

    @Test("finalize makes Deepgram deliver the final now, without waiting for endpointing")
    func finalize() async throws {
        let fake = await FakeDeepgram(transcripts: ["right now"])
        defer { fake.stop() }
        let stream = try await Self.recognizer(fake).openDeepgramStream()
        var events = stream.events.makeAsyncIterator()
        for frame in Self.frames(Self.tone, milliseconds: 100) { try await stream.send(frame) }
        try await stream.finalize()
        var received: [TranscriptEvent] = []
        while let event = try await events.next() {
            received.append(event)
            if case .final = event { break }
        }
        #expect(received == [.speechStarted, .final("right now", endOfSpeech: false)])
        await stream.close()
        #expect(try #require(await fake.sessions.waitFor(1).first).finalizeReceived)
    }

    @Test("Deepgram's messages map to events; an empty final still ends speech, Metadata is ignored")
    func messageMapping() {
        func results(_ transcript: String, isFinal: Bool, speechFinal: Bool) -> String {
            #"{"type":"Results","is_final":\#(isFinal),"speech_final":\#(speechFinal),"channel":{"alternatives":[{"transcript":"\#(transcript)"}]}}"#
        }
        #expect(DeepgramMessage.event(from: results("so we", isFinal: false, speechFinal: false)) == .interim("so we"))
        #expect(
            DeepgramMessage.event(from: results("so we met", isFinal: true, speechFinal: false))
                == .final("so we met", endOfSpeech: false))
        #expect(DeepgramMessage.event(from: results("", isFinal: true, speechFinal: true)) == .final("", endOfSpeech: true))
        #expect(DeepgramMessage.event(from: results("", isFinal: true, speechFinal: false)) == nil)
        #expect(DeepgramMessage.event(from: results("", isFinal: false, speechFinal: false)) == nil)
        #expect(DeepgramMessage.event(from: #"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.1}"#) == .utteranceEnd)
        #expect(DeepgramMessage.event(from: #"{"type":"SpeechStarted","channel":[0,1],"timestamp":0.2}"#) == .speechStarted)
        #expect(DeepgramMessage.event(from: #"{"type":"Metadata","request_id":"x"}"#) == nil)
        #expect(DeepgramMessage.event(from: "not json") == nil)
    }
}
