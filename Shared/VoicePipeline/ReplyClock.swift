import Shared
import Synchronization

/// Stamps a reply's stages from the tasks that reach them; only the first stamp of each counts.
final class ReplyClock: Sendable {
    enum Stage: CaseIterable { case sttFinal, llmStart, llmFirstToken, firstSentence, ttsFirstAudio, firstAudioOut, llmDone }

    private let origin: ContinuousClock.Instant
    private let stamps = Mutex([Stage: ContinuousClock.Instant]())

    init(speechEnded origin: ContinuousClock.Instant) {
        self.origin = origin
    }

    func mark(_ stage: Stage, at instant: ContinuousClock.Instant = .now) {
        stamps.withLock { stamps in
            if stamps[stage] == nil { stamps[stage] = instant }
        }
    }

    var latency: TurnLatency {
        let stamps = stamps.withLock { $0 }
        func ms(_ stage: Stage) -> Double? {
            stamps[stage].map { origin.duration(to: $0) }.map {
                Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15
            }
        }
        return TurnLatency(
            sttFinal: ms(.sttFinal), llmFirstToken: ms(.llmFirstToken), firstSentence: ms(.firstSentence),
            ttsFirstAudio: ms(.ttsFirstAudio), firstAudioOut: ms(.firstAudioOut), llmDone: ms(.llmDone),
            llmStart: ms(.llmStart))
    }
}
