import Foundation
import Shared

/// Names the root causes of a failed or partial call from its own evidence: the verdict's
/// failures, interruptions and what was heard, latency against the budget, recognition that
/// came through empty or garbled, the machinery's problems, missing context, the greeting.
/// Pure and deterministic: the same call and verdict give the same diagnosis.
public struct Diagnostician: Sendable {
    public var taxonomy: IntentTaxonomy
    public var latencyBudget: LatencyBudget

    public init(taxonomy: IntentTaxonomy = .bundledDefault, latencyBudget: LatencyBudget = LatencyBudget()) {
        self.taxonomy = taxonomy
        self.latencyBudget = latencyBudget
    }

    public func diagnose(_ call: CallCompleted, verdict: SessionVerdict) -> Diagnosis {
        var causes = Causes()
        let facts = CallFacts(call, taxonomy: taxonomy.compiled)

        for fulfilment in verdict.fulfilments where fulfilment.status != .pass {
            guard let kind = fulfilment.failureKind else { continue }
            let what = fulfilment.subject.map { "\(fulfilment.intent.rawValue) (\($0))" } ?? fulfilment.intent.rawValue
            let turns = fulfilment.evidence.map(\.index)
            let line = "turn \(turns.first ?? 0), \(what): \(fulfilment.reason)"
            switch kind {
            case .wrongFact: causes.add(.contradictedContext, "the answer contradicted the prep notes", line, turns)
            case .unjustifiedUnknown:
                causes.add(.ignoredContext, "the agent said it did not know what its notes held", line, turns)
            case .missingContext:
                causes.add(.missingContext, "the answer was not in the agent's context or prep materials", line, turns)
            case .offTopic: causes.add(.offTopicReply, "a reply answered something else", line, turns)
            case .declined: causes.add(.declinedRequest, "the agent said it could not do what was asked", line, turns)
            case .noReply: causes.add(.noReply, "a request got no reply", line, turns)
            case .cutOff: break  // told below with what was heard, for every interruption
            }
            if kind != .missingContext, let missing = missingContext(for: fulfilment, facts: facts, call: call) {
                causes.add(.missingContext, "the answer was not in the agent's context or prep materials", missing, turns)
            }
        }

        for (index, turn) in call.turns.enumerated() where turn.role == .agent && turn.interrupted == true {
            let next = call.turns[(index + 1)...].first { $0.role == .participant }
            let by = next.map { " by \($0.speaker), who said \(CallReading.quote($0.text, limit: 60))" } ?? ""
            causes.add(
                .interruptedReply, "a participant cut the agent's reply short",
                "turn \(index): cut off after \(CallReading.quote(turn.text, limit: 60))\(by)", [index])
        }

        if let problems = call.problems {
            for problem in problems {
                let at = "at +" + String(format: "%.1f", problem.at.timeIntervalSince(call.startedAt)) + " s: \(problem.detail)"
                switch problem.kind {
                case .modelError: causes.add(.modelError, "the chat model failed", at)
                case .modelTimeout: causes.add(.modelTimeout, "the chat model timed out", at)
                case .recognitionError: causes.add(.recognitionError, "speech recognition failed", at)
                case .speechError: causes.add(.speechError, "speech synthesis failed", at)
                case .engineFallback: causes.add(.engineFallback, "a cloud engine was unavailable; the embedded one stood in", at)
                case .greetingFailed: causes.add(.greetingFailed, "the agent did not greet the room", at)
                case .mediaDisconnected: causes.add(.mediaDisconnected, "the meeting's media connection dropped", at)
                default: causes.add(.otherProblem, "the call's machinery reported a problem", "\(problem.kind.rawValue) \(at)")
                }
            }
        }

        for (index, turn) in call.turns.enumerated() where turn.role == .agent {
            guard let latency = turn.latency, let total = latency.firstAudioOut, total > latencyBudget.voiceToVoiceMs else {
                continue
            }
            causes.add(
                .slowReply,
                "replies came later than the \(Self.milliseconds(latencyBudget.voiceToVoiceMs)) voice-to-voice budget",
                "turn \(index): \(Self.milliseconds(total)) voice to voice\(Self.slowestStage(latency))", [index])
        }

        for (index, turn) in call.turns.enumerated() where turn.role == .participant {
            if let problem = Self.recognitionProblem(turn.text) {
                causes.add(
                    .poorRecognition, "what participants said reached the agent empty or garbled",
                    "turn \(index): \(turn.speaker)'s words came through \(problem): \(CallReading.quote(turn.text, limit: 40))",
                    [index])
            }
        }

        if !(call.problems ?? []).contains(where: { $0.kind == .greetingFailed }) {
            if let first = call.turns.firstIndex(where: { $0.role == .agent }) {
                let words = Words(call.turns[first].text)
                let kinds = taxonomy.compiled.replyKinds(of: words, ids: taxonomy.compiled.vocabulary.read(words))
                if !kinds.contains(.greeting) {
                    causes.add(
                        .greetingFailed, "the agent did not greet the room",
                        "turn \(first): the agent's first turn was no greeting: \(CallReading.quote(call.turns[first].text, limit: 60))",
                        [first])
                }
            } else if !call.turns.isEmpty {
                causes.add(
                    .greetingFailed, "the agent did not greet the room", "the agent never spoke in \(call.turns.count) turns")
            }
        }

        let list = causes.list
        return Diagnosis(rootCauses: list, summary: Self.summary(list))
    }

