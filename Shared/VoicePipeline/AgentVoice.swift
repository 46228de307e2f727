import Logging

/// What one reply put in front of the room.
struct HeardSpeech: Sendable {
    var text: String
    var wasCut: Bool
}

/// How the agent's replies reach the room: its own speech, played out frame by frame
/// (`SpokenVoice`), or a cloud avatar that is handed the text and speaks it in its own room
/// (`AvatarVoice`). A reply is `begin`, then `say` with its sentences as the model writes them;
/// a participant talking over the agent makes the pipeline `duck` it while it listens, then
/// `restore` it, or `cut` it if they took the floor.
protocol AgentVoice: Sendable {
    func start() async
    /// Nothing more is said once it returns.
    func shutdown() async
    /// Starts a new reply; `clock`, when the reply answers a participant, is stamped as its sound starts.
    func begin(clock: ReplyClock?) async
    /// Says the sentences as they come; returns once they have all been heard, or when the
    /// calling task is cancelled.
    func say(_ sentences: BoundedChannel<String>, clock: ReplyClock?) async
    /// Whether any of the current reply has reached the room.
    var hasSounded: Bool { get async }
    /// Lowers the speech to `gain` without stopping it, where the voice can; `restore` brings
    /// it back to full. Words said while lowered do not count as heard if the reply is cut.
    func duck(to gain: Double) async
    func restore() async
    /// Stops the current reply; the answer is what the room heard of it.
    func cut() async -> HeardSpeech
    /// The words of the current reply the room has heard so far.
    var heardText: String { get async }
}

/// The agent's own speech: text-to-speech, then real-time playout to the meeting with viseme
/// cues for the page's avatar.
struct SpokenVoice: AgentVoice {
    private struct Speech: Sendable {
        var chunk: SpeechChunk
        /// The sentence, on its first chunk.
        var text: String?
    }

    let textToSpeech: any TextToSpeech
    let playout: Playout
    let problem: ProblemReport
    let logger: Logger

    init(textToSpeech: any TextToSpeech, sink: any MediaSink, problem: ProblemReport, logger: Logger) {
        self.textToSpeech = textToSpeech
        playout = Playout(sink: sink)
        self.problem = problem
        self.logger = logger
    }

    func start() async { await playout.start() }
    func shutdown() async { await playout.shutdown() }

    func begin(clock: ReplyClock?) async {
        await playout.begin(onFirstFrame: { instant in clock?.mark(.firstAudioOut, at: instant) })
    }

    func say(_ sentences: BoundedChannel<String>, clock: ReplyClock?) async {
        let speech = BoundedChannel<Speech>(capacity: 8)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await synthesize(sentences, into: speech, clock: clock) }
            group.addTask {
                for await piece in speech { await playout.enqueue(piece.chunk, text: piece.text) }
                if !Task.isCancelled { await playout.drained() }
            }
        }
    }

    private func synthesize(_ sentences: BoundedChannel<String>, into speech: BoundedChannel<Speech>, clock: ReplyClock?) async {
        defer { speech.finish() }
        if let reply = textToSpeech.openReply() {
            guard await synthesize(sentences, over: reply, into: speech, clock: clock) else { return }
        }
        // Sentence by sentence: the engine's way, or what is left after its connection failed.
        for await sentence in sentences {
            do {
                var first = true
                for try await chunk in textToSpeech.synthesize(sentence) {
                    clock?.mark(.ttsFirstAudio)
                    guard await speech.send(Speech(chunk: chunk, text: first ? sentence : nil)) else { return }
                    first = false
                }
            } catch  where !Task.isCancelled {
                // Best effort: the sentence is skipped, the call goes on.
                logger.error("speech synthesis failed", metadata: ["engine": "\(textToSpeech.name)", "error": "\(error)"])
                problem(.speechError, "\(textToSpeech.name) could not say a sentence: \(error)")
            } catch {
                return
            }
        }
    }

    /// The reply's sentences over one connection. Returns false if the reply was cut; true
    /// when it was said, or when the connection failed, leaving the sentences not yet sent
    /// over it to be said one by one (those it had taken are lost, as a failed sentence is).
    private func synthesize(
        _ sentences: BoundedChannel<String>, over reply: any ReplySpeech, into speech: BoundedChannel<Speech>,
        clock: ReplyClock?
    ) async -> Bool {
        await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                for await sentence in sentences { reply.say(sentence) }
                reply.finish()
                return nil
            }
            group.addTask {
                do {
                    for try await chunk in reply.chunks {
                        clock?.mark(.ttsFirstAudio)
                        // The engine's word timings place the words; no sentence text is needed.
                        guard await speech.send(Speech(chunk: chunk, text: nil)) else { return false }
                    }
                    return !Task.isCancelled
                } catch  where !Task.isCancelled {
                    logger.error(
                        "speech synthesis failed; the rest of the reply goes sentence by sentence",
                        metadata: ["engine": "\(textToSpeech.name)", "error": "\(error)"])
                    problem(.speechError, "\(textToSpeech.name) could not say a reply: \(error)")
                    return true
                } catch {
                    return false
                }
            }
            var said = true
            while let outcome = await group.next() {
                guard let outcome else { continue }
                said = outcome
                // The reader is done: a feeder still waiting for sentences leaves them to the caller.
                group.cancelAll()
            }
            return said
        }
    }

    var hasSounded: Bool { get async { await playout.hasSounded } }
    func duck(to gain: Double) async { await playout.duck(to: gain) }
    func restore() async { await playout.restore() }
    func cut() async -> HeardSpeech { await playout.cut() }
    var heardText: String { get async { await playout.heardText } }
}

