import Foundation

/// A meeting bot's lifecycle status, with Recall.ai's codes. Unknown codes pass through
/// unchanged so that a provider adding a status does not break consumers.
public struct BotStatus: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let joiningCall = BotStatus(rawValue: "joining_call")
    public static let inWaitingRoom = BotStatus(rawValue: "in_waiting_room")
    public static let inCallNotRecording = BotStatus(rawValue: "in_call_not_recording")
    public static let inCallRecording = BotStatus(rawValue: "in_call_recording")
    public static let callEnded = BotStatus(rawValue: "call_ended")
    public static let done = BotStatus(rawValue: "done")
    public static let fatal = BotStatus(rawValue: "fatal")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct BotStatusChanged: EventPayload {
    public static let messageType = MessageType("bot.status.changed", version: 1)
    public var meetingID: UUID
    public var botID: String
    public var provider: String
    public var status: BotStatus
    public var subCode: String?
    public var changedAt: Date

    enum CodingKeys: String, CodingKey {
        case provider, status
        case meetingID = "meeting_id"
        case botID = "bot_id"
        case subCode = "sub_code"
        case changedAt = "changed_at"
    }

    public init(meetingID: UUID, botID: String, provider: String, status: BotStatus, subCode: String?, changedAt: Date) {
        self.meetingID = meetingID
        self.botID = botID
        self.provider = provider
        self.status = status
        self.subCode = subCode
        self.changedAt = changedAt
    }
}

/// Someone in the meeting finished saying something, as the meeting provider transcribed it.
public struct BotTranscriptReceived: EventPayload {
    public static let messageType = MessageType("bot.transcript.received", version: 1)
    public var meetingID: UUID
    public var botID: String
    public var speaker: String
    public var text: String
    public var spokenAt: Date

    enum CodingKeys: String, CodingKey {
        case speaker, text
        case meetingID = "meeting_id"
        case botID = "bot_id"
        case spokenAt = "spoken_at"
    }

    public init(meetingID: UUID, botID: String, speaker: String, text: String, spokenAt: Date) {
        self.meetingID = meetingID
        self.botID = botID
        self.speaker = speaker
        self.text = text
        self.spokenAt = spokenAt
    }
}

public struct CallTurn: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case participant, agent }
    public var role: Role
    public var speaker: String
    public var text: String
    public var at: Date
    /// An agent turn a participant cut short: `text` is what the room heard.
    public var interrupted: Bool?
    /// How fast the agent answered, for agent turns that answer a participant.
    public var latency: TurnLatency?

    public init(role: Role, speaker: String, text: String, at: Date, interrupted: Bool? = nil, latency: TurnLatency? = nil) {
        self.role = role
        self.speaker = speaker
        self.text = text
        self.at = at
        self.interrupted = interrupted
        self.latency = latency
    }
}

/// When each stage of one reply happened, measured from the end of the participant's speech.
/// Milliseconds; nil for a stage the reply never reached.
public struct TurnLatency: Sendable, Equatable, Codable {
    public var sttFinal: Double?
    /// When the model was asked. Before `sttFinal` when the reply grew from a draft started at
    /// the speaker's pause, before the end of the turn was confirmed.
    public var llmStart: Double?
    public var llmFirstToken: Double?
    public var firstSentence: Double?
    public var ttsFirstAudio: Double?
    /// Voice to voice: end of the participant's speech to the agent's first frame of sound out.
    public var firstAudioOut: Double?
    public var llmDone: Double?

    public init(
        sttFinal: Double? = nil, llmFirstToken: Double? = nil, firstSentence: Double? = nil,
        ttsFirstAudio: Double? = nil, firstAudioOut: Double? = nil, llmDone: Double? = nil, llmStart: Double? = nil
    ) {
        self.sttFinal = sttFinal
        self.llmStart = llmStart
        self.llmFirstToken = llmFirstToken
        self.firstSentence = firstSentence
        self.ttsFirstAudio = ttsFirstAudio
        self.firstAudioOut = firstAudioOut
        self.llmDone = llmDone
    }

    enum CodingKeys: String, CodingKey {
        case sttFinal = "stt_final_ms"
        case llmStart = "llm_start_ms"
        case llmFirstToken = "llm_first_token_ms"
        case firstSentence = "first_sentence_ms"
        case ttsFirstAudio = "tts_first_audio_ms"
        case firstAudioOut = "first_audio_out_ms"
        case llmDone = "llm_done_ms"
    }
}

/// A call the agent attended has ended; the transcript is complete.
public struct CallCompleted: EventPayload {
    public static let messageType = MessageType("call.completed", version: 1)
    public var sessionID: UUID
    public var meetingID: UUID
    public var botID: String
    public var startedAt: Date
    public var endedAt: Date
    public var turns: [CallTurn]
    /// What the agent knew, as the `Label: value` lines its model was given (the meeting's
    /// details and its prep materials). Absent from senders older than this field.
    public var context: [String]?
    /// What went wrong in the call's machinery (model errors, engine fallbacks, …), in order.
    public var problems: [CallProblem]?

