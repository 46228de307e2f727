import Foundation
import LanguageModel
import Logging
import Shared
import SpeechEngines
import Synchronization
import TestSupport
import Testing
import VoicePipeline

/// Everything the pipeline sent to the meeting, with when it was sent.
final class RecordingSink: MediaSink {
    let sent = Mutex<[(at: ContinuousClock.Instant, media: MediaOut)]>([])

    func send(_ media: MediaOut) async {
        sent.withLock { $0.append((.now, media)) }
    }

    var audioFrameTimes: [ContinuousClock.Instant] {
        sent.withLock { $0.compactMap { if case .audio = $0.media { $0.at } else { nil } } }
    }

    var clearTimes: [ContinuousClock.Instant] {
        sent.withLock { $0.compactMap { $0.media == .clear ? $0.at : nil } }
    }

    var reactions: [AvatarReaction] {
        sent.withLock { $0.compactMap { if case let .reaction(reaction) = $0.media { reaction } else { nil } } }
    }

    var avatarRooms: [AvatarRoom] {
        sent.withLock { $0.compactMap { if case let .avatarRoom(room) = $0.media { room } else { nil } } }
    }

    var visemes: [VisemeCue] {
        sent.withLock { $0.flatMap { entry -> [VisemeCue] in if case let .visemes(cues) = entry.media { cues } else { [] } } }
    }
}

/// Collects the pipeline's events as they happen.
final class EventLog: Sendable {
    let events = Mutex<[(at: ContinuousClock.Instant, event: PipelineEvent)]>([])

    func follow(_ pipeline: VoicePipeline) -> Task<Void, Never> {
        Task {
            for await event in pipeline.events { events.withLock { $0.append((.now, event)) } }
        }
    }

    var heard: [String] { events.withLock { $0.compactMap { if case let .heard(text) = $0.event { text } else { nil } } } }

    var said: [(text: String, interrupted: Bool, latency: TurnLatency?)] {
        events.withLock {
            $0.compactMap {
                if case let .said(text, interrupted, latency) = $0.event { (text, interrupted, latency) } else { nil }
            }
        }
    }

    var problems: [(kind: CallProblem.Kind, detail: String)] {
        events.withLock { $0.compactMap { if case let .problem(kind, detail) = $0.event { (kind, detail) } else { nil } } }
    }

    func firstTime(of matching: (PipelineEvent) -> Bool) -> ContinuousClock.Instant? {
        events.withLock { $0.first { matching($0.event) }?.at }
    }
}

/// Runs `body` with `conversation`, stopped afterwards whatever happens.
func withConversation<T>(
    _ conversation: OfflineConversation, _ body: (OfflineConversation) async throws -> T
) async throws -> T {
    try await using(conversation, tearDown: { await $0.stop() }, body)
}

/// A pipeline on the offline engines, with the meeting and vocabulary of these tests.
struct OfflineConversation {
    static let phrases = [
        "what is on the agenda today", "i think we should", "review the budget first", "wait a moment",
        "how is the budget looking", "thank you",
    ]

    static let context = MeetingContext(
        title: "Quarterly budget review", participants: ["Dana", "Lee"],
        agenda: ["budget review", "the hiring plan", "next steps"],
        notes: ["Budget: spending is four percent under plan"])

    let pipeline: VoicePipeline
    let sink = RecordingSink()
    let log = EventLog()
    let participant: SpeakingParticipant
    private let following: Task<Void, Never>

    init(
        greets: Bool = false, speechToText: (any SpeechToText)? = nil, chatModel: any ChatModel = LocalResponder(),
        textToSpeech: (any TextToSpeech)? = nil, avatar: (any Avatar)? = nil, logger: Logger = Logger(label: "voice-test"),
        configure: (inout VoiceConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = VoiceConfiguration()
        configuration.greets = greets
        configure(&configuration)
        var recognition = PocketSphinxRecognizer.Configuration()
        recognition.phrases = Self.phrases
        pipeline = VoicePipeline(
            configuration: configuration, context: Self.context,
            speechToText: speechToText ?? PocketSphinxRecognizer(configuration: recognition), chatModel: chatModel,
            textToSpeech: try textToSpeech ?? ESpeakSynthesizer(), avatar: avatar, sink: sink, logger: logger)
        participant = try SpeakingParticipant(pipeline: pipeline)
        following = log.follow(pipeline)
        try await pipeline.start()
        await pipeline.greet()
    }

    func stop() async {
        await pipeline.stop()
        await following.value
    }
}

/// A speech engine whose first synthesis fails, as a cloud engine's might.
final class FailingFirstSynthesis: TextToSpeech {
    let engine: any TextToSpeech
    private let calls = Mutex(0)
    var name: String { "failing-first" }

