import Foundation
import Shared

/// The analyser that needs no account: intents from the taxonomy's patterns, fulfilment from
/// the agent's following turns checked against what the agent was given. Deterministic, and
/// fast enough to run inline (thousands of calls a second on one core).
public struct EmbeddedAnalyser: CallAnalyser {
    public let name = "embedded"
    public let taxonomy: IntentTaxonomy

    public init(taxonomy: IntentTaxonomy = .bundledDefault) {
        self.taxonomy = taxonomy
    }

    public func analyse(_ call: CallCompleted) async throws -> SessionVerdict {
        verdict(for: call)
    }

    /// The verdict, synchronously (the analysis does no I/O).
    public func verdict(for call: CallCompleted) -> SessionVerdict {
        var analysis = CallReading(call: call, taxonomy: taxonomy.compiled)
        return analysis.verdict(analyser: name, taxonomy: taxonomy)
    }
}

/// One call being read: its words, once each, and what was detected in them.
struct CallReading {
    let call: CallCompleted
    let taxonomy: CompiledTaxonomy
    let facts: CallFacts
    private var words: [Words?]
    private var ids: [WordIDs?]
    private var figures: [[Figure]?]
    private var content: [Set<String>?]
    private var speakers: [String: Set<String>] = [:]
    /// Per turn that asked several questions: what it asked.
    private var askedTogether: [Int: [TopicKey]] = [:]

    /// Below this an intent is not even reported.
    static let reportFloor = 0.3

    init(call: CallCompleted, taxonomy: CompiledTaxonomy) {
        self.call = call
        self.taxonomy = taxonomy
        facts = CallFacts(call, taxonomy: taxonomy)
        words = Array(repeating: nil, count: call.turns.count)
        ids = Array(repeating: nil, count: call.turns.count)
        figures = Array(repeating: nil, count: call.turns.count)
        content = Array(repeating: nil, count: call.turns.count)
    }

    // Each turn is read once, whatever asks for it how often.

    mutating func words(_ turn: Int) -> (words: Words, ids: WordIDs) {
        if let cached = words[turn], let cachedIDs = ids[turn] { return (cached, cachedIDs) }
        let cut = Words(call.turns[turn].text)
        let wordIDs = taxonomy.vocabulary.read(cut)
        words[turn] = cut
        ids[turn] = wordIDs
        return (cut, wordIDs)
    }

    mutating func figures(_ turn: Int) -> [Figure] {
        if let cached = figures[turn] { return cached }
        let found = Figure.extract(from: words(turn).words)
        figures[turn] = found
        return found
    }

    mutating func content(_ turn: Int) -> Set<String> {
        if let cached = content[turn] { return cached }
        let found = ContentWords.of(words(turn).words)
        content[turn] = found
        return found
    }

    mutating func speaker(_ turn: Int) -> Set<String> {
        let name = call.turns[turn].speaker
        if let cached = speakers[name] { return cached }
        let found = Set(Words(name).words)
        speakers[name] = found
        return found
    }

    // MARK: The verdict

    /// A session-level intent: one (intent, subject), with every turn that expressed it.
    struct Asked {
        var topic: TopicKey
        var turns: [Int] = []
        var confidences: [Double] = []
        var confidence: Double { confidences.max() ?? 0 }
    }

