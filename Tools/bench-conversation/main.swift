// scripts/bench conversation: turn taking as a participant notices it, on the offline engines.
//
// Three calls at once, each a voice pipeline (PocketSphinx, the local responder, eSpeak NG)
// behind the camera page's media connection (`MediaConnection`, as realtime-worker serves it).
// A client plays the page's part on each: it streams scripted speech (eSpeak NG, two voices)
// into the connection in real time and listens to the agent's audio and cues coming back.
// Each call goes through the corpus `runs` times (default 2):
//   questions      a complete question, then silence: one reply, containing the fact asked for
//   pauses         "I think we should" … 700 ms … the rest: no reply before the rest is said
//   cross-talk     the same, another participant's "yeah" in the pause
//   backchannels   acknowledgements of several words and lengths over the agent's answer
//   noises         a click, a noise burst, a cough over the agent's answer
//   interruptions  words that take the floor over the agent's answer
// Prints `name: value` lines; times are from the onset of the participant's sound, as the
// client sent it, to what the client heard.
import Foundation
import Hummingbird
import HummingbirdWSClient
import HummingbirdWebSocket
import LanguageModel
import Logging
import MediaConnection
import SpeechEngines
import Synchronization
import TestSupport
import VoicePipeline

let runs = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 2
let callCount = 3

let context = MeetingContext(
    title: "Weekly staff meeting", startsAt: ISO8601DateFormatter().date(from: "2025-03-03T15:00:00Z"),
    participants: ["Dana", "Lee"], agenda: ["budget review", "the hiring plan", "next steps"],
    notes: [
        "Budget: spending is four percent under plan", "Hiring plan: owned by Lee, three roles open",
        "Next review: the first week of next quarter",
        "Risks: vendor costs, a delayed launch, and the hiring freeze, which may slow the platform work in the second quarter",
    ])

/// Questions and the fact a right answer contains.
let questions: [(question: String, fact: String)] = [
    ("what is on the agenda for this meeting", "budget review, then the hiring plan, then next steps"),
    ("when is the next review", "the first week of next quarter"),
    ("who owns the hiring plan", "owned by Lee"),
    ("how is the budget looking", "four percent under plan"),
    ("how many roles are open", "three roles open"),
    ("when does the meeting start", "Monday 3 March"),
    ("who is in this meeting", "Dana and Lee"),
]
/// What the participant asks to keep the agent talking while it is spoken over.
let longQuestion = "what are the risks"
let pauses: [(first: String, rest: String)] = [
    ("i think we should", "move the launch to march"), ("the budget and", "the hiring plan are on track"),
]
/// Acknowledgements: words, and how fast they are said (80 words a minute is a drawn-out "mm-hm").
let backchannels: [(words: String, wordsPerMinute: Int)] = [
    ("mm hmm", 160), ("mm hmm", 80), ("uh huh", 160), ("yeah", 160), ("right", 160), ("okay", 160), ("sure", 160),
    ("i see", 160), ("yeah yeah", 120), ("okay sure", 160),
]
let interruptions = ["wait", "stop", "no no", "hold on", "wait a moment", "what about the launch date"]
let phrases =
    questions.map(\.question) + [longQuestion] + pauses.flatMap { [$0.first, $0.rest] } + backchannels.map(\.words)
    + interruptions

/// Sounds that are not words: a click, a burst of noise, a cough (noise that dies away).
func noise(milliseconds: Int, decaying: Bool) -> [AudioFrame] {
    var random = SystemRandomNumberGenerator()
    let count = milliseconds * PCM.sampleRate / 1000
    let samples = (0..<count).map { index in
        let envelope = decaying ? 1 - Double(index) / Double(count) : 1
        return Int16(Double(Int16.random(in: -9000...9000, using: &random)) * envelope)
    }
    return PCM.frames(samples)
}
let noises: [(name: String, frames: [AudioFrame])] = [
    ("click", noise(milliseconds: 60, decaying: false)), ("burst", noise(milliseconds: 150, decaying: false)),
    ("cough", noise(milliseconds: 300, decaying: true)),
]

// MARK: What each call's client heard