    init(_ engine: any TextToSpeech) { self.engine = engine }

    struct Refused: Error {}

    func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
        let first = calls.withLock { count in
            defer { count += 1 }
            return count == 0
        }
        guard !first else { return AsyncThrowingStream { $0.finish(throwing: Refused()) } }
        return engine.synthesize(text)
    }
}

/// A chat model that fails every request with `error`, as an unreachable or slow endpoint would.
struct FailingChatModel: ChatModel {
    let error: ChatModelError
    var name: String { "failing" }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { $0.finish(throwing: error) }
    }
}

/// A recogniser whose words the test decides: each event is delivered when the test says it,
/// so that what the pipeline hears is known frame by frame, whatever the machine's speed.
final class ScriptedRecognizer: SpeechToText, TranscriptionStream {
    let name = "scripted"
    let events: AsyncThrowingStream<TranscriptEvent, any Error>
    private let output: AsyncThrowingStream<TranscriptEvent, any Error>.Continuation

    init() { (events, output) = AsyncThrowingStream.makeStream() }

    func openStream() async throws -> any TranscriptionStream { self }
    func send(_ frame: AudioFrame) async throws {}
    func close() async { output.finish() }

    func hear(_ event: TranscriptEvent) { output.yield(event) }
}

/// A chat model that always gives the same answer.
struct FixedAnswer: ChatModel {
    let text: String
    var name: String { "fixed" }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(text)
            continuation.finish()
        }
    }
}

/// A voice whose level is known in every frame: each word is 200 ms of a steady tone and
/// 40 ms of silence (twelve whole frames), so that a test tells full voice from lowered by
/// looking at a frame, and knows where every word starts.
struct ToneVoice: TextToSpeech {
    static let amplitude: Int16 = 8000
    static let framesPerWord = 12
    static let samplesPerWord = framesPerWord * PCM.samplesPerFrame
    private static let toneSamples = 10 * PCM.samplesPerFrame

    var name: String { "tone" }

    func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
        let words = text.split(separator: " ")
        var samples: [Int16] = []
        for _ in words {
            samples += (0..<Self.toneSamples).map { $0 % 2 == 0 ? Self.amplitude : -Self.amplitude }
            samples += repeatElement(0, count: Self.samplesPerWord - Self.toneSamples)
        }
        let chunk = SpeechChunk(
            samples: samples,
            words: words.enumerated().map { SpokenWord(text: String($1), sampleOffset: $0 * Self.samplesPerWord) })
        return AsyncThrowingStream { continuation in
            continuation.yield(chunk)
            continuation.finish()
        }
    }

    enum Level: Equatable {
        case full, lowered, between, silent
    }

    static func level(of frame: AudioFrame) -> Level {
        let peak = frame.samples.map { abs(Int($0)) }.max() ?? 0
        if peak == 0 { return .silent }
        if peak == Int(amplitude) { return .full }
        return peak <= Int(amplitude) / 5 ? .lowered : .between
    }

    /// The words of `text` the room heard if the voice was lowered from frame `lowered` on:
    /// those begun before it.
    static func heard(_ text: String, loweredFrom lowered: Int) -> String {
        let count = (lowered + framesPerWord - 1) / framesPerWord
        return text.split(separator: " ").prefix(count).joined(separator: " ")
    }
}

extension RecordingSink {
    var audioFrames: [AudioFrame] {
        sent.withLock { $0.compactMap { if case let .audio(frame) = $0.media { frame } else { nil } } }
    }
}