/// The agent's replies said by a cloud avatar, which renders voice and lip sync itself: each
/// sentence is handed over as text, in order. The avatar's volume is its own, so it cannot be
/// ducked: a participant who talks over it cuts it once the pipeline is sure they took the floor.
///
/// The avatar does not report how far into a sentence it was cut, so what the room heard is
/// reckoned from time: each sentence starts when it is handed over or when the one before
/// ends, and lasts as long as the avatar reported (or, until it has, as long as the words at
/// the pace of the sentences it did report).
actor AvatarVoice: AgentVoice {
    private struct Utterance {
        var words: [Substring]
        var startsAt: ContinuousClock.Instant
        var duration: Duration
        var endsAt: ContinuousClock.Instant { startsAt + duration }
    }

    private let session: any AvatarSession
    private let problem: ProblemReport
    private let logger: Logger
    private var utterances: [Utterance] = []
    /// Which reply `utterances` belong to, so that a cancelled reply's late answer changes nothing.
    private var reply = 0
    /// 150 words a minute, an ordinary speaking pace, until the avatar's own pace is known.
    private var pace: Duration = .milliseconds(400)
    /// A sentence was handed over and not answered: the avatar may be saying it, whatever the
    /// estimate, and a cancelled request does not stop it.
    private var mayBeSpeaking = false

    init(session: any AvatarSession, problem: ProblemReport, logger: Logger) {
        self.session = session
        self.problem = problem
        self.logger = logger
    }

    func start() async {}

    func shutdown() async {
        utterances = []
        await session.close()
    }

    func begin(clock: ReplyClock?) async {
        reply += 1
        utterances = []
    }

    func say(_ sentences: BoundedChannel<String>, clock: ReplyClock?) async {
        let reply = reply
        for await sentence in sentences {
            // A cut reply's request may still be answered (HeyGen answers it at the interrupt).
            guard !Task.isCancelled, reply == self.reply else { return }
            let words = sentence.split(separator: " ")
            utterances.append(
                Utterance(
                    words: words, startsAt: max(.now, utterances.last?.endsAt ?? .now), duration: pace * words.count))
            // Only this task appends to the reply's utterances, so the index holds while the reply does.
            let index = utterances.count - 1
            mayBeSpeaking = true
            do {
                let reported = try await session.speak(sentence)
                guard reply == self.reply else { return }
                mayBeSpeaking = false
                guard let reported, !words.isEmpty else { continue }
                pace = reported / words.count
                utterances[index].duration = reported
            } catch  where !Task.isCancelled {
                // Best effort: the sentence is skipped, the call goes on.
                logger.error("avatar could not say a sentence", metadata: ["error": "\(error)"])
                problem(.speechError, "the avatar could not say a sentence: \(error)")
                guard reply == self.reply else { return }
                mayBeSpeaking = false
                utterances.remove(at: index)
            } catch {
                return
            }
        }
        // A reply is over when the room has heard it, not when the avatar accepted the text.
        if let end = utterances.last?.endsAt, reply == self.reply { try? await Task.sleep(until: end, clock: .continuous) }
    }

    var hasSounded: Bool { utterances.contains { $0.startsAt <= .now } }

    func duck(to gain: Double) async {}
    func restore() async {}

    func cut() async -> HeardSpeech {
        let now = ContinuousClock.now
        let heard = heardText(at: now)
        let wasCut = mayBeSpeaking || utterances.contains { $0.endsAt > now }
        reply += 1
        utterances = []
        mayBeSpeaking = false
        if wasCut {
            do { try await session.interrupt() } catch {
                logger.error("could not interrupt the avatar", metadata: ["error": "\(error)"])
            }
        }
        return HeardSpeech(text: heard, wasCut: wasCut)
    }

    var heardText: String { heardText(at: .now) }

    private func heardText(at now: ContinuousClock.Instant) -> String {
        utterances.flatMap { utterance -> ArraySlice<Substring> in
            guard now > utterance.startsAt else { return [] }
            guard now < utterance.endsAt else { return utterance.words[...] }
            let spoken = utterance.startsAt.duration(to: now) / utterance.duration
            // A word counts as heard once it has begun.
            return utterance.words.prefix(Int((spoken * Double(utterance.words.count)).rounded(.up)))
        }.joined(separator: " ")
    }
}