/// The agent as the client heard it: each frame's arrival and peak, `clear`s, and (from the
/// pipeline, as realtime-worker stores them) the turns said.
final class Heard: Sendable {
    struct Frame {
        var at: ContinuousClock.Instant
        var peak: Int
    }
    let frames = Mutex<[Frame]>([])
    let clears = Mutex<[ContinuousClock.Instant]>([])
    let said = Mutex<[(text: String, interrupted: Bool)]>([])
    /// The participant's turns as the pipeline heard them, to tell why an agent was cut.
    let turns = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])

    var frameCount: Int { frames.withLock { $0.count } }
    var saidCount: Int { said.withLock { $0.count } }
    var lastFrameAt: ContinuousClock.Instant? { frames.withLock { $0.last?.at } }

    func frames(from start: ContinuousClock.Instant) -> [Frame] { frames.withLock { $0.filter { $0.at >= start } } }
}

/// What the corpus found, over all calls.
struct Results {
    var premature = 0
    var pausesAndQuestions = 0
    var backchannelCuts = 0
    var noiseCuts = 0
    var gaps: [Double] = []
    var stops: [Double] = []
    var cuts: [Double] = []
    var interruptions = 0
    var answered = 0
    var answeredRight = 0
    var notes: [String] = []

    mutating func add(_ other: Results) {
        premature += other.premature
        pausesAndQuestions += other.pausesAndQuestions
        backchannelCuts += other.backchannelCuts
        noiseCuts += other.noiseCuts
        gaps += other.gaps
        stops += other.stops
        cuts += other.cuts
        interruptions += other.interruptions
        answered += other.answered
        answeredRight += other.answeredRight
        notes += other.notes
    }
}

