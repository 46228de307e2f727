import Foundation

/// What someone in a call may want from the agent, by name (`ask_fact`, …). An open set: the
/// taxonomy file may add intents this build has no constant for.
public struct IntentType: RawRepresentable, Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static func < (lhs: IntentType, rhs: IntentType) -> Bool { lhs.rawValue < rhs.rawValue }

    public static let askAgenda = IntentType("ask_agenda")
    public static let askFact = IntentType("ask_fact")
    public static let requestActionItem = IntentType("request_action_item")
    public static let requestFollowUp = IntentType("request_follow_up")
    public static let requestSummary = IntentType("request_summary")
    public static let scheduleChange = IntentType("schedule_change")
    public static let smalltalk = IntentType("smalltalk")
    /// Nobody wanted anything of the agent.
    public static let none = IntentType("none")
}

/// How the embedded analyser checks that the agent's reply fulfilled an intent.
public enum FulfilmentCheck: String, Sendable, Codable, CaseIterable {
    /// The reply must carry the facts the agent was given for it.
    case answer
    /// The agent must take the request on.
    case commitment
    /// The reply must recap what was said in the call.
    case recap
    /// Nothing to fulfil: the intent never counts towards a session's status.
    case none
}

/// The taxonomy of intents, from `deploy/config/intents.yaml` (or a copy named by
/// `ATTACHE_INTENTS_FILE`). Loading validates the whole file, patterns included, so that a
/// bad edit fails at start with an `IntentTaxonomyError` naming the file, line and entry,
/// never halfway through a cycle.
public struct IntentTaxonomy: Sendable {
    /// Where it came from (a path, or "bundled"), for logs and errors.
    public let source: String
    public let version: Int
    /// In file order, which breaks ties between equally strong matches.
    public let intents: [IntentDefinition]
    public let agentReplies: AgentReplyPatterns
    public let questionCues: QuestionCues
    /// The patterns compiled, once, so that every analyser built on this taxonomy shares them.
    let compiled: CompiledTaxonomy

    init(
        source: String, version: Int, intents: [IntentDefinition], agentReplies: AgentReplyPatterns, questionCues: QuestionCues
    ) throws(PatternSyntaxError) {
        self.source = source
        self.version = version
        self.intents = intents
        self.agentReplies = agentReplies
        self.questionCues = questionCues
        compiled = try CompiledTaxonomy(intents: intents, agentReplies: agentReplies, questionCues: questionCues)
    }

    public func intent(_ type: IntentType) -> IntentDefinition? {
        intents.first { $0.type == type }
    }

    /// Whether an intent of this type is something to fulfil (not smalltalk, not none). Types
    /// the taxonomy does not know do not count.
    public func counts(_ type: IntentType) -> Bool {
        intent(type)?.counts ?? false
    }

    public static func load(from path: String) throws(IntentTaxonomyError) -> IntentTaxonomy {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw IntentTaxonomyError(
                file: path, line: nil, entry: nil,
                message: "cannot read the intents file (\(error.localizedDescription)); check ATTACHE_INTENTS_FILE and that "
                    + "the service may read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw IntentTaxonomyError(file: path, line: nil, entry: nil, message: "the intents file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path)
    }

    public static func parse(yaml: String, source: String) throws(IntentTaxonomyError) -> IntentTaxonomy {
        try TaxonomyReader(source: source, text: yaml).read()
    }

    /// The taxonomy shipped in `deploy/config/intents.yaml`, built into the library for callers
    /// given no file. A test keeps the two identical.
    public static let bundledDefault: IntentTaxonomy = {
        do {
            return try parse(yaml: bundledYAML, source: "bundled intents.yaml")
        } catch {
            fatalError("the bundled intent taxonomy does not load: \(error)")  // a build defect: the tests load it
        }
    }()
}

/// One intent of the taxonomy.
public struct IntentDefinition: Sendable, Equatable {
    public var type: IntentType
    /// What the intent is and what fulfils it, for the LLM judge.
    public var rubric: String
    public var fulfilment: FulfilmentCheck
    /// Enough on their own to detect the intent.
    public var phrases: [String]
    /// Count only in a question or a request.
    public var keywords: [String]
    /// What an `answer` intent can be about (ask_fact: budget, incidents, …).
    public var subjects: [SubjectDefinition]
    /// Labels of the context lines that answer it.
    public var contextLabels: [String]
    /// Line of the entry in its file.
    public var line: Int

    public var counts: Bool { fulfilment != .none }

    init(
        type: IntentType, rubric: String, fulfilment: FulfilmentCheck, phrases: [String] = [], keywords: [String] = [],
        subjects: [SubjectDefinition] = [], contextLabels: [String] = [], line: Int = 0
    ) {
        self.type = type
        self.rubric = rubric
        self.fulfilment = fulfilment
        self.phrases = phrases
        self.keywords = keywords
        self.subjects = subjects
        self.contextLabels = contextLabels
        self.line = line
    }
}

/// What an intent asks about, with its own patterns and the context lines that answer it.
public struct SubjectDefinition: Sendable, Equatable {
    public var name: String
    public var phrases: [String]
    public var keywords: [String]
    public var contextLabels: [String]

    init(name: String, phrases: [String] = [], keywords: [String] = [], contextLabels: [String] = []) {
        self.name = name
        self.phrases = phrases
        self.keywords = keywords
        self.contextLabels = contextLabels
    }
}

/// How the agent's replies are read.
public struct AgentReplyPatterns: Sendable, Equatable {
    /// The agent saying it does not know.
    public var unknown: [String]
    /// The agent taking something on.
    public var commitment: [String]
    /// The agent saying it cannot do what was asked.
    public var declines: [String]
    /// The agent's greeting.
    public var greeting: [String]
}

/// How a participant's sentence reads as a question or a request.
public struct QuestionCues: Sendable, Equatable {
    /// At the start of the sentence, after fillers.
    public var start: [String]
    /// Anywhere in it.
    public var anywhere: [String]
}

/// An intents file that cannot be used. The description reads
/// `deploy/config/intents.yaml:42: [ask_fact/budget] keywords item 3: …`.
public struct IntentTaxonomyError: Error, CustomStringConvertible, Equatable {
    public var file: String
    /// 1-based; nil when the file could not be read at all.
    public var line: Int?
    /// The intent (or `intent/subject`, or section) at fault.
    public var entry: String?
    public var message: String

    public init(file: String, line: Int?, entry: String?, message: String) {
        self.file = file
        self.line = line
        self.entry = entry
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let entry { text += "[\(entry)] " }
        return text + message
    }
}