    mutating func verdict(analyser: String, taxonomy definitions: IntentTaxonomy) -> SessionVerdict {
        let participantTurns = call.turns.indices.filter { call.turns[$0].role == .participant }
        var asked: [Asked] = []
        for turn in participantTurns {
            let detected = detect(turn)
            // Questions asked together share a reply; each is judged on its own part of it.
            let questions = detected.filter {
                $0.1 >= SessionVerdict.confidenceThreshold && taxonomy.intents[$0.0.intent].fulfilment == .answer
            }
            if questions.count > 1 { askedTogether[turn] = questions.map(\.0) }
            for (topic, confidence) in detected where confidence >= Self.reportFloor {
                if let index = asked.firstIndex(where: { $0.topic == topic }) {
                    asked[index].turns.append(turn)
                    asked[index].confidences.append(confidence)
                } else {
                    asked.append(Asked(topic: topic, turns: [turn], confidences: [confidence]))
                }
            }
        }
        let threshold = SessionVerdict.confidenceThreshold
        var intents = asked.map { item in
            DetectedIntent(
                type: taxonomy.intents[item.topic.intent].type, subject: subjectName(item.topic), turns: item.turns,
                confidence: Self.rounded(item.confidence))
        }
        if !participantTurns.isEmpty && !asked.contains(where: { $0.confidence >= threshold }) {
            let strongest = asked.map(\.confidence).max() ?? 0
            intents.append(DetectedIntent(type: .none, turns: participantTurns, confidence: Self.rounded(1 - strongest)))
        }

        let counting = asked.filter { $0.confidence >= threshold && taxonomy.intents[$0.topic.intent].counts }
        var askedTurns = Set<Int>()
        for item in counting {
            for (turn, confidence) in zip(item.turns, item.confidences) where confidence >= threshold { askedTurns.insert(turn) }
        }
        var fulfilments: [IntentFulfilment] = []
        for item in counting {
            var best: Outcome?
            for (turn, confidence) in zip(item.turns, item.confidences) where confidence >= threshold {
                let outcome = evaluate(item.topic, askedAt: turn, askedTurns: askedTurns)
                if outcome.status.rank >= (best?.status.rank ?? -1) { best = outcome }
            }
            guard let best else { continue }
            fulfilments.append(
                IntentFulfilment(
                    intent: taxonomy.intents[item.topic.intent].type, subject: subjectName(item.topic), status: best.status,
                    failureKind: best.status == .pass ? nil : best.kind,
                    evidence: best.evidence.map { call.turns[$0].quoted(at: $0) },
                    reason: best.reason))
        }
        let status = SessionVerdict.status(
            participantTurns: participantTurns.count, intents: intents, fulfilments: fulfilments,
            counts: { definitions.counts($0) })
        return SessionVerdict(
            status: status, intents: intents, fulfilments: fulfilments,
            summary: Self.summary(
                status: status, intents: intents, fulfilments: fulfilments, participantTurns: participantTurns.count),
            analyser: analyser)
    }

    func subjectName(_ topic: TopicKey) -> String? {
        topic.subject >= 0 ? taxonomy.intents[topic.intent].subjects[topic.subject].name : nil
    }

    static func rounded(_ value: Double) -> Double { (min(max(value, 0), 1) * 100).rounded() / 100 }

    static func summary(status: SessionStatus, intents: [DetectedIntent], fulfilments: [IntentFulfilment], participantTurns: Int)
        -> String
    {
        switch status {
        case .skipped:
            if participantTurns == 0 { return "skipped: no participant spoke" }
            if intents.contains(where: { $0.type == .smalltalk && $0.confidence >= SessionVerdict.confidenceThreshold }) {
                return "skipped: only smalltalk, nothing was asked of the agent"
            }
            return "skipped: nothing was asked of the agent"
        default:
            let fulfilled = fulfilments.filter { $0.status == .pass }.count
            var line =
                "\(status.rawValue): \(fulfilled) of \(fulfilments.count) request\(fulfilments.count == 1 ? "" : "s") fulfilled"
            if let first = fulfilments.first(where: { $0.status != .pass }) {
                let what = first.subject.map { "\(first.intent.rawValue) (\($0))" } ?? first.intent.rawValue
                line += "; \(what) \(first.status.rawValue), \(first.failureKind?.rawValue ?? "?"): \(first.reason)"
            }
            return line
        }
    }

    // MARK: Intents

    static let fillers: Set<String> = [
        "so", "okay", "ok", "alright", "right", "and", "but", "um", "uh", "er", "erm", "hmm", "well", "hey", "hi", "hello",
        "actually", "also", "quick", "question", "just", "yeah", "yes", "now", "then", "sorry", "oh", "great", "cool",
        "one", "more", "thing", "last", "another", "finally", "first", "anyway", "plus", "wait", "hold", "hang", "listen",
        "look", "sure", "fine", "no", "absolutely", "definitely", "certainly",
    ]
    static let selfSubjects: Set<String> = ["i", "we", "someone", "somebody", "they", "he", "she"]
    static let selfModals: Set<String> = ["will", "should", "must", "can", "could", "shall"]
    static let clauseJoins: Set<String> = ["and", "also", "plus", "or", "but", "then"]

