import Foundation
import LanguageModel
import Logging
import Shared
import Synchronization

public struct VoiceConfiguration: Sendable {
    public var agentName = "Attaché"
    public var company = "Attaché"
    public var greets = true
    public var turns = TurnPolicy()
    public var voiceThresholdDBFS = -45.0
    /// While a participant talks on, the avatar nods this often.
    public var nodInterval: Duration = .seconds(3)

    public init() {}

    public var greeting: String { "Hi, this is \(agentName) joining from \(company)." }
}

/// Preemptive generation's tally for a call: drafts the model started at a pause, those that
/// became the reply, and those thrown away because the speaker went on or said something else.
public struct DraftCounts: Sendable, Equatable {
    public var started = 0
    public var used = 0
    public var wasted = 0
    public init(started: Int = 0, used: Int = 0, wasted: Int = 0) {
        self.started = started
        self.used = used
        self.wasted = wasted
    }
}

/// What happened in the conversation, for the service to store and report.
public enum PipelineEvent: Sendable, Equatable {
    /// A participant's finished turn.
    case heard(String)
    /// What the room heard the agent say; `interrupted` if a participant cut it short.
    case said(String, interrupted: Bool, latency: TurnLatency?)
    /// Something in the machinery failed; the call went on without it (see `CallProblem`).
    case problem(CallProblem.Kind, detail: String)
}

/// Reports what failed in a call's machinery to the pipeline's events, beside the log line, for
/// the post-call diagnosis. Details name engines and error kinds, never credentials.
struct ProblemReport: Sendable {
    let events: AsyncStream<PipelineEvent>.Continuation

    func callAsFunction(_ kind: CallProblem.Kind, _ detail: String) { events.yield(.problem(kind, detail: detail)) }
}

/// A draft's problems, held until the draft becomes the reply: the failure of a draft that is
/// thrown away is no failure of the call, and one that is used is reported after the turn it
/// answers, as a reply's would be.
final class HeldProblems: Sendable {
    private let report: ProblemReport
    private let state = Mutex<(released: Bool, held: [(kind: CallProblem.Kind, detail: String)])>((false, []))

    init(_ report: ProblemReport) { self.report = report }

    func callAsFunction(_ kind: CallProblem.Kind, _ detail: String) {
        let holding = state.withLock { state in
            if !state.released { state.held.append((kind, detail)) }
            return !state.released
        }
        if !holding { report(kind, detail) }
    }

    /// Reports what was held, and from now on reports at once.
    func release() {
        let held = state.withLock { state in
            state.released = true
            defer { state.held = [] }
            return state.held
        }
        for problem in held { report(problem.kind, problem.detail) }
    }
}

