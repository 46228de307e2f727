// scripts/bench realtime: voice-to-voice latency of the realtime pipeline, turn by turn.
//
// A participant (eSpeak NG, streamed in real time) asks a question; the pipeline hears it,
// thinks, and answers; one second after its first frame of sound the agent is cut short (as
// if muted) and the next question follows. Each turn prints when every stage happened,
// measured from the end of the participant's speech. Two runs in one go:
//   offline  PocketSphinx, the local responder, eSpeak NG
//   cloud    Deepgram, an OpenAI-compatible model and ElevenLabs, as local fakes with fixed
//            latencies: STT final 150 ms after speech end, first token 300 ms then 40
//            tokens/s, TTS first audio 75 ms. The pipeline's own overhead is the measured
//            voice-to-voice time minus that injected critical path, counted from when the
//            model was asked (at the speaker's pause, for a reply that grew from a draft).
// Each run also counts its drafts (preemptive generation): started at a pause, used as the
// reply, thrown away because the speaker went on or said something else.
import Foundation
import LanguageModel
import Logging
import Shared
import SpeechEngines
import Synchronization
import TestSupport
import VoicePipeline

let turns = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 50
let questions = [
    "what is on the agenda today", "how is the budget looking", "who owns the hiring plan",
    "when is the next review", "what are the risks",
]
let context = MeetingContext(
    title: "Quarterly budget review", participants: ["Dana", "Lee"],
    agenda: ["budget review", "the hiring plan", "next steps"],
    notes: [
        "Budget: spending is four percent under plan", "Hiring plan: owned by Lee, three roles open",
        "Next review: the first week of next quarter", "Risks: vendor costs and a delayed launch",
    ])

/// Counts the agent's frames of sound, to know when a reply became audible.
final class CountingSink: MediaSink {
    let frames = Mutex(0)
    func send(_ media: MediaOut) async {
        if case .audio = media { frames.withLock { $0 += 1 } }
    }
}

struct Run {
    var name: String
    var pipeline: VoicePipeline
    var sink: CountingSink
    /// Called before each question: the cloud run tells its fake recogniser what it will hear.
    var willAsk: (String) -> Void = { _ in }
}

func measure(_ run: Run) async throws -> (latencies: [TurnLatency], drafts: DraftCounts) {
    let participant = try SpeakingParticipant(pipeline: run.pipeline)
    let (events, pipeline) = (run.pipeline.events, run.pipeline)
    let said = Mutex<[TurnLatency]>([])
    let following = Task {
        for await event in events {
            if case let .said(_, _, latency?) = event { said.withLock { $0.append(latency) } }
        }
    }
    try await pipeline.start()
    await participant.listen(for: .milliseconds(500))
    for turn in 0..<turns {
        let question = questions[turn % questions.count]
        run.willAsk(question)
        let framesBefore = run.sink.frames.withLock { $0 }
        try await participant.say(question.prefix(1).uppercased() + question.dropFirst() + "?")
        await participant.listen(for: .seconds(8)) { run.sink.frames.withLock { $0 } > framesBefore }
        // Let the model finish (its last token is part of the record), then cut the agent short.
        await participant.listen(for: .seconds(1))
        await pipeline.stopSpeaking()
        await participant.listen(for: .milliseconds(300)) { said.withLock { $0.count } > turn }
        if said.withLock({ $0.count }) <= turn {
            print("\(run.name) turn \(turn + 1): no answer within 8 s")
            said.withLock { $0.append(TurnLatency()) }
        }
        let latency = said.withLock { $0[turn] }
        print("\(run.name) turn \(turn + 1): " + describe(latency))
    }
    let drafts = await pipeline.drafts
    await pipeline.stop()
    await following.value
    return (said.withLock { $0 }, drafts)
}

func describe(_ latency: TurnLatency) -> String {
    func ms(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "-" }
    return "stt_final=\(ms(latency.sttFinal)) llm_start=\(ms(latency.llmStart)) llm_first_token=\(ms(latency.llmFirstToken)) "
        + "first_sentence=\(ms(latency.firstSentence)) tts_first_audio=\(ms(latency.ttsFirstAudio)) "
        + "first_audio_out=\(ms(latency.firstAudioOut)) llm_done=\(ms(latency.llmDone))"
}

func summarise(_ name: String, _ run: (latencies: [TurnLatency], drafts: DraftCounts)) {
    let latencies = run.latencies
    let stages: [(String, KeyPath<TurnLatency, Double?>)] = [
        ("stt_final", \.sttFinal), ("llm_start", \.llmStart), ("llm_first_token", \.llmFirstToken),
        ("first_sentence", \.firstSentence),
        ("tts_first_audio", \.ttsFirstAudio), ("v2v", \.firstAudioOut), ("llm_done", \.llmDone),
    ]
    for (stage, path) in stages {
        let values = latencies.compactMap { $0[keyPath: path] }
        print(String(format: "realtime.%@.%@.p50_ms: %.0f", name, stage, percentile(values, 0.5)))
        print(String(format: "realtime.%@.%@.p95_ms: %.0f", name, stage, percentile(values, 0.95)))
    }
    let answered = latencies.filter { $0.firstAudioOut != nil }.count
    print("realtime.\(name).turns_answered: \(answered)/\(latencies.count)")
    print("realtime.\(name).drafts_started: \(run.drafts.started)")
    print("realtime.\(name).drafts_used: \(run.drafts.used)")
    print("realtime.\(name).drafts_wasted: \(run.drafts.wasted)")
}

