import SpeechEngines
import VoicePipeline

/// A participant in the meeting: speaks eSpeak NG's voice into the pipeline (or anything that
/// takes meeting audio, such as a media connection) in real time, a 20 ms frame every 20 ms,
/// and silence between sentences, as a meeting's audio arrives.
public struct SpeakingParticipant: Sendable {
    public let voice: ESpeakSynthesizer
    private let deliver: @Sendable (AudioFrame) async -> Void
    private let clock = ContinuousClock()

    public init(pipeline: VoicePipeline) throws {
        try self.init { await pipeline.receive($0) }
    }

    /// A participant whose frames go to `deliver`, in `voice` at `wordsPerMinute`.
    public init(
        voice: String = "en-us+klatt", wordsPerMinute: Int = 160, deliver: @escaping @Sendable (AudioFrame) async -> Void
    ) throws {
        self.voice = try ESpeakSynthesizer(voice: voice, wordsPerMinute: wordsPerMinute)
        self.deliver = deliver
    }

    /// Speaks `text`; returns when the first voiced frame went in.
    @discardableResult
    public func say(_ text: String) async throws -> ContinuousClock.Instant {
        await stream(try await frames(of: text))
    }

    /// The frames of `text` in this participant's voice, for `stream`: a test that must cut in
    /// at a given moment synthesises beforehand, so that no synthesis time comes in between.
    public func frames(of text: String) async throws -> [AudioFrame] {
        var samples: [Int16] = []
        for try await chunk in voice.synthesize(text) { samples += chunk.samples }
        return PCM.frames(samples)
    }

    /// Streams frames in real time; returns when the first voiced one went in.
    @discardableResult
    public func stream(_ frames: [AudioFrame]) async -> ContinuousClock.Instant {
        var pacer = FramePacer()
        var onset: ContinuousClock.Instant?
        for frame in frames {
            if onset == nil, frame.level >= -45 { onset = clock.now }
            await deliver(frame)
            try? await pacer.wait()
        }
        return onset ?? clock.now
    }

    /// Silence, as long as `duration`, or until `condition` holds (checked every frame).
    public func listen(for duration: Duration, until condition: () -> Bool = { false }) async {
        let end = clock.now + duration
        var pacer = FramePacer()
        while clock.now < end, !condition() {
            await deliver(.silence)
            try? await pacer.wait()
        }
    }
}