/// One call's spoken conversation. Meeting audio comes in through `receive`; the agent's voice
/// and avatar cues go out to the sink. Inside, stages run as tasks joined by bounded channels:
/// recognition runs beside the audio; each reply is a model stage, a speech stage and a playout
/// stage, so that the first sentence is spoken while the model still writes the rest, and a
/// participant who talks over the agent cancels all three at once. With a cloud avatar, the
/// avatar takes the place of speech and playout: it is handed each sentence and speaks it in its
/// own room, which the sink is told of.
public actor VoicePipeline {
    private let configuration: VoiceConfiguration
    private let context: MeetingContext
    private let speechToText: any SpeechToText
    private let chatModel: any ChatModel
    private let avatar: (any Avatar)?
    private let sink: any MediaSink
    private let logger: Logger

    public nonisolated let events: AsyncStream<PipelineEvent>
    private let eventSink: AsyncStream<PipelineEvent>.Continuation
    private let problem: ProblemReport
    /// The agent's own speech until `start` has opened the cloud avatar, if there is one.
    private var voice: any AgentVoice
    private let audioToRecognizer = BoundedChannel<AudioFrame>(capacity: 50)
    private var transcription: (any TranscriptionStream)?
    private var backgroundTasks: [Task<Void, Never>] = []

    public private(set) var history: [ChatMessage] = []
    public private(set) var drafts = DraftCounts()
    private var voiceActivity: VoiceActivityDetector
    /// Final transcripts of the turn being spoken.
    private var pendingTranscript: [String] = []
    /// The recogniser's current guess at the words after those finals.
    private var turnInterim = ""
    /// A reply the model started on the participant's words at a pause, before the end of
    /// their turn was confirmed; nothing of it is said (or kept in history) until it is.
    private var draft: Draft?
    /// Recognition has closed an utterance; the turn ends once the pipeline hears silence too.
    private var utteranceClosed = false
    private var lastVoicedAt: ContinuousClock.Instant?
    /// Meeting audio received since the last voiced frame, frame by frame: a pause is measured
    /// in the audio heard, not in the time the pipeline took to process it.
    private var silenceHeard: Duration = .zero
    private var stretchStartedAt: ContinuousClock.Instant?
    private var lastReactionAt: ContinuousClock.Instant?
    private var reply: Reply?
    private var nextReplyID = 0
    /// Speech over the agent's reply, until it is judged.
    private var overlap: Overlap?
    private var hasGreeted = false
    private var greetingRequested = false
    private var isStopped = false

    /// Speech over the agent, from its first voiced frame until its words (or, bounded, its
    /// length) tell whether it takes the floor. Durations are of meeting audio, frame by frame.
    private struct Overlap {
        var voiced: Duration = .zero
        /// Voiced audio that sounded like a voice rather than noise.
        var voice: Duration = .zero
        /// Meeting audio since the speech stopped, while it has.
        var quiet: Duration = .zero
        var ducked = false
        /// Finished utterances heard during the overlap, and the recogniser's current guess.
        var finals: [String] = []
        var interim = ""
        /// Interim results in a row that took the floor, each the one before with more words:
        /// a recogniser held to phrases jumps between guesses ("when", "how many") before it settles.
        var floorTakingInterims = 0
        var words: String { (finals + [interim]).joined(separator: " ") }
    }

    /// The model's reply to words not yet known to be the whole turn. Its sentences wait in
    /// their channel (the model stalls once it is full) until the turn is confirmed.
    struct Draft: Sendable {
        var input: String
        var clock: ReplyClock
        var problems: HeldProblems
        var sentences: BoundedChannel<String>
        var thinking: Task<Void, Never>
    }

    private struct Reply {
        var id: Int
        var task: Task<Void, Never>
        var clock: ReplyClock?
        /// The participant's turn it answers: given back if they turn out not to have finished.
        var answering: String?
    }

    public init(
        configuration: VoiceConfiguration, context: MeetingContext, speechToText: any SpeechToText,
        chatModel: any ChatModel, textToSpeech: any TextToSpeech, avatar: (any Avatar)? = nil, sink: any MediaSink,
        logger: Logger
    ) {
        self.configuration = configuration
        self.context = context
        self.speechToText = speechToText
        self.chatModel = chatModel
        self.avatar = avatar
        self.sink = sink
        self.logger = logger
        self.voiceActivity = VoiceActivityDetector(thresholdDBFS: configuration.voiceThresholdDBFS)
        (events, eventSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        problem = ProblemReport(events: eventSink)
        voice = SpokenVoice(textToSpeech: textToSpeech, sink: sink, problem: problem, logger: logger)
    }

    /// Opens recognition, and the cloud avatar if there is one. Throws if the speech-to-text
    /// engine cannot start; an avatar that cannot is logged, and the agent speaks with its own voice.
    public func start() async throws {
        let transcription = try await speechToText.openStream()
        self.transcription = transcription
        if let avatar { await openAvatar(avatar) }
        await voice.start()
        let audio = audioToRecognizer
        let (logger, problem, recognizer) = (logger, problem, speechToText.name)
        backgroundTasks.append(
            Task {
                for await frame in audio {
                    do { try await transcription.send(frame) } catch {
                        logger.error("speech-to-text stopped taking audio", metadata: ["error": "\(error)"])
                        problem(.recognitionError, "\(recognizer) stopped taking audio: \(error)")
                        return
                    }
                }
            })
        backgroundTasks.append(Task { await self.readTranscripts(transcription) })
        if greetingRequested { await greet() }
    }

    /// Introduces the agent, once per call, as soon as the room can hear it. Best effort: a
    /// greeting the speech engine fails on is logged and skipped.
    public func greet() async {
        guard configuration.greets, !hasGreeted, !isStopped else { return }
        // The room may be connected before recognition has started: greet once it has.
        guard transcription != nil else {
            greetingRequested = true
            return
        }
        hasGreeted = true
        await startReply(.fixed(configuration.greeting), clock: nil, answering: nil)
    }

    private func openAvatar(_ avatar: any Avatar) async {
        let session: any AvatarSession
        do {
            session = try await avatar.openSession()
        } catch {
            logger.error(
                "the avatar could not be opened; the agent speaks with its own voice",
                metadata: ["avatar": "\(avatar.name)", "error": "\(error)"])
            problem(.engineFallback, "\(avatar.name) could not be opened, the agent spoke with its own voice: \(error)")
            return
        }
        guard !isStopped else {
            // The call ended while the avatar was opening: its session must not outlive the call.
            await session.close()
            return
        }
        voice = AvatarVoice(session: session, problem: problem, logger: logger)
        let sink = sink
        await sink.send(.avatarRoom(await session.room))
        backgroundTasks.append(
            Task {
                for await room in session.rotations { await sink.send(.avatarRoom(room)) }
            })
    }

    /// Stops everything the call runs; returns once no task of it is left.
    public func stop() async {
        guard !isStopped else { return }
        isStopped = true
        discardDraft("the call ended")
        if drafts.started > 0 {
            // Wasted drafts cost the model's tokens: how many is the price of the time they save.
            logger.info(
                "preemptive drafts",
                metadata: ["started": "\(drafts.started)", "used": "\(drafts.used)", "wasted": "\(drafts.wasted)"])
        }
        let stopping = reply
        reply = nil
        stopping?.task.cancel()
        if let stopping {
            // The call ended mid-reply: the record keeps what the room heard.
            let heard = await voice.cut()
            if !heard.text.isEmpty {
                history.append(ChatMessage(.assistant, heard.text))
                eventSink.yield(.said(heard.text, interrupted: heard.wasCut, latency: stopping.clock?.latency))
            }
        }
        audioToRecognizer.finish()
        await transcription?.close()
        await voice.shutdown()
        await stopping?.task.value
        for task in backgroundTasks {
            task.cancel()
            await task.value
        }
        backgroundTasks = []
        eventSink.finish()
    }

    /// One 20 ms frame of the meeting's audio, as it happens.
    public func receive(_ frame: AudioFrame) async {
        guard !isStopped else { return }
        let now = ContinuousClock.now
        await audioToRecognizer.send(frame)
        let change = voiceActivity.process(frame)
        if !voiceActivity.lastFrameVoiced {
            silenceHeard += PCM.duration(ofSamples: frame.samples.count)
            // Speech ended no later than its first silent frame came in, however early: frames
            // arrive with jitter, and no reply may be timed from after its own start.
            if let last = lastVoicedAt, now < last { lastVoicedAt = now }
        }
        if voiceActivity.lastFrameVoiced {
            silenceHeard = .zero
            lastVoicedAt = now + PCM.frameDuration
            // Speaking again: a closed utterance no longer ends the turn; the next one will.
            utteranceClosed = false
            // Nor were the words drafted on all of it.
            discardDraft("the speaker went on")
        }
        if change == .started { await speechStarted(at: now) }
        if voiceActivity.isSpeaking { await speechContinues(at: now) }
        await overhear(frame, voiced: voiceActivity.lastFrameVoiced)
        if utteranceClosed { await endTurnIfFinished(requireCompleteSentence: true) }
        draftIfPaused()
    }

    /// Cuts the agent short, as a participant talking over it would (a host muting the bot).
    public func stopSpeaking() async {
        await interrupt()
    }

    // MARK: Turn taking

    private func speechStarted(at now: ContinuousClock.Instant) async {
        stretchStartedAt = now
        guard let current = reply else {
            await react(.interested, at: now)
            return
        }
        // Still thinking, nothing said yet: the participant had not finished. Their turn goes on.
        if current.answering != nil, await !voice.hasSounded {
            current.task.cancel()
            reply = nil
            _ = await voice.cut()
            if let answering = current.answering {
                if history.last == ChatMessage(.user, answering) { history.removeLast() }
                pendingTranscript.insert(answering, at: 0)
            }
            logger.debug("participant went on speaking; reply withdrawn")
        }
    }

    private func speechContinues(at now: ContinuousClock.Instant) async {
        guard reply == nil, let since = lastReactionAt ?? stretchStartedAt, since.duration(to: now) >= configuration.nodInterval
        else { return }
        await react(.nod, at: now)
    }

    /// Follows speech over the agent frame by frame: the agent is lowered once it is more than
    /// a click, and comes back to full voice once the sound has ended and its words were only
    /// acknowledgement, or none came in time. Wordless speech past the limit takes the floor.
    private func overhear(_ frame: AudioFrame, voiced: Bool) async {
        guard reply != nil else { return }
        let policy = configuration.turns
        let length = PCM.duration(ofSamples: frame.samples.count)
        let voiceLike = voiced && frame.zeroCrossingRate <= policy.noiseZeroCrossingRate
        guard var current = overlap else {
            guard voiced, await voice.hasSounded else { return }
            overlap = Overlap(voiced: length, voice: voiceLike ? length : .zero)
            return
        }
        if voiced {
            current.voiced += length
            if voiceLike { current.voice += length }
            current.quiet = .zero
        } else {
            current.quiet += length
        }
        overlap = current
        if !current.ducked, voiced, current.voiced >= policy.bargeInMinimumSpeech {
            overlap?.ducked = true
            await voice.duck(to: policy.duckGain)
            logger.debug("participant speaking over the agent; agent lowered")
        }
        let verdict = policy.bargeIn(current.words)
        // Counted in voice, not in sound: a long hiss or rustle is no one taking the floor.
        if verdict != .acknowledgement, current.voice >= policy.wordlessInterruption {
            logger.debug("participant went on speaking over the agent without words that tell; agent cut")
            await interrupt()
        } else if !voiceActivity.isSpeaking {
            if verdict == .acknowledgement { await restoreVoice() }
            // The sound is kept until the recogniser's last words on it have come, so that they
            // are known to be about it (a late "mm-hm" is no turn).
            if current.quiet >= policy.verdictWait { await endOverlap() }
        }
    }

    /// Words heard while the agent speaks: the floor taken cuts it at once; an acknowledgement
    /// that has ended gives it back its voice.
    private func overheard(interim: String? = nil, final: String? = nil) async {
        guard let current = overlap, hasVoice(current) else { return }
        let previousInterim = current.interim
        if let final {
            overlap?.interim = ""
            if !final.isEmpty { overlap?.finals.append(final) }
        } else if let interim {
            overlap?.interim = interim
        }
        guard let words = overlap?.words else { return }
        let verdict = configuration.turns.bargeIn(words, isFinal: final != nil)
        logger.debug("words over the agent", metadata: ["verdict": "\(verdict)"])
        var floorTakingInterims = 0
        if verdict == .takesFloor, let interim {
            floorTakingInterims = interim.hasPrefix(previousInterim) ? current.floorTakingInterims + 1 : 1
        }
        overlap?.floorTakingInterims = floorTakingInterims
        switch verdict {
        case .takesFloor:
            guard final != nil || floorTakingInterims >= configuration.turns.floorTakingInterims else { return }
            await interrupt()
        case .acknowledgement where !voiceActivity.isSpeaking: await restoreVoice()
        case .acknowledgement, .undecided: return
        }
    }

    /// Whether the sound over the agent had a voice in it, for words heard in it to count.
    private func hasVoice(_ overlap: Overlap) -> Bool {
        overlap.voice >= configuration.turns.minimumVoice
    }

    /// The speech over the agent did not take the floor: a cough, an "mm-hm". Full voice again.
    private func restoreVoice() async {
        guard overlap?.ducked == true else { return }
        overlap?.ducked = false
        await voice.restore()
    }

    private func endOverlap() async {
        await restoreVoice()
        overlap = nil
    }

    private func readTranscripts(_ transcription: any TranscriptionStream) async {
        do {
            for try await event in transcription.events { await handle(event) }
        } catch {
            logger.error("speech-to-text failed", metadata: ["error": "\(error)"])
            problem(.recognitionError, "\(speechToText.name) failed: \(error)")
        }
    }

    private func handle(_ event: TranscriptEvent) async {
        switch event {
        case let .final(text, endOfSpeech):
            var text = text.trimmingCharacters(in: .whitespaces)
            if let overlap, !hasVoice(overlap), !text.isEmpty {
                logger.debug("words heard in a sound over the agent with no voice in it; ignored")
                text = ""
            }
            // An acknowledgement of the agent while it speaks is no turn of the participant's,
            // however late the agent finishes.
            let acknowledgesAgent = overlap != nil && configuration.turns.isBackchannel(text)
            if !text.isEmpty, !acknowledgesAgent { pendingTranscript.append(text) }
            turnInterim = ""
            await overheard(final: text)
            if endOfSpeech {
                utteranceClosed = true
                await endTurnIfFinished(requireCompleteSentence: true)
            }
            draftIfPaused()
        case .utteranceEnd:
            await endTurnIfFinished(requireCompleteSentence: false)
        case let .interim(text):
            turnInterim = overlap == nil ? text.trimmingCharacters(in: .whitespaces) : ""
            await overheard(interim: text)
            draftIfPaused()
        case .speechStarted:
            return
        }
    }

    /// Ends the participant's turn when recognition has closed it and they are silent. A turn
    /// that stops mid-sentence waits for the utterance-end gap.
    private func endTurnIfFinished(requireCompleteSentence: Bool) async {
        guard !pendingTranscript.isEmpty, isSilent else { return }
        let text = pendingTranscript.joined(separator: " ")
        if requireCompleteSentence, !configuration.turns.soundsComplete(text) { return }
        utteranceClosed = false
        if reply != nil {
            if configuration.turns.isBackchannel(text) {
                pendingTranscript = []
                return
            }
            await interrupt()
        }
        pendingTranscript = []
        turnInterim = ""
        history.append(ChatMessage(.user, text))
        eventSink.yield(.heard(text))
        let drafted = takeDraft(answering: text)
        let clock = drafted?.clock ?? ReplyClock(speechEnded: lastVoicedAt ?? .now)
        clock.mark(.sttFinal)
        await react(.thinking, at: .now)
        await startReply(drafted.map { .draft($0) } ?? .model, clock: clock, answering: text)
    }

    // MARK: Preemptive generation

    /// Starts the model on the participant's words once they pause and the words sound
    /// complete, before recognition and the pipeline have confirmed the end of the turn: the
    /// model's first token, the longest wait of a reply, then overlaps the confirmation. The
    /// words are the recogniser's finals of the turn and its latest guess at the rest (a
    /// recogniser that finalises only at its end-pointing has nothing final yet at the pause);
    /// the draft is used only if the turn's final transcript has the same words.
    private func draftIfPaused() {
        guard let pause = configuration.turns.draftPause, reply == nil, overlap == nil, !isStopped,
            !voiceActivity.lastFrameVoiced, let lastVoicedAt, silenceHeard >= pause
        else { return }
        let words = (pendingTranscript + [turnInterim]).filter { !$0.isEmpty }.joined(separator: " ")
        guard !words.isEmpty, configuration.turns.soundsComplete(words) else { return }
        if let draft {
            if Self.sameWords(draft.input, words) { return }
            discardDraft("the recogniser revised the words")
        }
        let clock = ReplyClock(speechEnded: lastVoicedAt)
        let sentences = BoundedChannel<String>(capacity: 4)
        let problems = HeldProblems(problem)
        let stages = replyStages(clock: clock, problems: { problems($0, $1) })
        let request = chatRequest(addingTurn: words)
        draft = Draft(
            input: words, clock: clock, problems: problems, sentences: sentences,
            thinking: Task { await stages.think(.model(request), into: sentences) })
        drafts.started += 1
        logger.debug("draft started at the speaker's pause")
    }

    /// The draft, if it answers exactly `turn`; any other draft is thrown away.
    private func takeDraft(answering turn: String) -> Draft? {
        guard let current = draft else { return nil }
        guard Self.sameWords(current.input, turn) else {
            discardDraft("the turn's final words differ")
            return nil
        }
        draft = nil
        drafts.used += 1
        current.problems.release()
        return current
    }

    private func discardDraft(_ reason: String) {
        guard let current = draft else { return }
        draft = nil
        current.thinking.cancel()
        current.sentences.finish()
        drafts.wasted += 1
        logger.debug("draft thrown away", metadata: ["reason": "\(reason)"])
    }

    /// The same words, whatever the case and punctuation the recogniser gave them.
    static func sameWords(_ one: String, _ other: String) -> Bool {
        TurnPolicy.words(one) == TurnPolicy.words(other)
    }

    private var isSilent: Bool {
        guard !voiceActivity.lastFrameVoiced else { return false }
        guard let lastVoicedAt else { return true }
        return lastVoicedAt.duration(to: .now) >= configuration.turns.turnEndSilence
    }

    /// The participant took the floor: the reply stops where the room stopped hearing it.
    private func interrupt() async {
        guard let current = reply else { return }
        reply = nil
        overlap = nil
        current.task.cancel()
        let heard = await voice.cut()
        if !heard.text.isEmpty { history.append(ChatMessage(.assistant, heard.text)) }
        eventSink.yield(.said(heard.text, interrupted: true, latency: current.clock?.latency))
        logger.info("agent interrupted", metadata: ["heard_words": "\(heard.text.split(separator: " ").count)"])
    }

    private func react(_ reaction: AvatarReaction, at now: ContinuousClock.Instant) async {
        lastReactionAt = now
        await sink.send(.reaction(reaction))
    }

    // MARK: Replies

    private enum Script: Sendable {
        case model
        case fixed(String)
        case draft(Draft)
    }

    private func chatRequest(addingTurn turn: String? = nil) -> ChatRequest {
        ChatRequest(
            messages: [
                ChatMessage(.system, context.systemPrompt(agentName: configuration.agentName, company: configuration.company))
            ]
                + history + (turn.map { [ChatMessage(.user, $0)] } ?? []))
    }

    private func replyStages(
        clock: ReplyClock?, problems: (@Sendable (CallProblem.Kind, String) -> Void)? = nil
    ) -> ReplyStages {
        let problem = problem
        // Only the agent's own speech starts on a clause: a cloud avatar makes each text a task
        // of its own, said after the one before with no shared contour, so its sentences stay whole.
        let clauseWords = voice is SpokenVoice ? configuration.turns.firstClauseMinimumWords : nil
        return ReplyStages(
            chatModel: chatModel, voice: voice, clock: clock, firstClauseMinimumWords: clauseWords,
            problem: problems ?? { problem($0, $1) }, logger: logger)
    }

    private func startReply(_ script: Script, clock: ReplyClock?, answering: String?) async {
        nextReplyID += 1
        let id = nextReplyID
        await voice.begin(clock: clock)
        let request = chatRequest()
        let stages = replyStages(clock: clock)
        let task = Task {
            switch script {
            case .model: await stages.run(.model(request))
            case let .fixed(text): await stages.run(.fixed(text))
            case let .draft(draft): await stages.speak(draft)
            }
            if !Task.isCancelled { await self.replyFinished(id) }
        }
        reply = Reply(id: id, task: task, clock: clock, answering: answering)
    }

    private func replyFinished(_ id: Int) async {
        guard let current = reply, current.id == id else { return }
        reply = nil
        overlap = nil
        let said = await voice.heardText
        if !said.isEmpty {
            history.append(ChatMessage(.assistant, said))
            eventSink.yield(.said(said, interrupted: false, latency: current.clock?.latency))
        }
        await react(.neutral, at: .now)
        // Speech that ended while the agent spoke may have finished a turn meanwhile.
        await endTurnIfFinished(requireCompleteSentence: true)
    }
}

/// A reply's stages, joined by a bounded channel: the model's text becomes sentences, which the
/// voice says (for the agent's own voice, two stages more: speech, then playout). Cancelling the
/// task that runs them stops them all.
struct ReplyStages: Sendable {
    enum Source: Sendable {
        case model(ChatRequest)
        case fixed(String)
    }

    let chatModel: any ChatModel
    let voice: any AgentVoice
    let clock: ReplyClock?
    let firstClauseMinimumWords: Int?
    let problem: @Sendable (CallProblem.Kind, String) -> Void
    let logger: Logger

    func run(_ source: Source) async {
        let sentences = BoundedChannel<String>(capacity: 4)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await think(source, into: sentences) }
            group.addTask { await voice.say(sentences, clock: clock) }
        }
    }

    /// Says a confirmed draft: what the model has written so far, then the rest as it comes.
    func speak(_ draft: VoicePipeline.Draft) async {
        await withTaskCancellationHandler {
            await voice.say(draft.sentences, clock: clock)
            await draft.thinking.value
        } onCancel: {
            draft.thinking.cancel()
            draft.sentences.finish()
        }
    }

    func think(_ source: Source, into sentences: BoundedChannel<String>) async {
        defer { sentences.finish() }
        var aggregator = SentenceAggregator(firstClauseMinimumWords: firstClauseMinimumWords)
        func emit(_ sentence: String) async -> Bool {
            clock?.mark(.firstSentence)
            return await sentences.send(sentence)
        }
        switch source {
        case let .fixed(text):
            for sentence in aggregator.add(text + " ") { guard await emit(sentence) else { return } }
        case let .model(request):
            clock?.mark(.llmStart)
            do {
                for try await delta in chatModel.stream(request) {
                    clock?.mark(.llmFirstToken)
                    for sentence in aggregator.add(delta) { guard await emit(sentence) else { return } }
                }
                clock?.mark(.llmDone)
            } catch  where !Task.isCancelled {
                logger.error("chat model failed", metadata: ["model": "\(chatModel.name)", "error": "\(error)"])
                let timedOut = if case ChatModelError.timedOut = error { true } else { false }
                problem(timedOut ? .modelTimeout : .modelError, "\(chatModel.name): \(error)")
            } catch {
                return
            }
        }
        if let rest = aggregator.flush() { _ = await emit(rest) }
    }
}
