import Foundation
import Yams

/// Walks the YAML node tree (rather than decoding with Codable) because only the node tree
/// keeps line numbers, and an error without a line is hard to act on.
struct TaxonomyReader {
    let source: String
    let text: String

    private static let topLevelKeys = ["version", "intents", "agent_replies", "question_cues"]
    private static let intentKeys = ["name", "rubric", "fulfilment", "phrases", "keywords", "subjects", "context_labels"]
    private static let subjectKeys = ["name", "phrases", "keywords", "context_labels"]
    private static let replyKeys = ["unknown", "commitment", "declines", "greeting"]
    private static let cueKeys = ["start", "anywhere"]
    static let supportedVersion = 1

    func read() throws(IntentTaxonomyError) -> IntentTaxonomy {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw fail(
                    nil, entry: nil,
                    "the intents file is empty; it needs `version`, `intents`, `agent_replies` and `question_cues`")
            }
            root = composed
        } catch let error as IntentTaxonomyError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error)
        } catch {
            throw fail(nil, entry: nil, "YAML error: \(error)")
        }
        let top = try mapping(root, what: "the top level of the intents file", entry: nil)
        try rejectUnknownKeys(top, allowed: Self.topLevelKeys, what: "the top level", entry: nil)
        func section(_ key: String, _ purpose: String) throws(IntentTaxonomyError) -> Entry {
            guard let entry = top.first(where: { $0.key == key }) else {
                throw fail(root, entry: nil, "missing `\(key):` (\(purpose))")
            }
            return entry
        }

        let versionEntry = try section("version", "the file format's version, 1")
        guard let version = versionEntry.value.scalar.flatMap({ Int($0.string) }), version == Self.supportedVersion else {
            throw fail(
                versionEntry.value, entry: nil,
                "version `\(versionEntry.value.scalar?.string ?? "?")` is not one this build reads; write `version: \(Self.supportedVersion)`"
            )
        }

        let intentsEntry = try section("intents", "the list of intents")
        guard let intentNodes = intentsEntry.value.sequence.map(Array.init), !intentNodes.isEmpty else {
            throw fail(intentsEntry.value, entry: nil, "`intents` must be a non-empty list of intents")
        }
        var intents: [IntentDefinition] = []
        var firstLine: [String: Int] = [:]
        for (index, node) in intentNodes.enumerated() {
            let intent = try intent(node, position: index + 1)
            if let earlier = firstLine[intent.type.rawValue] {
                throw fail(
                    node, entry: intent.type.rawValue, "intent defined twice (first at line \(earlier)); names must be unique")
            }
            firstLine[intent.type.rawValue] = intent.line
            intents.append(intent)
        }
        guard let none = intents.first(where: { $0.type == .none }) else {
            throw fail(
                intentsEntry.keyNode, entry: "none",
                "no `none` intent; add one with `fulfilment: none` for calls in which nobody wanted anything of the agent")
        }
        if none.fulfilment != .none || !none.phrases.isEmpty || !none.keywords.isEmpty || !none.subjects.isEmpty {
            throw IntentTaxonomyError(
                file: source, line: none.line, entry: "none",
                message: "`none` must have `fulfilment: none` and no phrases, keywords or subjects: it is what is left "
                    + "when nothing else matched")
        }

        let repliesEntry = try section("agent_replies", "how the agent's replies are read")
        let replies = try mapping(repliesEntry.value, what: "`agent_replies`", entry: "agent_replies")
        try rejectUnknownKeys(replies, allowed: Self.replyKeys, what: "`agent_replies`", entry: "agent_replies")
        func replyList(_ key: String) throws(IntentTaxonomyError) -> [String] {
            guard let entry = replies.first(where: { $0.key == key }) else {
                throw fail(repliesEntry.value, entry: "agent_replies", "missing `\(key):` (a list of patterns, may be empty)")
            }
            return try patternList(entry.value, key: key, entry: "agent_replies")
        }
        let agentReplies = AgentReplyPatterns(
            unknown: try replyList("unknown"), commitment: try replyList("commitment"), declines: try replyList("declines"),
            greeting: try replyList("greeting"))

        let cuesEntry = try section("question_cues", "how a sentence reads as a question or a request")
        let cues = try mapping(cuesEntry.value, what: "`question_cues`", entry: "question_cues")
        try rejectUnknownKeys(cues, allowed: Self.cueKeys, what: "`question_cues`", entry: "question_cues")
        func cueList(_ key: String) throws(IntentTaxonomyError) -> [String] {
            guard let entry = cues.first(where: { $0.key == key }) else {
                throw fail(cuesEntry.value, entry: "question_cues", "missing `\(key):` (a list of patterns, may be empty)")
            }
            return try patternList(entry.value, key: key, entry: "question_cues")
        }
        let questionCues = QuestionCues(start: try cueList("start"), anywhere: try cueList("anywhere"))

        do {
            return try IntentTaxonomy(
                source: source, version: version, intents: intents, agentReplies: agentReplies, questionCues: questionCues)
        } catch {
            // Unreachable in practice: every pattern was compiled, with its line, above.
            throw IntentTaxonomyError(file: source, line: nil, entry: nil, message: error.message)
        }
    }

    private func intent(_ node: Node, position: Int) throws(IntentTaxonomyError) -> IntentDefinition {
        let unnamed = "intents entry \(position)"
        let declared = node.mapping?.first { $0.key.scalar?.string == "name" }.flatMap { nonEmptyString($0.value) }
        let fields = try mapping(node, what: "an intent", entry: declared ?? unnamed)
        guard let nameEntry = fields.first(where: { $0.key == "name" }) else {
            throw fail(node, entry: unnamed, "missing `name`")
        }
        let name = try identifier(nameEntry.value, entry: unnamed)
        try rejectUnknownKeys(fields, allowed: Self.intentKeys, what: "an intent", entry: name)
        func field(_ key: String) -> Node? { fields.first { $0.key == key }?.value }

        guard let rubricNode = field("rubric"), let rubric = nonEmptyString(rubricNode) else {
            throw fail(
                field("rubric") ?? node, entry: name,
                "missing `rubric`: a sentence or two on what the intent is and what fulfils it (the LLM judge reads it)")
        }
        let allowed = FulfilmentCheck.allCases.map(\.rawValue).joined(separator: ", ")
        guard let fulfilmentNode = field("fulfilment") else {
            throw fail(node, entry: name, "missing `fulfilment` (one of \(allowed))")
        }
        guard let fulfilment = fulfilmentNode.scalar.flatMap({ FulfilmentCheck(rawValue: $0.string) }) else {
            throw fail(
                fulfilmentNode, entry: name,
                "`fulfilment` must be one of \(allowed), not `\(fulfilmentNode.scalar?.string ?? "?")`")
        }
        let phrases =
            try field("phrases").map { node throws(IntentTaxonomyError) in try patternList(node, key: "phrases", entry: name) }
            ?? []
        let keywords =
            try field("keywords").map { node throws(IntentTaxonomyError) in try patternList(node, key: "keywords", entry: name) }
            ?? []
        let labels =
            try field("context_labels").map { node throws(IntentTaxonomyError) in
                try textList(node, key: "context_labels", entry: name)
            } ?? []
        var subjects: [SubjectDefinition] = []
        if let subjectsNode = field("subjects") {
            guard fulfilment == .answer else {
                throw fail(
                    subjectsNode, entry: name, "`subjects` only make sense with `fulfilment: answer` (what a question is about)")
            }
            guard let nodes = subjectsNode.sequence.map(Array.init), !nodes.isEmpty else {
                throw fail(subjectsNode, entry: name, "`subjects` must be a non-empty list")
            }
            for (index, subjectNode) in nodes.enumerated() {
                let subject = try subject(subjectNode, intent: name, position: index + 1)
                if subjects.contains(where: { $0.name == subject.name }) {
                    throw fail(subjectNode, entry: "\(name)/\(subject.name)", "subject defined twice in this intent")
                }
                subjects.append(subject)
            }
        }
        if fulfilment != .none && phrases.isEmpty && keywords.isEmpty && subjects.isEmpty {
            throw fail(
                node, entry: name,
                "has no phrases, keywords or subjects, so the embedded analyser could never detect it; add some, or make "
                    + "it `fulfilment: none`")
        }
        return IntentDefinition(
            type: IntentType(name), rubric: rubric, fulfilment: fulfilment, phrases: phrases, keywords: keywords,
            subjects: subjects, contextLabels: labels, line: line(of: node) ?? 1)
    }

    private func subject(_ node: Node, intent: String, position: Int) throws(IntentTaxonomyError) -> SubjectDefinition {
        let unnamed = "\(intent)/subjects entry \(position)"
        let fields = try mapping(node, what: "a subject", entry: unnamed)
        guard let nameEntry = fields.first(where: { $0.key == "name" }) else {
            throw fail(node, entry: unnamed, "missing `name`")
        }
        let name = try identifier(nameEntry.value, entry: unnamed)
        let entry = "\(intent)/\(name)"
        try rejectUnknownKeys(fields, allowed: Self.subjectKeys, what: "a subject", entry: entry)
        func field(_ key: String) -> Node? { fields.first { $0.key == key }?.value }
        let phrases =
            try field("phrases").map { node throws(IntentTaxonomyError) in try patternList(node, key: "phrases", entry: entry) }
            ?? []
        let keywords =
            try field("keywords").map { node throws(IntentTaxonomyError) in try patternList(node, key: "keywords", entry: entry) }
            ?? []
        if phrases.isEmpty && keywords.isEmpty {
            throw fail(node, entry: entry, "a subject needs phrases or keywords, or it could never be recognised")
        }
        return SubjectDefinition(
            name: name, phrases: phrases, keywords: keywords,
            contextLabels: try field("context_labels").map { node throws(IntentTaxonomyError) in
                try textList(node, key: "context_labels", entry: entry)
            } ?? [])
    }

    // MARK: Typed field readers

    private struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    private func mapping(_ node: Node, what: String, entry: String?) throws(IntentTaxonomyError) -> [Entry] {
        guard let mapping = node.mapping else {
            throw fail(node, entry: entry, "\(what) must be a mapping of `key: value` lines")
        }
        var entries: [Entry] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw fail(keyNode, entry: entry, "keys in \(what) must be plain words")
            }
            if let earlier = entries.first(where: { $0.key == key }) {
                throw fail(
                    keyNode, entry: entry, "`\(key)` appears twice in \(what) (also at line \(line(of: earlier.keyNode) ?? 0))")
            }
            entries.append(Entry(key: key, keyNode: keyNode, value: value))
        }
        return entries
    }

    private func rejectUnknownKeys(_ entries: [Entry], allowed: [String], what: String, entry: String?)
        throws(IntentTaxonomyError)
    {
        for item in entries where !allowed.contains(item.key) {
            throw fail(
                item.keyNode, entry: entry,
                "unknown key `\(item.key)` in \(what); allowed keys are \(allowed.joined(separator: ", "))")
        }
    }

    private func identifier(_ node: Node, entry: String) throws(IntentTaxonomyError) -> String {
        guard let name = nonEmptyString(node),
            name.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }),
            name.utf8.first.map({ (0x61...0x7A).contains($0) }) == true
        else {
            throw fail(
                node, entry: entry,
                "`name` must be a snake_case word (lowercase letters, digits, `_`), not `\(node.scalar?.string ?? "?")`")
        }
        return name
    }

    private func textList(_ node: Node, key: String, entry: String) throws(IntentTaxonomyError) -> [String] {
        guard let sequence = node.sequence else {
            throw fail(node, entry: entry, "`\(key)` must be a list, e.g. [first, second]")
        }
        var texts: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let text = nonEmptyString(item) else {
                throw fail(item, entry: entry, "`\(key)` item \(index + 1) must be a non-empty text")
            }
            texts.append(text)
        }
        return texts
    }

    /// A list of patterns, each compiled here so that a malformed one is reported at its line.
    private func patternList(_ node: Node, key: String, entry: String) throws(IntentTaxonomyError) -> [String] {
        let patterns = try textList(node, key: key, entry: entry)
        var vocabulary = Vocabulary()
        for (index, (pattern, item)) in zip(patterns, node.sequence.map(Array.init) ?? []).enumerated() {
            do {
                _ = try PatternSet<Int>.compile(pattern, vocabulary: &vocabulary)
            } catch {
                throw fail(item, entry: entry, "`\(key)` item \(index + 1): \(error.message)")
            }
        }
        return patterns
    }

    private func nonEmptyString(_ node: Node) -> String? {
        guard let scalar = node.scalar, node.null == nil else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    // MARK: Errors

    private func line(of node: Node) -> Int? { node.mark?.line }

    private func fail(_ node: Node?, entry: String?, _ message: String) -> IntentTaxonomyError {
        IntentTaxonomyError(file: source, line: node.flatMap(line(of:)), entry: entry, message: message)
    }

    private func syntaxError(_ error: YamlError) -> IntentTaxonomyError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return IntentTaxonomyError(
                file: source, line: mark.line, entry: enclosingName(atLine: mark.line), message: "YAML syntax error: \(problem)")
        case let .reader(problem, _, _, _):
            return IntentTaxonomyError(
                file: source, line: nil, entry: nil, message: "the file is not readable YAML text: \(problem)")
        default:
            // Yams 6's duplicate keys among others; its description embeds the document, so
            // only its first line is kept.
            let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            return IntentTaxonomyError(file: source, line: nil, entry: nil, message: "YAML error: \(first)")
        }
    }

    /// For syntax errors there is no node tree; the nearest `- name:` at or above the line is
    /// the entry being edited.
    private func enclosingName(atLine line: Int) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for index in stride(from: min(line, lines.count) - 1, through: 0, by: -1) {
            let trimmed = lines[index].drop { $0 == " " || $0 == "-" }
            if trimmed.hasPrefix("name:") {
                return trimmed.dropFirst("name:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