    /// The intents (and subjects) one participant turn expresses, with their confidence.
    mutating func detect(_ turn: Int) -> [(TopicKey, Double)] {
        let (words, ids) = words(turn)
        let speaker = speaker(turn)
        var found: [(TopicKey, Double)] = []
        for (sentence, asked) in zip(words.sentences, words.asked) {
            for clause in clauses(of: sentence, words, ids) {
                for (topic, confidence) in score(clause, asked: asked, words, ids, speaker: speaker) {
                    if let index = found.firstIndex(where: { $0.0 == topic }) {
                        found[index].1 = max(found[index].1, confidence)
                    } else {
                        found.append((topic, confidence))
                    }
                }
            }
        }
        return found
    }

    /// "What is the agenda and how is hiring going" is two questions: a sentence is cut before
    /// "and", "also", … when a question or request starts right after it.
    func clauses(of sentence: Range<Int>, _ words: Words, _ ids: WordIDs) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = sentence.lowerBound
        var position = start + 2
        while position < sentence.upperBound - 1 {
            if Self.clauseJoins.contains(words.words[position]),
                !taxonomy.startCues.matches(in: ids, at: position + 1, before: sentence.upperBound).isEmpty
            {
                result.append(start..<position)
                start = position + 1
                position = start + 2
            } else {
                position += 1
            }
        }
        result.append(start..<sentence.upperBound)
        return result
    }

    private func score(_ clause: Range<Int>, asked: Bool, _ words: Words, _ ids: WordIDs, speaker: Set<String>)
        -> [(TopicKey, Double)]
    {
        let list = words.words
        // Who it is said to: "Attaché, …" makes it the agent's; "Ada, can you …" someone else's.
        var start = clause.lowerBound
        var toAgent = false
        var toOther = false
        while start < clause.upperBound {
            let word = list[start]
            if Self.fillers.contains(word) {
                start += 1
            } else if facts.agentNames.contains(word) {
                toAgent = true
                start += 1
            } else if facts.names.contains(word), !speaker.contains(word), start + 1 < clause.upperBound,
                words.pauseAfter[start]
                    || !taxonomy.startCues.matches(in: ids, at: start + 1, before: clause.upperBound).isEmpty
            {
                toOther = true
                start += 1
            } else {
                break
            }
        }
        var end = clause.upperBound
        if let last = clause.last, last > start, words.pauseAfter[last - 1] {
            if facts.agentNames.contains(list[last]) {
                toAgent = true
                end = last
            } else if facts.names.contains(list[last]) && !speaker.contains(list[last]) {
                toOther = true
                end = last
            }
        }
        // What is left once fillers and names of address are set aside: where a question starts.
        let body = start..<max(start, end)
        let anywhere = taxonomy.anywhereCues.matches(in: ids, range: clause)
        let cue =
            !body.isEmpty
            && (asked || !taxonomy.startCues.matches(in: ids, at: start, before: end).isEmpty || !anywhere.isEmpty)
        let selfAction = !body.isEmpty && isSelfAction(at: start, body, list)

        let all = taxonomy.requests.matches(in: ids, range: clause)
        let tags = taxonomy.requests.tags
        let specificity = taxonomy.requests.specificity
        // A keyword inside another topic's phrase is part of that phrase ("follow up" in
        // "schedule a follow up meeting").
        let matches = all.filter { match in
            let tag = tags[match.pattern]
            return !all.contains { other in
                let otherTag = tags[other.pattern]
                guard otherTag.strength == .phrase, otherTag.topic != tag.topic else { return false }
                // (A question's own cue around its subject, "how are the hiring plans going",
                // is the same intent and keeps the subject.)
                if otherTag.topic.intent != tag.topic.intent && match.isInside(other) { return true }
                // Two subjects' phrases over the same words ("when does the meeting start" is the
                // meeting's details, not a hire's start): the one naming more words wins.
                return tag.strength == .phrase && otherTag.topic.intent == tag.topic.intent && match.start < other.end
                    && other.start < match.end && specificity[other.pattern] > specificity[match.pattern]
            }
        }
        var phrases: [TopicKey: Set<Int>] = [:]
        var keywords: [TopicKey: Set<Int>] = [:]
        for match in matches {
            let tag = tags[match.pattern]
            // A request's verb where a request puts it ("can you send", "please log", "Assign
            // the checks to Julia") is as good as a phrase.
            let requested =
                tag.strength == .keyword && !body.isEmpty
                && [FulfilmentCheck.commitment, .recap].contains(taxonomy.intents[tag.topic.intent].fulfilment)
                && (match.start == start || anywhere.contains { $0.end == match.start })
            if tag.strength == .phrase || requested {
                phrases[tag.topic, default: []].insert(match.pattern)
            } else {
                keywords[tag.topic, default: []].insert(match.pattern)
            }
        }
        let phraseIntents = Set(phrases.keys.map(\.intent))
        let matchedIntents = Set(phrases.keys.map(\.intent)).union(keywords.keys.map(\.intent))
        let factCueIntents = Set(
            phrases.keys.filter { $0.subject < 0 && !taxonomy.intents[$0.intent].subjects.isEmpty }.map(\.intent))
        let factCue = !factCueIntents.isEmpty

        var scored: [(TopicKey, Double)] = []
        func adjust(_ topic: TopicKey, _ base: Double, phraseBacked: Bool) -> Double {
            let intent = taxonomy.intents[topic.intent]
            var value = base
            if intent.fulfilment == .answer && !cue && !factCue { value *= 0.55 }
            if !phraseBacked && !phraseIntents.subtracting([topic.intent]).isEmpty { value *= 0.7 }
            if intent.fulfilment != .none {
                if toOther { value *= 0.5 }
                if selfAction && (intent.fulfilment == .commitment || intent.fulfilment == .recap) { value *= 0.5 }
                if toAgent { value += 0.05 }
            }
            return min(value, 0.98)
        }

        for intentIndex in matchedIntents.sorted() {
            let intent = taxonomy.intents[intentIndex]
            let own = TopicKey(intent: intentIndex, subject: -1)
            if intent.subjects.isEmpty {
                let boosted = intent.fulfilment == .answer && factCue
                let p = phrases[own]?.count ?? 0
                let base = Self.strength(phrases: p, keywords: keywords[own]?.count ?? 0, cue: cue || boosted, boosted: boosted)
                scored.append((own, adjust(own, base, phraseBacked: p > 0 || boosted)))
                continue
            }
            let ownCue = factCueIntents.contains(intentIndex)
            var subjects: [(TopicKey, Double, Bool)] = []
            for subject in intent.subjects.indices {
                let key = TopicKey(intent: intentIndex, subject: subject)
                let p = phrases[key]?.count ?? 0
                let k = keywords[key]?.count ?? 0
                guard p + k > 0 else { continue }
                let base = Self.strength(phrases: p, keywords: k, cue: cue || ownCue, boosted: ownCue)
                subjects.append((key, adjust(key, base, phraseBacked: p > 0 || ownCue), p > 0))
            }
            if subjects.isEmpty, ownCue {
                // A fact question about nothing the taxonomy names: another question intent in
                // the same words takes it ("tell me about the agenda"); else a person named in
                // it, else no subject.
                let otherQuestion = matchedIntents.contains { $0 != intentIndex && taxonomy.intents[$0].fulfilment == .answer }
                if otherQuestion { continue }
                let key = mentionsPerson(body, list, speaker: speaker).flatMap { $0 ? taxonomy.personSubject : nil } ?? own
                subjects.append(
                    (key, adjust(key, Self.strength(phrases: 1, keywords: 0, cue: true, boosted: true), phraseBacked: true), true)
                )
            }
            // Of the subjects a question names only in passing, the strongest; those it asks
            // about in so many words all stay.
            guard let best = subjects.max(by: { $0.1 < $1.1 }) else { continue }
            for subject in subjects where subject.0 == best.0 || subject.2 {
                scored.append((subject.0, subject.1))
            }
        }

        // Nothing matched but a question about one of the call's people ("what does Grace think?").
        if !scored.contains(where: { taxonomy.intents[$0.0.intent].counts }), cue, let person = taxonomy.personSubject,
            mentionsPerson(body, list, speaker: speaker) == true
        {
            scored.append(
                (person, adjust(person, Self.strength(phrases: 0, keywords: 1, cue: true, boosted: false), phraseBacked: false)))
        }
        return scored
    }

    /// 0.8 for a phrase and 0.05 for every further match; 0.3 for a keyword alone (0.1 more per
    /// further keyword, at most 0.45), 0.3 more in a question or request.
    static func strength(phrases: Int, keywords: Int, cue: Bool, boosted: Bool) -> Double {
        var value: Double
        if phrases > 0 {
            value = 0.8 + 0.05 * Double(phrases - 1 + keywords) + (cue ? 0.05 : 0)
        } else {
            value = min(0.3 + 0.1 * Double(max(keywords - 1, 0)), 0.45) + (cue ? 0.3 : 0)
            if boosted { value = max(value, 0.8) }
        }
        return min(value, 0.95)
    }

    /// "I will send it", "we can move it", "let me recap": the speaker (or someone else in the
    /// room) takes it on, so it is not a request to the agent. ("Let's reschedule" is not: it
    /// asks the room, the agent included.)
    private func isSelfAction(at start: Int, _ clause: Range<Int>, _ list: [String]) -> Bool {
        guard start + 1 < clause.upperBound else { return false }
        // "We will need to …", "we will have to …": a necessity, not someone taking it on.
        if start + 2 < clause.upperBound, ["need", "have"].contains(list[start + 2]) { return false }
        let first = list[start]
        let second = list[start + 1]
        if first == "let" && second == "me" {
            return !(start + 2 < clause.upperBound && list[start + 2] == "know")
        }
        guard Self.selfSubjects.contains(first) || (facts.names.contains(first) && !facts.agentNames.contains(first)) else {
            return false
        }
        if Self.selfModals.contains(second) { return true }
        return ["am", "is", "are"].contains(second) && start + 2 < clause.upperBound && list[start + 2] == "going"
    }

    /// nil: nobody named; else whether someone other than the speaker and the agent is.
    private func mentionsPerson(_ clause: Range<Int>, _ list: [String], speaker: Set<String>) -> Bool? {
        let named = clause.filter { facts.names.contains(list[$0]) && !speaker.contains(list[$0]) }
        return named.isEmpty ? nil : true
    }

    // MARK: Fulfilment

    struct Outcome {
        var status: FulfilmentStatus
        var kind: FailureKind?
        var reason: String
        var evidence: [Int]
    }

    /// The agent's turns that answer turn `asked`: those right after it, past at most two
    /// participant turns that ask nothing (a continuation, "good question"), and on past an
    /// interruption that asked nothing ("sorry, go on") to the agent's next turns.
    func replyTurns(after asked: Int, askedTurns: Set<Int>) -> (turns: [Int], skipped: [Int]) {
        let turns = call.turns
        var index = asked + 1
        var skipped: [Int] = []
        while index < turns.count, turns[index].role == .participant {
            if askedTurns.contains(index) || skipped.count == 2 { return ([], skipped) }
            skipped.append(index)
            index += 1
        }
        var reply: [Int] = []
        var resumptions = 0
        while index < turns.count {
            while index < turns.count, turns[index].role == .agent {
                reply.append(index)
                index += 1
            }
            guard let last = reply.last, turns[last].interrupted == true, resumptions < 2, index < turns.count,
                !askedTurns.contains(index), index + 1 < turns.count, turns[index + 1].role == .agent
            else { break }
            skipped.append(index)
            index += 1
            resumptions += 1
        }
        return (reply, skipped)
    }

    mutating func evaluate(_ topic: TopicKey, askedAt turn: Int, askedTurns: Set<Int>) -> Outcome {
        let (reply, skipped) = replyTurns(after: turn, askedTurns: askedTurns)
        let question = call.turns[turn]
        guard !reply.isEmpty else {
            return Outcome(
                status: .fail, kind: .noReply,
                reason: "no agent turn followed \(question.speaker)'s turn \(turn)", evidence: [turn] + skipped)
        }
        let evidence = ([turn] + skipped + reply).sorted()
        let heard = reply.map { call.turns[$0].text }.joined(separator: " ")
        var replyWords = Words(heard)
        var replyIDs = taxonomy.vocabulary.read(replyWords)
        let questionWords = words(turn).words
        let questionContent = content(turn)
        if let together = askedTogether[turn], together.contains(topic) {
            replyWords = part(of: replyWords, ids: replyIDs, about: topic, among: together, askedAt: turn)
            replyIDs = taxonomy.vocabulary.read(replyWords)
        }
        let interrupted = call.turns[reply.last!].interrupted == true
        let kinds = taxonomy.replyKinds(of: replyWords, ids: replyIDs)
        let replyContent = ContentWords.of(replyWords)
        let reading = Reply(
            turns: reply, evidence: evidence, heard: heard, words: replyWords, content: replyContent, kinds: kinds,
            interrupted: interrupted)
        switch taxonomy.intents[topic.intent].fulfilment {
        case .answer:
            return answer(topic, askedAt: turn, questionWords: questionWords, questionContent: questionContent, reply: reading)
        case .commitment:
            return commitment(questionContent: questionContent, reply: reading)
        case .recap:
            return recap(before: turn, questionContent: questionContent, reply: reading)
        case .none:
            return Outcome(status: .pass, reason: "nothing to fulfil", evidence: evidence)
        }
    }

    struct Reply {
        var turns: [Int]
        var evidence: [Int]
        var heard: String
        var words: Words
        var content: Set<String>
        var kinds: Set<CompiledTaxonomy.ReplyKind>
        var interrupted: Bool

        var quote: String { CallReading.quote(heard) }
    }

    static func quote(_ text: String, limit: Int = 90) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return "“" + (flat.count > limit ? flat.prefix(limit - 1) + "…" : flat) + "”"
    }

    /// The facts a reply to `topic`, asked at `turn`, should carry.
    private mutating func relevantFacts(_ topic: TopicKey, askedAt turn: Int) -> [ContextFact] {
        var labels = taxonomy.labels[topic] ?? []
        if labels.isEmpty, topic.subject >= 0 { labels = taxonomy.labels[TopicKey(intent: topic.intent, subject: -1)] ?? [] }
        let speaker = speaker(turn)
        let mentioned = Set(words(turn).words.words.filter { facts.names.contains($0) && !speaker.contains($0) })
        return facts.relevant(to: topic, labels: labels, question: content(turn), mentionedNames: mentioned)
    }

    /// The sentences of a reply to several questions that answer `topic`: those that name it
    /// or repeat its facts at least as much as any other question's.
    private mutating func part(
        of reply: Words, ids: WordIDs, about topic: TopicKey, among together: [TopicKey], askedAt turn: Int
    )
        -> Words
    {
        let factWords = together.map { key in
            relevantFacts(key, askedAt: turn).reduce(into: Set<String>()) { $0.formUnion($1.valueWords) }
        }
        var kept: [Int] = []
        for (index, sentence) in reply.sentences.enumerated() {
            let content = ContentWords.of(reply.words[sentence])
            let named = Set(taxonomy.requests.matches(in: ids, range: sentence).map { taxonomy.requests.tags[$0.pattern].topic })
            let scores = together.indices.map {
                content.intersection(factWords[$0]).count + (named.contains(together[$0]) ? 2 : 0)
            }
            let mine = scores[together.firstIndex(of: topic)!]
            if mine >= scores.max()! { kept.append(index) }
        }
        return reply.keeping(sentences: kept)
    }

    private mutating func answer(
        _ topic: TopicKey, askedAt turn: Int, questionWords: Words, questionContent: Set<String>, reply: Reply
    )
        -> Outcome
    {
        let intent = taxonomy.intents[topic.intent]
        let relevant = relevantFacts(topic, askedAt: turn)
        let about = subjectName(topic) ?? intent.type.rawValue
        let refusal = reply.kinds.contains(.unknown)

        // Figures: every one the reply states must agree with something the agent was given or
        // heard in the call before answering. A question whose facts carry figures must be
        // answered with those figures; one whose facts carry none may quote any in the context.
        let relevantFigures = relevant.flatMap(\.figures)
        var known = relevantFigures.isEmpty ? facts.figures : relevantFigures
        for index in 0..<(reply.turns.last ?? 0) where call.turns[index].role == .participant {
            known += figures(index)
        }
        let replyFigures = Figure.extract(from: reply.words)
        let unsupported = replyFigures.filter { figure in
            !figure.isSupported(by: known) && (!relevantFigures.isEmpty || !Self.isIncidental(figure))
        }
        let bestFact = relevant.max {
            $0.valueWords.intersection(reply.content).count < $1.valueWords.intersection(reply.content).count
        }
        // The fact outside the question's that the reply repeats most, if it repeats one.
        let elsewhere = facts.facts.filter { fact in !relevant.contains { $0.line == fact.line } }
            .max { $0.valueWords.intersection(reply.content).count < $1.valueWords.intersection(reply.content).count }
            .flatMap { $0.valueWords.intersection(reply.content).count >= 2 ? $0 : nil }
        if !refusal, !unsupported.isEmpty, let elsewhere, unsupported.allSatisfy({ $0.isSupported(by: elsewhere.figures) }) {
            // Another fact's figures, quoted right: an answer to something else, not a wrong one.
            return Outcome(
                status: .fail, kind: .offTopic,
                reason: "asked about \(about), answered with \(Self.quote(elsewhere.line, limit: 60))",
                evidence: reply.evidence)
        }
        if !refusal, let wrong = unsupported.first {
            let fact = relevant.first { !$0.figures.isEmpty } ?? bestFact
            return Outcome(
                status: .fail, kind: .wrongFact,
                reason: "said “\(wrong.text)” on \(about), which "
                    + (fact.map { "contradicts the context: \(Self.quote($0.line, limit: 70))" }
                        ?? "nothing in the context supports"),
                evidence: reply.evidence)
        }

        // People: "who owns it" answered with someone the notes do not name for it.
        if questionWords.words.contains(where: { $0 == "who" || $0 == "whose" }) {
            let namedInReply = reply.content.intersection(facts.names)
            let namedInFacts = relevant.reduce(into: Set<String>()) { $0.formUnion($1.valueWords.intersection(facts.names)) }
            if !refusal, !namedInReply.isEmpty, !namedInFacts.isEmpty, namedInReply.isDisjoint(with: namedInFacts) {
                return Outcome(
                    status: .fail, kind: .wrongFact,
                    reason: "named \(namedInReply.sorted().joined(separator: ", ")) for \(about); the context names "
                        + namedInFacts.sorted().joined(separator: ", "),
                    evidence: reply.evidence)
            }
        }

        let factWords = relevant.reduce(into: Set<String>()) { $0.formUnion($1.valueWords) }
        let shared = reply.content.intersection(factWords).subtracting(questionContent)
        let support = shared.count + replyFigures.filter { $0.isSupported(by: relevantFigures) }.count
        if support > 0 {
            if reply.interrupted, let bestFact {
                let coverage =
                    Double(bestFact.valueWords.intersection(reply.content).count) / Double(max(bestFact.valueWords.count, 1))
                if coverage < 0.5 {
                    return Outcome(
                        status: .partial, kind: .cutOff,
                        reason: "cut off after \(reply.quote), before the rest of \(Self.quote(bestFact.line, limit: 60))",
                        evidence: reply.evidence)
                }
            }
            return Outcome(
                status: .pass,
                reason: "answered from the context"
                    + (bestFact.map { ": \(Self.quote($0.line, limit: 70))" } ?? "")
                    + (reply.interrupted ? " before being cut off" : ""),
                evidence: reply.evidence)
        }
        if refusal {
            if let fact = relevant.first {
                return Outcome(
                    status: .fail, kind: .unjustifiedUnknown,
                    reason: "said it did not know \(about), but the context had \(Self.quote(fact.line, limit: 70))",
                    evidence: reply.evidence)
            }
            return Outcome(
                status: .partial, kind: .missingContext,
                reason: facts.contextKnown
                    ? "said it did not know \(about), and nothing in its context covered it"
                    : "said it did not know \(about); the call did not say what the agent was given",
                evidence: reply.evidence)
        }
        if reply.interrupted {
            return Outcome(
                status: .fail, kind: .cutOff, reason: "cut off after \(reply.quote), before any answer on \(about)",
                evidence: reply.evidence)
        }
        if let elsewhere {
            return Outcome(
                status: .fail, kind: .offTopic,
                reason: "asked about \(about), answered with \(Self.quote(elsewhere.line, limit: 60))",
                evidence: reply.evidence)
        }
        return Outcome(
            status: .fail, kind: .offTopic, reason: "asked about \(about), the reply \(reply.quote) did not answer it",
            evidence: reply.evidence)
    }

    /// Words of the request itself, which a reply repeating them does not make a recap.
    static let recapWords: Set<String> = [
        "recap", "summary", "summarise", "summarize", "discussion", "discussed", "covered", "point", "key", "takeaway", "far",
        "sum",
    ]

    /// Small counts spelt as words ("two things") are how people talk, not claims.
    static func isIncidental(_ figure: Figure) -> Bool {
        figure.value <= 3 && !figure.scaled && !(figure.text.utf8.first.map { (0x30...0x39).contains($0) } ?? false)
    }

    private func commitment(questionContent: Set<String>, reply: Reply) -> Outcome {
        let took = reply.kinds.contains(.commitment)
        let declined = reply.kinds.contains(.decline)
        let refused = reply.kinds.contains(.unknown)
        if took && !declined && !refused {
            return Outcome(status: .pass, reason: "took it on: \(reply.quote)", evidence: reply.evidence)
        }
        if took {
            return Outcome(
                status: .partial, kind: declined ? .declined : .offTopic,
                reason: declined
                    ? "said it could not, though it offered something: \(reply.quote)"
                    : "treated the request as a question it could not answer, and only noted it: \(reply.quote)",
                evidence: reply.evidence)
        }
        if declined {
            return Outcome(status: .fail, kind: .declined, reason: "said it could not: \(reply.quote)", evidence: reply.evidence)
        }
        if refused {
            return Outcome(
                status: .fail, kind: .offTopic, reason: "answered as if asked a question it could not answer: \(reply.quote)",
                evidence: reply.evidence)
        }
        if reply.content.intersection(questionContent).count >= 2 {
            return Outcome(status: .pass, reason: "repeated the request back: \(reply.quote)", evidence: reply.evidence)
        }
        if reply.interrupted {
            return Outcome(
                status: .fail, kind: .cutOff, reason: "cut off after \(reply.quote), before taking it on",
                evidence: reply.evidence)
        }
        return Outcome(
            status: .fail, kind: .offTopic, reason: "did not take the request on: \(reply.quote)", evidence: reply.evidence)
    }

    private mutating func recap(before turn: Int, questionContent: Set<String>, reply: Reply) -> Outcome {
        // What was said before the request, and in the request's own turn ("We agreed X. Can you
        // recap?"); the greeting says nothing about the call.
        var earlier = Set<String>()
        let greeting = call.turns.firstIndex { $0.role == .agent }
        for index in 0...turn where index != greeting {
            earlier.formUnion(content(index))
        }
        let agenda = facts.facts.filter { $0.labelWords.first == "agenda" }
        for fact in agenda { earlier.formUnion(fact.valueWords) }
        let overlap = reply.content.intersection(earlier).subtracting(Self.recapWords)
        if overlap.count >= 3 {
            if reply.interrupted {
                return Outcome(
                    status: .partial, kind: .cutOff, reason: "the recap was cut off: \(reply.quote)", evidence: reply.evidence)
            }
            return Outcome(status: .pass, reason: "recapped the call: \(reply.quote)", evidence: reply.evidence)
        }
        if reply.kinds.contains(.unknown) {
            if earlier.subtracting(questionContent).count >= 5 {
                return Outcome(
                    status: .fail, kind: .unjustifiedUnknown,
                    reason: "said it had nothing to recap, though the call had covered \(earlier.count) things",
                    evidence: reply.evidence)
            }
            return Outcome(
                status: .partial, kind: .missingContext, reason: "said it had nothing to recap, and little had been said",
                evidence: reply.evidence)
        }
        if reply.interrupted {
            return Outcome(
                status: .fail, kind: .cutOff, reason: "cut off after \(reply.quote), before any recap", evidence: reply.evidence)
        }
        if !overlap.isEmpty {
            return Outcome(
                status: .partial, kind: .offTopic, reason: "the recap touched little of what was said: \(reply.quote)",
                evidence: reply.evidence)
        }
        return Outcome(
            status: .fail, kind: .offTopic, reason: "the reply was no recap of the call: \(reply.quote)", evidence: reply.evidence
        )
    }
}

extension FulfilmentStatus {
    var rank: Int {
        switch self {
        case .fail: 0
        case .partial: 1
        case .pass: 2
        }
    }
}
