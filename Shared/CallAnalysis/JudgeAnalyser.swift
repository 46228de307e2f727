import Foundation
import LanguageModel
import Shared

/// LLM-as-a-judge over any chat model (an OpenAI-compatible endpoint in production): the
/// taxonomy's rubric per intent, the transcript with turn indexes and the agent's context go
/// in; JSON matching `schema` must come out, and is checked field by field against the schema,
/// the taxonomy and the call before it becomes a verdict. The session's status is worked out
/// here by the same rule as the embedded analyser's, not taken from the model.
public struct JudgeAnalyser: CallAnalyser {
    /// Stored with every verdict; change it whenever the prompt or schema changes meaning.
    public static let promptVersion = "intent-judge/1"

    public let name = "judge"
    public let model: any ChatModel
    public let taxonomy: IntentTaxonomy
    public var maxTokens: Int

    public init(model: any ChatModel, taxonomy: IntentTaxonomy = .bundledDefault, maxTokens: Int = 2_000) {
        self.model = model
        self.taxonomy = taxonomy
        self.maxTokens = maxTokens
    }

    public func analyse(_ call: CallCompleted) async throws -> SessionVerdict {
        guard call.turns.contains(where: { $0.role == .participant }) else {
            // Nothing anybody could have wanted: no need to ask (or pay) a model.
            return SessionVerdict(
                status: .skipped, intents: [], fulfilments: [], summary: "skipped: no participant spoke", analyser: name,
                model: model.name, promptVersion: Self.promptVersion)
        }
        let answer: String
        do {
            answer = try await model.complete(request(for: call))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CallAnalysisError.modelFailed(model: model.name, reason: "\(error)")
        }
        return try verdict(fromAnswer: answer, for: call)
    }

    // MARK: The request

    public func request(for call: CallCompleted) -> ChatRequest {
        ChatRequest(
            messages: [ChatMessage(.system, instructions), ChatMessage(.user, Self.callText(call))], maxTokens: maxTokens,
            temperature: 0, responseFormat: ResponseFormat(name: "call_verdict", schema: schema))
    }

    var instructions: String {
        var lines = [
            "You review a finished meeting call between participants and an AI meeting assistant (the agent).",
            "Decide what the participants wanted from the agent, and whether the agent's replies gave it to them.",
            "Answer with one JSON object matching the schema, nothing else.",
            "",
            "Intents (use these names only):",
        ]
        for intent in taxonomy.intents {
            var line = "- \(intent.type.rawValue): \(intent.rubric)"
            if !intent.subjects.isEmpty {
                line +=
                    " Subjects (set `subject` to one of these, or null if none fits): "
                    + intent.subjects.map(\.name).joined(separator: ", ") + "."
            }
            lines.append(line)
        }
        lines += [
            "",
            "Rules:",
            "- An intent comes from participant turns: list every turn that expressed it (the numbers in brackets) and your "
                + "confidence in [0, 1] that it was meant. One entry per intent and subject. `subject` is null for intents "
                + "without subjects.",
            "- Use smalltalk for greetings, thanks and social talk; use none only when nobody wanted anything of the agent.",
            "- For every intent with something to fulfil (not smalltalk, not none) and confidence 0.5 or more, give exactly "
                + "one fulfilment, and none for the others: `intent_index` is its position in `intents` (from 0); `status` "
                + "pass, partial or fail; `failure_kind` null for pass, else one of:",
        ]
        for kind in FailureKind.allCases {
            lines.append("  - \(kind.rawValue): \(Self.meaning(of: kind))")
        }
        lines += [
            "  `evidence_turns`: the request's and the reply's turn numbers; `reason`: one line.",
            "- The context lines are everything the agent was given: judge its facts against them, and count an answer the "
                + "context holds as known to the agent.",
            "- `summary`: one line on the call as a whole.",
        ]
        return lines.joined(separator: "\n")
    }

