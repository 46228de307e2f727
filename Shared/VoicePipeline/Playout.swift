/// Sends the agent's speech to the meeting in real time, a 20 ms frame per tick, and knows how
/// much of it has been heard: when speech is cut short, the words whose sound started before
/// the cut (or, if it had been lowered for a participant, before it was lowered) are what the
/// room heard. Lowering the sound (ducking) keeps it flowing, so that a participant's "mm-hm"
/// is never answered by a silence.
actor Playout {
    private let sink: any MediaSink
    private let clock = ContinuousClock()
    private var frames: [AudioFrame] = []
    private var nextFrame = 0
    /// Words of the current utterance, at sample offsets from its start.
    private var words: [(offset: Int, text: String)] = []
    private var queuedSamples = 0
    private var playedSamples = 0
    /// The gain the last frame ended on, and the one the next frame ramps to: a ramp over one
    /// frame, because a step in level clicks.
    private var gain = 1.0
    private var targetGain = 1.0
    /// Where the sound was lowered, while it is: words from there on were said under a participant.
    private var duckedAtSample: Int?
    private var frameWaiter: CheckedContinuation<Void, Never>?
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var firstFrameObserver: (@Sendable (ContinuousClock.Instant) -> Void)?
    private var loop: Task<Void, Never>?

    init(sink: any MediaSink) {
        self.sink = sink
    }

    func start() {
        guard loop == nil else { return }
        loop = Task { await self.run() }
    }

    /// Stops the loop; nothing more is sent.
    func shutdown() async {
        loop?.cancel()
        frameWaiter?.resume()
        frameWaiter = nil
        finishDrain()
        await loop?.value
        loop = nil
    }

    /// Starts a new utterance; `onFirstFrame` learns when its first frame leaves.
    func begin(onFirstFrame: @escaping @Sendable (ContinuousClock.Instant) -> Void) {
        discardQueued()
        words = []
        queuedSamples = 0
        playedSamples = 0
        restore()
        gain = 1
        firstFrameObserver = onFirstFrame
    }

    /// Queues a chunk of the current utterance. Without word timings from the engine, the
    /// chunk's text is spread evenly over its sound.
    func enqueue(_ chunk: SpeechChunk, text: String?) async {
        if chunk.words.isEmpty, let text {
            let parts = text.split(separator: " ")
            for (index, part) in parts.enumerated() {
                words.append((queuedSamples + index * chunk.samples.count / max(parts.count, 1), String(part)))
            }
        } else {
            words += chunk.words.map { (queuedSamples + $0.sampleOffset, $0.text) }
        }
        let chunkFrames = PCM.frames(chunk.samples)
        // Counted as sent, padding included, so that word offsets stay in step with the sound.
        queuedSamples += chunkFrames.count * PCM.samplesPerFrame
        let cues = Visemes.cues(for: chunk)
        if !cues.isEmpty { await sink.send(.visemes(cues)) }
        frames += chunkFrames
        wakeLoop()
    }

    /// Waits until everything queued has been sent (or the utterance was cut).
    func drained() async {
        if nextFrame >= frames.count { return }
        await withCheckedContinuation { drainWaiters.append($0) }
    }

    /// Lowers the sound to `gain` from the next frame on, without stopping it; `restore` brings
    /// it back to full.
    func duck(to gain: Double) {
        targetGain = gain
        if duckedAtSample == nil { duckedAtSample = playedSamples }
    }

    func restore() {
        targetGain = 1
        duckedAtSample = nil
    }

    /// Cuts the utterance: nothing more of it is sent, the far end drops what it buffered, and
    /// the answer is what the room heard.
    func cut() async -> HeardSpeech {
        let wasCut = nextFrame < frames.count
        discardQueued()
        let heard = words(before: duckedAtSample ?? playedSamples)
        restore()
        if wasCut { await sink.send(.clear) }
        return HeardSpeech(text: heard, wasCut: wasCut)
    }

    /// The words of the current utterance played so far.
    var heardText: String { words(before: playedSamples) }

    private func words(before sample: Int) -> String {
        words.filter { $0.offset < sample }.map(\.text).joined(separator: " ")
    }

    /// Whether any of the current utterance has been sent.
    var hasSounded: Bool { playedSamples > 0 }

    private func discardQueued() {
        frames = []
        nextFrame = 0
        finishDrain()
    }

    private func finishDrain() {
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func wakeLoop() {
        frameWaiter?.resume()
        frameWaiter = nil
    }

    private func run() async {
        var pacer = FramePacer()
        while !Task.isCancelled {
            guard nextFrame < frames.count else {
                if nextFrame >= frames.count { finishDrain() }
                await withCheckedContinuation { frameWaiter = $0 }
                pacer.restart()
                continue
            }
            let frame = leveled(frames[nextFrame])
            nextFrame += 1
            playedSamples += frame.samples.count
            if let observer = firstFrameObserver {
                firstFrameObserver = nil
                observer(clock.now)
            }
            await sink.send(.audio(frame))
            try? await pacer.wait()
        }
    }

    /// `frame` at the current gain, ramped towards the target across the frame.
    private func leveled(_ frame: AudioFrame) -> AudioFrame {
        guard gain != 1 || targetGain != 1 else { return frame }
        let (from, to) = (gain, targetGain)
        gain = to
        let step = (to - from) / Double(frame.samples.count)
        return AudioFrame(
            frame.samples.enumerated().map { index, sample in
                Int16(clamping: Int((Double(sample) * (from + step * Double(index + 1))).rounded()))
            })
    }
}