    enum CodingKeys: String, CodingKey {
        case turns, context, problems
        case sessionID = "session_id"
        case meetingID = "meeting_id"
        case botID = "bot_id"
        case startedAt = "started_at"
        case endedAt = "ended_at"
    }

    public init(
        sessionID: UUID, meetingID: UUID, botID: String, startedAt: Date, endedAt: Date, turns: [CallTurn],
        context: [String]? = nil, problems: [CallProblem]? = nil
    ) {
        self.sessionID = sessionID
        self.meetingID = meetingID
        self.botID = botID
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.turns = turns
        self.context = context
        self.problems = problems
    }
}

/// Something in a call's machinery that did not work as it should, kept for the post-call diagnosis.
public struct CallProblem: Codable, Sendable, Equatable {
    /// Open set: a kind this build does not know is kept, not refused.
    public struct Kind: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The chat model failed mid-reply or before its first word.
        public static let modelError = Kind(rawValue: "model_error")
        /// The chat model was given up on after its deadline.
        public static let modelTimeout = Kind(rawValue: "model_timeout")
        /// Speech recognition failed or its connection dropped.
        public static let recognitionError = Kind(rawValue: "recognition_error")
        /// Speech synthesis failed for a sentence.
        public static let speechError = Kind(rawValue: "speech_error")
        /// A cloud engine was unavailable and the embedded one took over.
        public static let engineFallback = Kind(rawValue: "engine_fallback")
        /// The agent never greeted the room.
        public static let greetingFailed = Kind(rawValue: "greeting_failed")
        /// The meeting's media connection dropped during the call.
        public static let mediaDisconnected = Kind(rawValue: "media_disconnected")
    }

    public var kind: Kind
    public var at: Date
    /// What failed, in a line a person can read (no secrets: engine names and error kinds only).
    public var detail: String

    public init(kind: Kind, at: Date, detail: String) {
        self.kind = kind
        self.at = at
        self.detail = detail
    }
}

/// The post-call verdict: did the agent give people what they asked for? One per call session,
/// published once it is stored (an analysis that failed for good is published as `error`).
public struct MonitoringResultRecorded: EventPayload {
    public static let messageType = MessageType("monitoring.result", version: 2)

    /// Something someone in the call wanted from the agent, and how sure the analysis is.
    public struct Intent: Codable, Sendable, Equatable {
        public var type: String
        public var subject: String?
        public var confidence: Double
        /// pass, partial or fail; nil for an intent that is not a request (smalltalk).
        public var fulfilment: String?

        public init(type: String, subject: String? = nil, confidence: Double, fulfilment: String? = nil) {
            self.type = type
            self.subject = subject
            self.confidence = confidence
            self.fulfilment = fulfilment
        }
    }

    public var sessionID: UUID
    public var meetingID: UUID
    /// pass, fail, partial, skipped or error.
    public var status: String
    public var intents: [Intent]
    public var summary: String
    /// Which analyser judged ("embedded", "judge"), and the model with its prompt version for a judge.
    public var analyser: String
    public var model: String?
    public var promptVersion: String?

    enum CodingKeys: String, CodingKey {
        case status, intents, summary, analyser, model
        case sessionID = "session_id"
        case meetingID = "meeting_id"
        case promptVersion = "prompt_version"
    }

    public init(
        sessionID: UUID, meetingID: UUID, status: String, intents: [Intent], summary: String, analyser: String,
        model: String? = nil, promptVersion: String? = nil
    ) {
        self.sessionID = sessionID
        self.meetingID = meetingID
        self.status = status
        self.intents = intents
        self.summary = summary
        self.analyser = analyser
        self.model = model
        self.promptVersion = promptVersion
    }
}

/// Why a failed or partial call went wrong, from its evidence: the root causes found and a line
/// for the meeting's owner.
public struct CallDiagnosed: EventPayload {
    public static let messageType = MessageType("monitoring.diagnosis", version: 1)
    public var sessionID: UUID
    public var meetingID: UUID
    /// The session's status: fail or partial.
    public var status: String
    /// Root-cause kinds, most telling first (`contradicted_context`, `slow_reply`, `model_error`, …).
    public var rootCauses: [String]
    public var summary: String
    /// A model's short written account, where one was asked for.
    public var writtenSummary: String?

    enum CodingKeys: String, CodingKey {
        case status, summary
        case sessionID = "session_id"
        case meetingID = "meeting_id"
        case rootCauses = "root_causes"
        case writtenSummary = "written_summary"
    }

    public init(
        sessionID: UUID, meetingID: UUID, status: String, rootCauses: [String], summary: String,
        writtenSummary: String? = nil
    ) {
        self.sessionID = sessionID
        self.meetingID = meetingID
        self.status = status
        self.rootCauses = rootCauses
        self.summary = summary
        self.writtenSummary = writtenSummary
    }
}
