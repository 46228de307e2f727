/// Sends the agent's speech to the meeting in real time, a 20 ms frame per tick, and knows how
/// much of it has been heard: when speech is cut short, the words whose sound started before
/// the cut are what the room heard.
actor Playout {
    private let sink: any MediaSink
    private let clock = ContinuousClock()
    private var frames: [AudioFrame] = []
    private var nextFrame = 0
    /// Words of the current utterance, at sample offsets from its start.
    private var words: [(offset: Int, text: String)] = []
    private var queuedSamples = 0
    private var playedSamples = 0
    private var isPaused = false
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
        isPaused = false
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
        queuedSamples += chunk.samples.count
        let cues = Visemes.cues(for: chunk)
        if !cues.isEmpty { await sink.send(.visemes(cues)) }
        frames += PCM.frames(chunk.samples)
        wakeLoop()
    }

    /// Waits until everything queued has been sent (or the utterance was cut).
    func drained() async {
        if nextFrame >= frames.count { return }
        await withCheckedContinuation { drainWaiters.append($0) }
    }

    /// Holds the sound where it is; `resume` carries on from there.
    func pause() { isPaused = true }

    func resume() {
        isPaused = false
        wakeLoop()
    }

    /// Cuts the utterance: nothing more of it is sent, the far end drops what it buffered, and
    /// the answer is what the room heard.
    func cut() async -> HeardSpeech {
        let wasCut = nextFrame < frames.count
        discardQueued()
        isPaused = false
        if wasCut { await sink.send(.clear) }
        return HeardSpeech(text: heardText, wasCut: wasCut)
    }

    /// The words of the current utterance played so far.
    var heardText: String {
        words.filter { $0.offset < playedSamples }.map(\.text).joined(separator: " ")
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
            guard nextFrame < frames.count, !isPaused else {
                if nextFrame >= frames.count { finishDrain() }
                await withCheckedContinuation { frameWaiter = $0 }
                pacer.restart()
                continue
            }
            let frame = frames[nextFrame]
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
}
