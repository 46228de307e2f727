import Foundation

/// Why a call went wrong: root causes found in the call's own evidence, each with the lines
/// that show it, and one line for the owner. Stored as jsonb, so the JSON is stable.
public struct Diagnosis: Codable, Sendable, Equatable {
    /// Most telling first: what failed the requests, then what went wrong around them.
    public var rootCauses: [RootCause]
    /// One line.
    public var summary: String
    /// A model's short written account, when a `DiagnosisWriter` added one.
    public var writtenSummary: String?
    /// The model that wrote it.
    public var writer: String?

    enum CodingKeys: String, CodingKey {
        case summary, writer
        case rootCauses = "root_causes"
        case writtenSummary = "written_summary"
    }

    public init(rootCauses: [RootCause], summary: String, writtenSummary: String? = nil, writer: String? = nil) {
        self.rootCauses = rootCauses
        self.summary = summary
        self.writtenSummary = writtenSummary
        self.writer = writer
    }

    public var kinds: [RootCauseKind] { rootCauses.map(\.kind) }
}

public struct RootCause: Codable, Sendable, Equatable {
    public var kind: RootCauseKind
    /// A phrase: "the answer contradicted the prep notes".
    public var summary: String
    /// Lines that show it, each naming its turn or time.
    public var evidence: [String]
    /// The turns involved.
    public var turns: [Int]

    public init(kind: RootCauseKind, summary: String, evidence: [String], turns: [Int] = []) {
        self.kind = kind
        self.summary = summary
        self.evidence = evidence
        self.turns = turns
    }
}

/// A closed set: raw values are metric labels (`monitoring_diagnoses_total{root_cause=…}`).
public enum RootCauseKind: String, Codable, Sendable, CaseIterable {
    /// A reply stated a figure or fact its context contradicts (verdict: wrong_fact).
    case contradictedContext = "contradicted_context"
    /// The agent said it did not know what its context held (verdict: unjustified_unknown).
    case ignoredContext = "ignored_context"
    /// What a request needed was not in the agent's context or prep materials.
    case missingContext = "missing_context"
    /// A reply answered something else (verdict: off_topic).
    case offTopicReply = "off_topic_reply"
    /// The agent said it could not do what was asked (verdict: declined).
    case declinedRequest = "declined_request"
    /// A request got no reply (verdict: no_reply).
    case noReply = "no_reply"
    /// A participant spoke over the agent and cut its reply short.
    case interruptedReply = "interrupted_reply"
    /// A reply came later than the voice-to-voice budget.
    case slowReply = "slow_reply"
    /// What a participant said reached the agent empty, too short or garbled.
    case poorRecognition = "poor_recognition"
    /// Speech recognition failed or dropped.
    case recognitionError = "recognition_error"
    case modelError = "model_error"
    case modelTimeout = "model_timeout"
    case speechError = "speech_error"
    /// A cloud engine was unavailable and the embedded one stood in.
    case engineFallback = "engine_fallback"
    /// The agent never greeted the room.
    case greetingFailed = "greeting_failed"
    case mediaDisconnected = "media_disconnected"
    /// A problem of a kind this build does not know.
    case otherProblem = "other_problem"
}

/// How fast a reply should come. The product's voice-to-voice target is 800 ms from the end of
/// a participant's speech to the agent's first sound.
public struct LatencyBudget: Sendable, Equatable {
    public var voiceToVoiceMs: Double

    public init(voiceToVoiceMs: Double = 800) {
        self.voiceToVoiceMs = voiceToVoiceMs
    }
}
