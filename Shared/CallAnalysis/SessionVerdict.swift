import Foundation
import Shared

/// A session's verdict: what people wanted from the agent, whether they got it, and a line
/// saying so. Stored as jsonb and published, so the JSON (snake_case keys) is stable.
public struct SessionVerdict: Codable, Sendable, Equatable {
    public var status: SessionStatus
    /// Everything detected, in the order first expressed (`none`, when reported, last); only
    /// intents with `confidence ≥ 0.5` whose type counts (not smalltalk, not none) are things
    /// to fulfil.
    public var intents: [DetectedIntent]
    /// One per intent to fulfil, in the order of `intents`.
    public var fulfilments: [IntentFulfilment]
    public var summary: String
    /// Which analyser: "embedded", "judge".
    public var analyser: String
    /// The judge's model ("openai:gpt-4o-mini"); nil for the embedded analyser.
    public var model: String?
    /// The judge's prompt version; nil for the embedded analyser.
    public var promptVersion: String?

    enum CodingKeys: String, CodingKey {
        case status, intents, fulfilments, summary, analyser, model
        case promptVersion = "prompt_version"
    }

    public init(
        status: SessionStatus, intents: [DetectedIntent], fulfilments: [IntentFulfilment], summary: String, analyser: String,
        model: String? = nil, promptVersion: String? = nil
    ) {
        self.status = status
        self.intents = intents
        self.fulfilments = fulfilments
        self.summary = summary
        self.analyser = analyser
        self.model = model
        self.promptVersion = promptVersion
    }

    /// The lowest confidence at which an intent is taken as meant.
    public static let confidenceThreshold = 0.5

    /// The types of the intents taken as meant (confidence ≥ 0.5), each once, in order.
    public var intentTypes: [IntentType] {
        var seen: [IntentType] = []
        for intent in intents where intent.confidence >= Self.confidenceThreshold && !seen.contains(intent.type) {
            seen.append(intent.type)
        }
        return seen
    }

    /// The session's status from its fulfilments, the rule every analyser follows: skipped when
    /// nobody spoke or nothing was asked (no counting intent with confidence ≥ 0.5); pass when
    /// every such intent passed; fail when none passed or was partly fulfilled; partial otherwise.
    public static func status(
        participantTurns: Int, intents: [DetectedIntent], fulfilments: [IntentFulfilment], counts: (IntentType) -> Bool
    ) -> SessionStatus {
        guard participantTurns > 0 else { return .skipped }
        let asked = intents.filter { $0.confidence >= confidenceThreshold && counts($0.type) }
        guard !asked.isEmpty else { return .skipped }
        let outcomes = asked.map { intent in
            fulfilments.first { $0.intent == intent.type && $0.subject == intent.subject }?.status ?? .fail
        }
        if outcomes.allSatisfy({ $0 == .pass }) { return .pass }
        if outcomes.allSatisfy({ $0 == .fail }) { return .fail }
        return .partial
    }
}

public enum SessionStatus: String, Codable, Sendable, CaseIterable {
    case pass, fail, partial, skipped
    /// The analysis itself failed. Set by the service that ran it, never by an analyser.
    case error
}

/// Something someone wanted from the agent.
public struct DetectedIntent: Codable, Sendable, Equatable {
    public var type: IntentType
    /// What it is about, for intents with subjects (ask_fact: budget, staffing, …).
    public var subject: String?
    /// The participant turns it comes from (indexes into the call's turns), in order.
    public var turns: [Int]
    /// In [0, 1]; 0.5 and above is taken as meant.
    public var confidence: Double

    public init(type: IntentType, subject: String? = nil, turns: [Int], confidence: Double) {
        self.type = type
        self.subject = subject
        self.turns = turns
        self.confidence = confidence
    }
}

public enum FulfilmentStatus: String, Codable, Sendable, CaseIterable {
    case pass, partial, fail
}

/// Why an intent was not (fully) fulfilled. Raw values are stored and used as metric labels.
public enum FailureKind: String, Codable, Sendable, CaseIterable {
    /// The agent's reply was interrupted before (all of) the answer was heard.
    case cutOff = "cut_off"
    /// The agent said it did not know while the answer was in its context.
    case unjustifiedUnknown = "unjustified_unknown"
    /// The reply stated a figure or fact that contradicts the context (or that nothing in it supports).
    case wrongFact = "wrong_fact"
    /// The reply was about something else.
    case offTopic = "off_topic"
    /// No agent turn followed.
    case noReply = "no_reply"
    /// The agent rightly said it did not know: the answer was not in its context or prep materials.
    case missingContext = "missing_context"
    /// The agent said it could not do what was asked.
    case declined
}

/// A turn quoted as evidence.
public struct QuotedTurn: Codable, Sendable, Equatable {
    public var index: Int
    public var role: String
    public var speaker: String
    public var text: String

    public init(index: Int, role: String, speaker: String, text: String) {
        self.index = index
        self.role = role
        self.speaker = speaker
        self.text = text
    }
}

/// Whether the agent gave someone what they wanted.
public struct IntentFulfilment: Codable, Sendable, Equatable {
    public var intent: IntentType
    public var subject: String?
    public var status: FulfilmentStatus
    /// Set exactly when `status` is not pass.
    public var failureKind: FailureKind?
    /// The request and the reply.
    public var evidence: [QuotedTurn]
    /// One line.
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case intent, subject, status, evidence, reason
        case failureKind = "failure_kind"
    }

    public init(
        intent: IntentType, subject: String? = nil, status: FulfilmentStatus, failureKind: FailureKind? = nil,
        evidence: [QuotedTurn], reason: String
    ) {
        self.intent = intent
        self.subject = subject
        self.status = status
        self.failureKind = failureKind
        self.evidence = evidence
        self.reason = reason
    }
}

extension CallTurn {
    func quoted(at index: Int) -> QuotedTurn {
        QuotedTurn(index: index, role: role.rawValue, speaker: speaker, text: text)
    }
}
