/// Frame-by-frame voice activity from the signal level: the pipeline's own, independent of the
/// speech-to-text engine, because barge-in must react within a few frames and a cloud engine's
/// voice events arrive later than that.
public struct VoiceActivityDetector: Sendable {
    public enum Change: Sendable, Equatable {
        case started
        /// The stretch ended; `voiced` is how long it was voiced (pauses inside it excluded).
        case stopped(voiced: Duration)
    }

    public var thresholdDBFS: Double
    /// Silence that ends a stretch of speech: shorter gaps are pauses between words.
    public var release: Duration
    public private(set) var isSpeaking = false
    /// Whether the last frame processed was voiced.
    public private(set) var lastFrameVoiced = false
    /// Voiced audio since the current stretch started.
    public private(set) var voiced: Duration = .zero
    private var silence: Duration = .zero

    public init(thresholdDBFS: Double = -45, release: Duration = .milliseconds(200)) {
        self.thresholdDBFS = thresholdDBFS
        self.release = release
    }

    public mutating func process(_ frame: AudioFrame) -> Change? {
        let duration = PCM.duration(ofSamples: frame.samples.count)
        lastFrameVoiced = frame.level >= thresholdDBFS
        if lastFrameVoiced {
            silence = .zero
            voiced += duration
            if !isSpeaking {
                isSpeaking = true
                return .started
            }
            return nil
        }
        guard isSpeaking else { return nil }
        silence += duration
        guard silence >= release else { return nil }
        isSpeaking = false
        defer { voiced = .zero }
        return .stopped(voiced: voiced)
    }
}