var logger = Logger(label: "bench-realtime")
logger.logLevel = .warning
var voice = VoiceConfiguration()
voice.greets = false

// ---- offline
var recognition = PocketSphinxRecognizer.Configuration()
recognition.phrases = questions
let offlineSink = CountingSink()
let offline = try await measure(
    Run(
        name: "offline",
        pipeline: VoicePipeline(
            configuration: voice, context: context, speechToText: PocketSphinxRecognizer(configuration: recognition),
            chatModel: LocalResponder(), textToSpeech: try ESpeakSynthesizer(), sink: offlineSink, logger: logger),
        sink: offlineSink))

// ---- cloud fakes with injected latencies
let endpointing = Duration.milliseconds(100)
var deepgramSettings = FakeDeepgram.Configuration()
deepgramSettings.finalLatency = .milliseconds(50)  // + 100 ms endpointing = 150 ms after speech end
// The pipeline's own voice threshold (-45 dBFS), so that both agree where speech ends.
deepgramSettings.voiceThreshold = 32768 * pow(10, -45.0 / 20)
let deepgram = await FakeDeepgram(configuration: deepgramSettings)
let answer =
    "Spending is four percent under plan this quarter. Vendor costs are the main risk, and the launch date "
    + "is the other one to watch closely."
let answerTokens = FakeChatCompletions.tokens(of: answer)
let firstSentenceTokens = FakeChatCompletions.tokens(of: "Spending is four percent under plan this quarter.").count
let chat = try await FakeChatCompletions(
    tokens: answerTokens, pace: .init(firstTokenAfter: .milliseconds(300), tokensPerSecond: 40))
var elevenLabsSettings = FakeElevenLabs.Configuration()
elevenLabsSettings.firstChunkLatency = .milliseconds(75)
let elevenLabs = await FakeElevenLabs(configuration: elevenLabsSettings)

var cloudVoice = voice
cloudVoice.turns.endpointing = endpointing
var deepgramClient = DeepgramRecognizer.Configuration(apiKey: deepgramSettings.apiKey)
deepgramClient.baseURL = deepgram.baseURL
deepgramClient.endpointing = endpointing
var elevenLabsClient = ElevenLabsSynthesizer.Configuration(apiKey: elevenLabsSettings.apiKey, voiceID: "bench")
elevenLabsClient.baseURL = elevenLabs.baseURL
let cloudSink = CountingSink()
let cloud = try await measure(
    Run(
        name: "cloud",
        pipeline: VoicePipeline(
            configuration: cloudVoice, context: context,
            speechToText: DeepgramRecognizer(configuration: deepgramClient, logger: logger),
            chatModel: OpenAIChatModel(
                configuration: .init(baseURL: chat.baseURL, apiKey: "sk-fake-0123456789abcdef", model: "bench"), logger: logger),
            textToSpeech: ElevenLabsSynthesizer(configuration: elevenLabsClient, logger: logger), sink: cloudSink, logger: logger),
        sink: cloudSink, willAsk: { deepgram.say([$0]) }))
deepgram.stop()
chat.stop()
elevenLabs.stop()

// The injected critical path after the model was asked (at the recogniser's final, or at the
// speaker's pause for a draft; taken as measured): first token, the rest of the first
// sentence at 40 tokens/s, first audio. The first sentence has no clause to cut it at.
let injectedAfterStart = 300.0 + Double(firstSentenceTokens - 1) * 25.0 + 75.0
let overheads = cloud.latencies.compactMap { turn in
    turn.firstAudioOut.flatMap { out in turn.llmStart.map { out - $0 - injectedAfterStart } }
}
print("")
summarise("offline", offline)
summarise("cloud", cloud)
print(String(format: "realtime.cloud.injected_after_llm_start_ms: %.0f", injectedAfterStart))
print(String(format: "realtime.cloud.overhead.p50_ms: %.0f", percentile(overheads, 0.5)))
let beforeDone = cloud.latencies.allSatisfy { turn in
    guard let out = turn.firstAudioOut, let done = turn.llmDone else { return false }
    return out < done
}
print("")
print(String(format: "realtime.offline.v2v.p50_ms: %.0f", percentile(offline.latencies.compactMap(\.firstAudioOut), 0.5)))
print(String(format: "realtime.offline.v2v.p95_ms: %.0f", percentile(offline.latencies.compactMap(\.firstAudioOut), 0.95)))
print(String(format: "realtime.cloud.v2v.p50_ms: %.0f", percentile(cloud.latencies.compactMap(\.firstAudioOut), 0.5)))
print(String(format: "realtime.cloud.v2v.p95_ms: %.0f", percentile(cloud.latencies.compactMap(\.firstAudioOut), 0.95)))
print("realtime.cloud.drafts_wasted: \(cloud.drafts.wasted)")
print(String(format: "realtime.cloud.overhead.p95_ms: %.0f", percentile(overheads, 0.95)))
print("realtime.cloud.first_audio_before_llm_done: \(beforeDone)")
