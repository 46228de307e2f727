/// A taxonomy's patterns compiled for matching, built once when the taxonomy is loaded.
struct CompiledTaxonomy: Sendable {
    enum Strength: Sendable { case phrase, keyword }

    struct Tag: Sendable {
        var topic: TopicKey
        var strength: Strength
    }

    enum ReplyKind: Sendable { case unknown, commitment, decline, greeting }

    var intents: [IntentDefinition]
    var vocabulary = Vocabulary()
    /// Every intent's and subject's phrases and keywords; an intent's own phrases carry
    /// subject -1 (for ask_fact, the cues of a fact question whatever it is about).
    var requests = PatternSet<Tag>()
    var replies = PatternSet<ReplyKind>()
    var startCues = PatternSet<Int>()
    var anywhereCues = PatternSet<Int>()
    /// Context labels per intent (subject -1) and per subject, cut into words.
    var labels: [TopicKey: [[String]]] = [:]
    /// The subject the names of the call's people count towards (`participant`).
    var personSubject: TopicKey?
    var noneIntent: Int

    static let personSubjectName = "participant"

    init(intents: [IntentDefinition], agentReplies reply: AgentReplyPatterns, questionCues: QuestionCues)
        throws(PatternSyntaxError)
    {
        self.intents = intents
        noneIntent = intents.firstIndex { $0.type == .none } ?? 0
        for (index, intent) in intents.enumerated() {
            let own = TopicKey(intent: index, subject: -1)
            for phrase in intent.phrases {
                try requests.add(phrase, tag: Tag(topic: own, strength: .phrase), vocabulary: &vocabulary)
            }
            for keyword in intent.keywords {
                try requests.add(keyword, tag: Tag(topic: own, strength: .keyword), vocabulary: &vocabulary)
            }
            labels[own] = intent.contextLabels.map { Words($0).words }
            for (subjectIndex, subject) in intent.subjects.enumerated() {
                let key = TopicKey(intent: index, subject: subjectIndex)
                for phrase in subject.phrases {
                    try requests.add(phrase, tag: Tag(topic: key, strength: .phrase), vocabulary: &vocabulary)
                }
                for keyword in subject.keywords {
                    try requests.add(keyword, tag: Tag(topic: key, strength: .keyword), vocabulary: &vocabulary)
                }
                labels[key] = subject.contextLabels.map { Words($0).words }
                if subject.name == Self.personSubjectName { personSubject = key }
            }
        }
        for pattern in reply.unknown { try replies.add(pattern, tag: .unknown, vocabulary: &vocabulary) }
        for pattern in reply.commitment { try replies.add(pattern, tag: .commitment, vocabulary: &vocabulary) }
        for pattern in reply.declines { try replies.add(pattern, tag: .decline, vocabulary: &vocabulary) }
        for pattern in reply.greeting { try replies.add(pattern, tag: .greeting, vocabulary: &vocabulary) }
        for (index, cue) in questionCues.start.enumerated() { try startCues.add(cue, tag: index, vocabulary: &vocabulary) }
        for (index, cue) in questionCues.anywhere.enumerated() {
            try anywhereCues.add(cue, tag: index, vocabulary: &vocabulary)
        }
    }

    /// The intents and subjects a context line speaks of, by the same patterns.
    func topics(of words: Words) -> [TopicKey] {
        var found: [TopicKey] = []
        for match in requests.matches(in: vocabulary.read(words), range: 0..<words.words.count) {
            let topic = requests.tags[match.pattern].topic
            if intents[topic.intent].counts && !found.contains(topic) { found.append(topic) }
        }
        return found
    }

    /// What an agent's reply does: says it does not know, takes something on, declines, greets.
    /// A match inside a longer one of another kind does not count ("sure" in "I am not sure").
    func replyKinds(of words: Words, ids: WordIDs) -> Set<ReplyKind> {
        var kinds = Set<ReplyKind>()
        for sentence in words.sentences {
            let matches = replies.matches(in: ids, range: sentence)
            for match in matches
            where !matches.contains(where: { replies.tags[$0.pattern] != replies.tags[match.pattern] && match.isInside($0) }) {
                kinds.insert(replies.tags[match.pattern])
            }
        }
        return kinds
    }
}