func ms(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

// MARK: One call's client

struct Client {
    let heard: Heard
    let participant: SpeakingParticipant
    let other: SpeakingParticipant
    let slow: [Int: SpeakingParticipant]
    let clock = ContinuousClock()

    /// Silence until the agent has said nothing for a second (and whatever it was saying is over).
    func waitForQuiet() async {
        await participant.listen(for: .seconds(30)) {
            guard let last = heard.lastFrameAt else { return true }
            return last.duration(to: .now) > .seconds(1)
        }
    }

    /// Silence until the agent's next turn is over, at most 20 s.
    func waitForReply(after said: Int) async {
        await participant.listen(for: .seconds(20)) { heard.saidCount > said }
        await waitForQuiet()
    }

    /// Whether the agent made a sound between `start` and `end`.
    func spoke(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Bool {
        heard.frames(from: start).contains { $0.at < end }
    }

    func question(_ question: String, fact: String, into results: inout Results) async throws {
        await waitForQuiet()
        let said = heard.saidCount
        let start = clock.now
        try await participant.say(question)
        let end = clock.now
        await waitForReply(after: said)
        results.pausesAndQuestions += 1
        if spoke(from: start, to: end) { results.premature += 1 }
        let replies = heard.said.withLock { Array($0[said...]) }
        guard let reply = replies.first else { return }
        results.answered += 1
        if reply.text.localizedCaseInsensitiveContains(fact) {
            results.answeredRight += 1
        } else {
            results.notes.append("asked \"\(question)\", answered \"\(reply.text)\"")
        }
    }

    /// "I think we should" … a pause … "move the launch to March"; with `crossTalk`, another
    /// participant says "yeah" in the pause.
    func pause(_ first: String, _ rest: String, crossTalk: Bool, into results: inout Results) async throws {
        await waitForQuiet()
        let said = heard.saidCount
        let start = clock.now
        try await participant.say(first)
        if crossTalk {
            await participant.listen(for: .milliseconds(150))
            try await other.say("yeah")
            await participant.listen(for: .milliseconds(150))
        } else {
            await participant.listen(for: .milliseconds(700))
        }
        try await participant.say(rest)
        let end = clock.now
        await waitForReply(after: said)
        results.pausesAndQuestions += 1
        if spoke(from: start, to: end) { results.premature += 1 }
    }

    /// Asks for the long answer and, once it has been heard for a second, sends `overlay`
    /// over it. Returns the onset of the overlay's sound and the agent's turn.
    func overAgent(_ overlay: [AudioFrame]) async throws -> (
        onset: ContinuousClock.Instant, end: ContinuousClock.Instant, before: [Heard.Frame], said: Int,
        reply: (text: String, interrupted: Bool)?
    ) {
        await waitForQuiet()
        let said = heard.saidCount
        try await participant.say(longQuestion)
        let framesBefore = heard.frameCount
        await participant.listen(for: .seconds(20)) { heard.frameCount >= framesBefore + 50 }
        let before = heard.frames.withLock { Array($0[framesBefore...]) }
        let onset = await participant.stream(overlay)
        let end = clock.now
        await waitForReply(after: said)
        return (onset, end, before, said, heard.said.withLock { $0.count > said ? $0[said] : nil })
    }

    /// The longest the agent's sound stopped, from the onset to a second and a half after the
    /// overlay ended (sound that flows lowered is no gap).
    func longestGap(from onset: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        let times = heard.frames(from: onset).map(\.at).filter { $0 <= end + .milliseconds(1500) }
        let intervals = zip(times, times.dropFirst()).map { ms($0.duration(to: $1)) - 20 }
        let first = times.first.map { ms(onset.duration(to: $0)) - 20 } ?? 0
        return max(0, ([first] + intervals).max() ?? 0)
    }

    func acknowledgement(_ name: String, _ overlay: [AudioFrame], isWords: Bool, into results: inout Results) async throws {
        let over = try await overAgent(overlay)
        let cut = over.reply?.interrupted ?? false || heard.clears.withLock { $0.contains { $0 >= over.onset } }
        if cut {
            if isWords { results.backchannelCuts += 1 } else { results.noiseCuts += 1 }
            let recognised = heard.turns.withLock { $0.filter { $0.at >= over.onset }.map(\.text) }
            results.notes.append("\(name) cut the agent; heard afterwards: \(recognised)")
        }
        results.gaps.append(longestGap(from: over.onset, to: over.end))
    }

    /// How long after the onset the agent stopped talking at full voice (lowered to the duck
    /// level, or silent), and when it was cut (`clear`).
    func interruption(_ words: String, into results: inout Results) async throws {
        let overlay = try await participant.frames(of: words)
        let over = try await overAgent(overlay)
        // The interruption is answered: that answer, not the next question's, follows.
        await waitForReply(after: over.said + 1)
        results.interruptions += 1
        guard let clear = heard.clears.withLock({ $0.first { $0 >= over.onset } }) else { return }
        results.cuts.append(ms(over.onset.duration(to: clear)))
        // Lowered frames are at most a tenth of their full level, so at most a tenth of the
        // loudest full-voice frame heard before the onset; any frame louder than that was at
        // full voice. The agent stopped after the last such frame.
        let loudest = over.before.map(\.peak).max() ?? 0
        let fullVoice = heard.frames(from: over.onset).filter { $0.at <= clear && Double($0.peak) > 0.15 * Double(loudest) }
        let stopped = fullVoice.last.map { $0.at + .milliseconds(20) } ?? over.onset
        results.stops.append(max(0, ms(over.onset.duration(to: stopped))))
    }

    func runCorpus(into results: inout Results) async throws {
        for (question, fact) in questions { try await self.question(question, fact: fact, into: &results) }
        for (first, rest) in pauses {
            try await pause(first, rest, crossTalk: false, into: &results)
            try await pause(first, rest, crossTalk: true, into: &results)
        }
        for (words, pace) in backchannels {
            let voice = slow[pace] ?? participant
            try await acknowledgement(
                "\"\(words)\" at \(pace) wpm", try await voice.frames(of: words), isWords: true, into: &results)
        }
        for (name, frames) in noises { try await acknowledgement(name, frames, isWords: false, into: &results) }
        for words in interruptions { try await interruption(words, into: &results) }
    }
}

// MARK: The calls and their media connections

var logger = Logger(label: "bench-conversation")
logger.logLevel = .warning
var voice = VoiceConfiguration()
voice.greets = false
var recognition = PocketSphinxRecognizer.Configuration()
recognition.phrases = phrases

let relays = (0..<callCount).map { _ in MediaRelay() }
var pipelines: [VoicePipeline] = []
for relay in relays {
    pipelines.append(
        VoicePipeline(
            configuration: voice, context: context, speechToText: PocketSphinxRecognizer(configuration: recognition),
            chatModel: LocalResponder(), textToSpeech: try ESpeakSynthesizer(), sink: relay, logger: logger))
}
let heards = (0..<callCount).map { _ in Heard() }
var following: [Task<Void, Never>] = []
for (pipeline, heard) in zip(pipelines, heards) {
    try await pipeline.start()
    following.append(
        Task {
            for await event in pipeline.events {
                switch event {
                case let .said(text, interrupted, _): heard.said.withLock { $0.append((text, interrupted)) }
                case let .heard(text): heard.turns.withLock { $0.append((.now, text)) }
                case .problem: break
                }
            }
        })
}
let callsByPath = Dictionary(uniqueKeysWithValues: (0..<callCount).map { ("/media/\($0)", ($0)) })
let server = await FakeWebSocketServer(router: .init()) { request in
    guard let path = request.path, let index = callsByPath[path] else { return .dontUpgrade }
    return .upgrade([:]) { inbound, outbound, _ in
        try await MediaConnection.serve(
            inbound: inbound, outbound: outbound, identity: MediaWire.identity(agent: voice.agentName, company: voice.company),
            relay: relays[index], pipeline: pipelines[index])
    }
}

let totals = Mutex(Results())
try await withThrowingTaskGroup(of: Void.self) { group in
    for index in 0..<callCount {
        group.addTask {
            let heard = heards[index]
            _ = try await WebSocketClient.connect(url: "\(server.baseURL)/media/\(index)", logger: logger) {
                inbound, outbound, _ in
                @Sendable func send(_ frame: AudioFrame) async {
                    try? await outbound.write(.binary(ByteBuffer(bytes: frame.littleEndianBytes)))
                }
                let client = Client(
                    heard: heard, participant: try SpeakingParticipant(deliver: send),
                    other: try SpeakingParticipant(voice: "en-us+f3", deliver: send),
                    slow: [
                        80: try SpeakingParticipant(wordsPerMinute: 80, deliver: send),
                        120: try SpeakingParticipant(wordsPerMinute: 120, deliver: send),
                    ])
                let speaking = Task {
                    for run in 0..<runs {
                        var results = Results()
                        try await client.runCorpus(into: &results)
                        totals.withLock { $0.add(results) }
                        print("call \(index + 1) run \(run + 1) done")
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    switch message {
                    case let .binary(buffer):
                        var peak = 0
                        var reader = buffer
                        while let sample = reader.readInteger(endianness: .little, as: Int16.self) {
                            peak = max(peak, abs(Int(sample)))
                        }
                        heard.frames.withLock { $0.append(.init(at: .now, peak: peak)) }
                    case let .text(text) where text.contains(#""type":"clear""#):
                        heard.clears.withLock { $0.append(.now) }
                    case .text:
                        break
                    }
                }
                try await speaking.value
            }
        }
    }
    try await group.waitForAll()
}
for pipeline in pipelines { await pipeline.stop() }
for task in following { await task.value }
server.stop()

let results = totals.withLock { $0 }
print("")
for problem in results.notes { print("noticed: \(problem)") }
print("conversation.calls: \(callCount)")
print("conversation.runs_per_call: \(runs)")
print("conversation.premature_replies: \(results.premature)")
print("conversation.turns_checked_for_premature_replies: \(results.pausesAndQuestions)")
print("conversation.backchannel_cuts: \(results.backchannelCuts)")
print("conversation.backchannels: \(backchannels.count * runs * callCount)")
print("conversation.noise_cuts: \(results.noiseCuts)")
print("conversation.noises: \(noises.count * runs * callCount)")
print(String(format: "conversation.backchannel_gap.max_ms: %.0f", results.gaps.max() ?? .nan))
print(String(format: "conversation.backchannel_gap.p95_ms: %.0f", percentile(results.gaps, 0.95)))
print("conversation.interruptions_cut: \(results.cuts.count)/\(results.interruptions)")
print(String(format: "conversation.interruption_stop.p50_ms: %.0f", percentile(results.stops, 0.5)))
print(String(format: "conversation.interruption_stop.p95_ms: %.0f", percentile(results.stops, 0.95)))
print(String(format: "conversation.interruption_cut.p50_ms: %.0f", percentile(results.cuts, 0.5)))
print(String(format: "conversation.interruption_cut.p95_ms: %.0f", percentile(results.cuts, 0.95)))
print(
    String(
        format: "conversation.answered_right: %.0f%% (%d/%d)",
        100 * Double(results.answeredRight) / Double(max(1, questions.count * runs * callCount)), results.answeredRight,
        questions.count * runs * callCount))