    /// For a failed answer: which context the agent lacked, if it lacked any.
    private func missingContext(for fulfilment: IntentFulfilment, facts: CallFacts, call: CallCompleted) -> String? {
        guard let intent = taxonomy.intent(fulfilment.intent), intent.fulfilment == .answer else { return nil }
        guard call.context != nil else { return "the call did not record what the agent was given" }
        let subject = intent.subjects.first { $0.name == fulfilment.subject }
        let labels = (subject?.contextLabels.isEmpty == false ? subject?.contextLabels : nil) ?? intent.contextLabels
        guard !labels.isEmpty, !facts.has(labels: labels.map { Words($0).words }) else { return nil }
        let notes = facts.facts.filter {
            !["meeting", "time", "participants", "description"].contains($0.labelWords.first ?? "")
        }
        let what = fulfilment.subject ?? intent.type.rawValue
        return notes.isEmpty
            ? "no agenda or prep notes reached the agent (\(facts.facts.count) context lines, none from preparation); \(what) needed them"
            : "no \(labels[0]) line among the agent's \(facts.facts.count) context lines; \(what) needed one"
    }

    static func milliseconds(_ value: Double) -> String { "\(Int(value.rounded())) ms" }

    /// Which stage took the most of a slow reply.
    static func slowestStage(_ latency: TurnLatency) -> String {
        var stages: [(String, Double)] = []
        var previous = 0.0
        for (name, mark) in [
            ("recognition", latency.sttFinal), ("the model's first token", latency.llmFirstToken),
            ("the first sentence", latency.firstSentence), ("speech synthesis", latency.ttsFirstAudio),
            ("playout", latency.firstAudioOut),
        ] {
            guard let mark else { continue }
            stages.append((name, mark - previous))
            previous = mark
        }
        guard let slowest = stages.max(by: { $0.1 < $1.1 }) else { return "" }
        return ", most of it \(slowest.0) (\(milliseconds(slowest.1)))"
    }

    static let shortWords: Set<String> = ["hi", "ok", "no", "so", "oh", "ah", "mm", "uh", "um", "hm", "go", "me", "we", "i"]

    /// Empty, too short to be words, or mostly not words.
    static func recognitionProblem(_ text: String) -> String? {
        let words = Words(text).words
        if words.isEmpty { return "empty" }
        let letters = words.reduce(0) { $0 + $1.count }
        if letters <= 2 && !(words.count == 1 && shortWords.contains(words[0])) { return "too short to be words" }
        let lowered = text.lowercased()
        if ["<unk>", "[inaudible]", "[unintelligible]", "[noise]", "[crosstalk]"].contains(where: { lowered.contains($0) }) {
            return "garbled"
        }
        let nonWords = words.filter { word in
            let bytes = Array(word.utf8)
            if bytes.count > 20 { return true }
            if bytes.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2E }) { return false }
            let vowels = bytes.filter { [0x61, 0x65, 0x69, 0x6F, 0x75, 0x79].contains($0) }.count
            return bytes.count > 1 && vowels == 0 && bytes.allSatisfy { $0 < 0x80 }
        }
        var repeats = 1
        var longestRepeat = 1
        for index in words.indices.dropFirst() {
            repeats = words[index] == words[index - 1] ? repeats + 1 : 1
            longestRepeat = max(longestRepeat, repeats)
        }
        if longestRepeat >= 4 || (words.count >= 2 && Double(nonWords.count) / Double(words.count) >= 0.5) { return "garbled" }
        return nil
    }

    static func summary(_ causes: [RootCause]) -> String {
        guard let first = causes.first else { return "no root cause found in the call's evidence" }
        var line = first.summary
        if first.evidence.count > 1 { line += " (\(first.evidence.count) times)" }
        let others = causes.dropFirst().prefix(3).map(\.summary)
        if !others.isEmpty { line += "; also " + others.joined(separator: "; ") }
        if causes.count > 4 { line += "; and \(causes.count - 4) more" }
        return line
    }

    /// Causes in the order first found, one per kind, their evidence gathered.
    private struct Causes {
        var list: [RootCause] = []

        mutating func add(_ kind: RootCauseKind, _ summary: String, _ evidence: String, _ turns: [Int] = []) {
            if let index = list.firstIndex(where: { $0.kind == kind }) {
                if !list[index].evidence.contains(evidence) { list[index].evidence.append(evidence) }
                for turn in turns where !list[index].turns.contains(turn) { list[index].turns.append(turn) }
            } else {
                list.append(RootCause(kind: kind, summary: summary, evidence: [evidence], turns: turns))
            }
        }
    }
}
