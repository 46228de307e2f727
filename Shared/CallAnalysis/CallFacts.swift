import Foundation
import Shared

/// Words that carry meaning, for comparing a reply with a fact: stop words, fillers and the
/// agent's stock phrasing left out, plurals folded ("roles" = "role").
enum ContentWords {
    static func of(_ words: Words) -> Set<String> {
        of(words.words[...])
    }

    static func of(_ words: ArraySlice<String>) -> Set<String> {
        var set = Set<String>()
        for word in words where !stopWords.contains(word) {
            set.insert(stem(word))
        }
        return set
    }

    static func stem(_ word: String) -> String {
        let bytes = word.utf8
        guard bytes.count > 3, bytes.last == 0x73, !word.hasSuffix("ss") else { return word }
        return String(word.dropLast())
    }

    static let stopWords: Set<String> = [
        "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "anything", "are", "as", "at", "be", "been",
        "before", "being", "but", "by", "can", "could", "detail", "details", "did", "do", "does", "doing", "for", "from", "get",
        "go", "going", "got", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is",
        "it", "its", "just", "know", "let", "like", "me", "more", "much", "my", "no", "not", "note", "notes", "now", "of",
        "ok", "okay", "on", "one", "or", "our", "out", "please", "quick", "really", "right", "say", "she", "should", "so",
        "some", "sure", "tell", "than", "thank", "thanks", "that", "the", "their", "them", "then", "there", "these", "they",
        "thing", "things", "think", "this", "those", "to", "um", "uh", "up", "us", "very", "want", "was", "we", "well",
        "were", "what", "when", "where", "which", "who", "whom", "whose", "why", "will", "with", "would", "yeah", "yes",
        "you", "your", "have", "meeting", "today", "question", "okay", "alright", "actually", "maybe", "need", "give",
        "look", "looking", "mean", "sorry", "hi", "hello", "hey", "great", "good", "current", "currently", "latest",
    ]
}

/// One `Label: value` line of what the agent was given.
struct ContextFact: Sendable {
    var line: String
    var label: String
    var labelWords: [String]
    var value: String
    /// Content words of the value (the label says what the fact is about, not the fact).
    var valueWords: Set<String>
    var figures: [Figure]
    /// The taxonomy's matches in the whole line: (intent, subject) pairs it speaks of.
    var topics: [TopicKey]
}

/// An intent, or one of its subjects.
struct TopicKey: Sendable, Hashable {
    var intent: Int
    var subject: Int
}

/// What the agent knew in one call, read once per analysis.
struct CallFacts: Sendable {
    var facts: [ContextFact]
    /// Every figure in the context: a reply's figure that agrees with none of these (or with
    /// anything said in the call before it) is unsupported.
    var figures: [Figure]
    /// First and last names of the people in the call (participants line and speakers), lowercased.
    var names: Set<String>
    /// The agent's own names, as its turns are labelled.
    var agentNames: Set<String>
    /// Whether the call said what the agent knew (`context` absent from older senders).
    var contextKnown: Bool

    init(_ call: CallCompleted, taxonomy: CompiledTaxonomy) {
        contextKnown = call.context != nil
        var facts: [ContextFact] = []
        var names = Set<String>()
        for line in call.context ?? [] {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let label = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty, !value.isEmpty else { continue }
            let labelWords = Words(label).words
            let valueWords = Words(value)
            let whole = Words(line)
            if labelWords == ["participants"] || labelWords == ["attendees"] {
                for person in value.split(whereSeparator: { $0 == "," || $0 == ";" }) {
                    for word in Words(person.replacingOccurrences(of: " and ", with: " ")).words where word != "and" {
                        names.insert(word)
                    }
                }
            }
            facts.append(
                ContextFact(
                    line: line, label: label, labelWords: labelWords, value: value, valueWords: ContentWords.of(valueWords),
                    figures: Figure.extract(from: valueWords), topics: taxonomy.topics(of: whole)))
        }
        var agentNames = Set<String>()
        for turn in call.turns {
            let words = Words(turn.speaker).words
            if turn.role == .agent { agentNames.formUnion(words) } else { names.formUnion(words) }
        }
        names.subtract(agentNames)
        self.facts = facts
        self.figures = facts.flatMap(\.figures)
        self.names = names
        self.agentNames = agentNames
    }

    /// The facts a reply to this intent (and subject) should carry: those whose label is one
    /// the taxonomy names for it; failing that, those the taxonomy's patterns tie to it.
    func relevant(to topic: TopicKey, labels: [[String]], question: Set<String>, mentionedNames: Set<String>) -> [ContextFact] {
        let labelled = facts.filter { fact in labels.contains { !$0.isEmpty && fact.labelWords.starts(with: $0) } }
        var chosen = labelled
        if chosen.isEmpty {
            chosen = facts.filter { $0.topics.contains(topic) }
        }
        if topic.subject < 0 && chosen.isEmpty {
            // A question about no known subject: the facts that share its words.
            chosen = facts.filter { !$0.valueWords.isDisjoint(with: question) || !Set($0.labelWords).isDisjoint(with: question) }
        }
        if !mentionedNames.isEmpty {
            for fact in facts
            where !chosen.contains(where: { $0.line == fact.line })
                && (!fact.valueWords.isDisjoint(with: mentionedNames) || !mentionedNames.isDisjoint(with: fact.labelWords))
            {
                chosen.append(fact)
            }
        }
        return chosen
    }

    /// Whether any context line carries one of these labels (each cut into words).
    func has(labels: [[String]]) -> Bool {
        facts.contains { fact in labels.contains { !$0.isEmpty && fact.labelWords.starts(with: $0) } }
    }
}