    static func meaning(of kind: FailureKind) -> String {
        switch kind {
        case .cutOff: "the agent's reply was interrupted before the answer was heard"
        case .unjustifiedUnknown: "the agent said it did not know while the answer was in its context"
        case .wrongFact: "the reply stated a figure or fact that contradicts the context or that nothing in it supports"
        case .offTopic: "the reply was about something else"
        case .noReply: "no agent turn followed the request"
        case .missingContext: "the agent rightly said it did not know: nothing in its context covered it"
        case .declined: "the agent said it could not do what was asked"
        }
    }

    static func callText(_ call: CallCompleted) -> String {
        var lines = ["Context the agent was given:"]
        switch call.context {
        case nil: lines.append("(not recorded for this call)")
        case let context? where context.isEmpty: lines.append("(nothing)")
        case let context?: lines += context
        }
        lines += ["", "Transcript ([index] role speaker: text; [cut off] marks an agent turn a participant interrupted):"]
        for (index, turn) in call.turns.enumerated() {
            let cut = turn.role == .agent && turn.interrupted == true ? " [cut off]" : ""
            lines.append("[\(index)] \(turn.role.rawValue) \(turn.speaker): \(turn.text)\(cut)")
        }
        return lines.joined(separator: "\n")
    }

    /// The JSON schema of the answer, in the strict subset OpenAI's structured outputs accept
    /// (every property required, no others allowed, null spelt as a type).
    var schema: JSONValue {
        let subjects = Array(Set(taxonomy.intents.flatMap { $0.subjects.map(\.name) })).sorted()
        func object(_ properties: [String: JSONValue]) -> JSONValue {
            .object([
                "type": .string("object"), "additionalProperties": .bool(false),
                "required": .array(properties.keys.sorted().map(JSONValue.string)), "properties": .object(properties),
            ])
        }
        let integers: JSONValue = .object(["type": .string("array"), "items": .object(["type": .string("integer")])])
        let intent = object([
            "type": .object(["type": .string("string"), "enum": .array(taxonomy.intents.map { .string($0.type.rawValue) })]),
            "subject": .object([
                "type": .array([.string("string"), .string("null")]), "enum": .array(subjects.map(JSONValue.string) + [.null]),
            ]),
            "turns": integers,
            "confidence": .object(["type": .string("number")]),
        ])
        let fulfilment = object([
            "intent_index": .object(["type": .string("integer")]),
            "status": .object(["type": .string("string"), "enum": .array(FulfilmentStatus.allCases.map { .string($0.rawValue) })]
            ),
            "failure_kind": .object([
                "type": .array([.string("string"), .string("null")]),
                "enum": .array(FailureKind.allCases.map { .string($0.rawValue) } + [.null]),
            ]),
            "evidence_turns": integers,
            "reason": .object(["type": .string("string")]),
        ])
        return object([
            "intents": .object(["type": .string("array"), "items": intent]),
            "fulfilments": .object(["type": .string("array"), "items": fulfilment]),
            "summary": .object(["type": .string("string")]),
        ])
    }

    // MARK: The answer

    /// The verdict in a judge's answer, or the first thing wrong with it.
    public func verdict(fromAnswer answer: String, for call: CallCompleted) throws(CallAnalysisError) -> SessionVerdict {
        var reader = AnswerReader(model: model.name, call: call, taxonomy: taxonomy)
        let (intents, fulfilments, summary) = try reader.read(answer)
        let status = SessionVerdict.status(
            participantTurns: call.turns.filter { $0.role == .participant }.count, intents: intents, fulfilments: fulfilments,
            counts: { taxonomy.counts($0) })
        return SessionVerdict(
            status: status, intents: intents, fulfilments: fulfilments, summary: "\(status.rawValue): \(summary)", analyser: name,
            model: model.name, promptVersion: Self.promptVersion)
    }
}

/// Reads a judge's JSON answer strictly: every field present with its type, nothing else,
/// every name from the taxonomy, every number in range, every turn in the call.
private struct AnswerReader {
    let model: String
    let call: CallCompleted
    let taxonomy: IntentTaxonomy

    mutating func read(_ answer: String) throws(CallAnalysisError) -> ([DetectedIntent], [IntentFulfilment], String) {
        var text = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw .answerEmpty(model: model) }
        // Some compatible servers wrap JSON in a Markdown fence even when asked for a schema.
        if text.hasPrefix("```") {
            text = String(text.drop { $0 != "\n" }.dropFirst())
            if text.hasSuffix("```") { text = String(text.dropLast(3)) }
            text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw .answerNotJSON(model: model, detail: "it starts with \(CallReading.quote(text, limit: 40))")
        }
        let fields = try object(root, at: "$", keys: ["intents", "fulfilments", "summary"])

        var intents: [DetectedIntent] = []
        for (index, item) in try array(fields["intents"]!, at: "intents").enumerated() {
            intents.append(try intent(item, at: "intents[\(index)]"))
        }
        for (index, intent) in intents.enumerated() {
            if let earlier = intents[..<index].firstIndex(where: { $0.type == intent.type && $0.subject == intent.subject }) {
                throw invalid(
                    "intents[\(index)]",
                    "repeats intents[\(earlier)] (\(intent.type.rawValue)\(intent.subject.map { "/\($0)" } ?? "")); "
                        + "one entry per intent and subject")
            }
        }

        var fulfilments: [IntentFulfilment] = []
        var fulfilled = Set<Int>()
        for (index, item) in try array(fields["fulfilments"]!, at: "fulfilments").enumerated() {
            let path = "fulfilments[\(index)]"
            let (target, fulfilment) = try self.fulfilment(item, at: path, intents: intents)
            guard fulfilled.insert(target).inserted else {
                throw invalid("\(path).intent_index", "intents[\(target)] already has a fulfilment; give exactly one per intent")
            }
            fulfilments.append(fulfilment)
        }
        for (index, intent) in intents.enumerated()
        where intent.confidence >= SessionVerdict.confidenceThreshold && taxonomy.counts(intent.type)
            && !fulfilled.contains(index)
        {
            throw invalid(
                "fulfilments", "intents[\(index)] (\(intent.type.rawValue), confidence \(intent.confidence)) has no fulfilment")
        }
        guard case .string(let summary) = fields["summary"]!, !summary.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw invalid("summary", "must be a non-empty string")
        }
        let line = summary.split(whereSeparator: \.isNewline).joined(separator: " ")
        return (intents, fulfilments, line)
    }

    private func intent(_ value: JSONValue, at path: String) throws(CallAnalysisError) -> DetectedIntent {
        let fields = try object(value, at: path, keys: ["type", "subject", "turns", "confidence"])
        guard case .string(let name) = fields["type"]!, let definition = taxonomy.intent(IntentType(name)) else {
            throw invalid(
                "\(path).type",
                "\(describe(fields["type"]!)) is not an intent of the taxonomy (\(taxonomy.intents.map(\.type.rawValue).joined(separator: ", ")))"
            )
        }
        var subject: String?
        switch fields["subject"]! {
        case .null: subject = nil
        case .string(let named):
            guard definition.subjects.contains(where: { $0.name == named }) else {
                throw invalid(
                    "\(path).subject",
                    definition.subjects.isEmpty
                        ? "\(name) has no subjects; it must be null"
                        : "\"\(named)\" is not a subject of \(name) (\(definition.subjects.map(\.name).joined(separator: ", ")))")
            }
            subject = named
        default: throw invalid("\(path).subject", "must be a string or null, not \(describe(fields["subject"]!))")
        }
        let turns = try turnList(fields["turns"]!, at: "\(path).turns")
        guard !turns.isEmpty else { throw invalid("\(path).turns", "must name at least one turn") }
        for (position, turn) in turns.enumerated() where call.turns[turn].role != .participant {
            throw invalid(
                "\(path).turns[\(position)]", "turn \(turn) is the agent's; an intent comes from what a participant said")
        }
        guard case .number(let confidence) = fields["confidence"]!, (0...1).contains(confidence) else {
            throw invalid("\(path).confidence", "must be a number from 0 to 1, not \(describe(fields["confidence"]!))")
        }
        return DetectedIntent(type: definition.type, subject: subject, turns: turns, confidence: confidence)
    }

    private func fulfilment(_ value: JSONValue, at path: String, intents: [DetectedIntent]) throws(CallAnalysisError)
        -> (Int, IntentFulfilment)
    {
        let fields = try object(value, at: path, keys: ["intent_index", "status", "failure_kind", "evidence_turns", "reason"])
        let target = try integer(fields["intent_index"]!, at: "\(path).intent_index")
        guard intents.indices.contains(target) else {
            throw invalid("\(path).intent_index", "\(target) is not an index of `intents` (0..<\(intents.count))")
        }
        let intent = intents[target]
        guard intent.confidence >= SessionVerdict.confidenceThreshold, taxonomy.counts(intent.type) else {
            throw invalid(
                "\(path).intent_index",
                "intents[\(target)] (\(intent.type.rawValue), confidence \(intent.confidence)) has nothing to fulfil; "
                    + "fulfilments are for intents to fulfil with confidence 0.5 or more")
        }
        guard case .string(let statusName) = fields["status"]!, let status = FulfilmentStatus(rawValue: statusName) else {
            throw invalid("\(path).status", "must be pass, partial or fail, not \(describe(fields["status"]!))")
        }
        var kind: FailureKind?
        switch fields["failure_kind"]! {
        case .null:
            guard status == .pass else { throw invalid("\(path).failure_kind", "must say why for a \(statusName) fulfilment") }
        case .string(let name):
            guard let known = FailureKind(rawValue: name) else {
                throw invalid(
                    "\(path).failure_kind",
                    "\"\(name)\" is not a failure kind (\(FailureKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard status != .pass else { throw invalid("\(path).failure_kind", "must be null for a pass") }
            kind = known
        default:
            throw invalid("\(path).failure_kind", "must be a string or null, not \(describe(fields["failure_kind"]!))")
        }
        let evidence = try turnList(fields["evidence_turns"]!, at: "\(path).evidence_turns")
        guard case .string(let reason) = fields["reason"]!, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw invalid("\(path).reason", "must be a non-empty string")
        }
        return (
            target,
            IntentFulfilment(
                intent: intent.type, subject: intent.subject, status: status, failureKind: kind,
                evidence: evidence.map { call.turns[$0].quoted(at: $0) },
                reason: reason.split(whereSeparator: \.isNewline).joined(separator: " "))
        )
    }

    // MARK: Typed readers

    private func object(_ value: JSONValue, at path: String, keys: [String]) throws(CallAnalysisError) -> [String: JSONValue] {
        guard case .object(let fields) = value else {
            if path == "$" {
                throw CallAnalysisError.answerNotJSON(model: model, detail: "it is \(describe(value)), not an object")
            }
            throw invalid(path, "must be an object, not \(describe(value))")
        }
        for key in keys where fields[key] == nil {
            throw invalid(path == "$" ? key : "\(path).\(key)", "is missing")
        }
        if let extra = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw invalid(
                path == "$" ? extra : "\(path).\(extra)", "is not in the schema (expected \(keys.joined(separator: ", ")))")
        }
        return fields
    }

    private func array(_ value: JSONValue, at path: String) throws(CallAnalysisError) -> [JSONValue] {
        guard case .array(let items) = value else { throw invalid(path, "must be an array, not \(describe(value))") }
        return items
    }

    private func integer(_ value: JSONValue, at path: String) throws(CallAnalysisError) -> Int {
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e9 else {
            throw invalid(path, "must be a whole number, not \(describe(value))")
        }
        return Int(number)
    }

    private func turnList(_ value: JSONValue, at path: String) throws(CallAnalysisError) -> [Int] {
        var turns: [Int] = []
        for (index, item) in try array(value, at: path).enumerated() {
            let turn = try integer(item, at: "\(path)[\(index)]")
            guard call.turns.indices.contains(turn) else {
                throw invalid("\(path)[\(index)]", "turn \(turn) is not in the call (turns 0 to \(call.turns.count - 1))")
            }
            if !turns.contains(turn) { turns.append(turn) }
        }
        return turns
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let number): number.rounded() == number && abs(number) < 1e15 ? "\(Int(number))" : "\(number)"
        case .string(let text): "\"\(text.prefix(40))\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    private func invalid(_ path: String, _ problem: String) -> CallAnalysisError {
        .answerInvalid(model: model, path: path, problem: problem)
    }
}
