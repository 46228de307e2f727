import Foundation

/// The embedded chat model: deterministic, no account, no network. It answers the last user
/// message from the facts in the system message (lines written `Label: value`): it tells what
/// kind of thing is asked (the agenda, a time, a person, a figure), picks the fact of that kind
/// that shares the most words with the question, and says plainly when it has none. A request
/// ("can you send the notes") it takes on ("Yes, I will send the notes."), and what is only
/// said to the room it acknowledges ("Noted."). It streams its answer word by word.
///
/// It is not a language model; it is enough for a meeting agent to answer "what is on the
/// agenda" from its context, for tests to know the answer in advance, and for benchmarks to
/// measure the pipeline rather than a model.
public struct LocalResponder: ChatModel {
    public let name = "local"
    /// Pause between streamed words; zero streams as fast as the consumer reads.
    public var wordInterval: Duration

    public init(wordInterval: Duration = .zero) {
        self.wordInterval = wordInterval
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
        let words = Self.answer(to: request).split(separator: " ", omittingEmptySubsequences: true)
        let interval = wordInterval
        return AsyncThrowingStream { continuation in
            let task = Task {
                for (index, word) in words.enumerated() {
                    if interval > .zero { try? await Task.sleep(for: interval) }
                    if Task.isCancelled { break }
                    continuation.yield(index == 0 ? String(word) : " " + word)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static let notKnown = "I do not know that; it is not in my notes for this meeting."

    /// The whole answer, as `stream` delivers it.
    public static func answer(to request: ChatRequest) -> String {
        let question = request.messages.last(where: { $0.role == .user })?.content ?? ""
        guard !question.isEmpty else { return "I am listening." }
        if let task = Self.request(in: question) { return "Yes, I will \(task)." }
        guard Self.asks(question) else { return "Noted." }
        let facts = Facts(request.messages.filter { $0.role == .system }.flatMap { Self.facts(in: $0.content) })
        return Question(question).answer(from: facts)
    }

    /// What the agent is asked to do ("can you send the notes after the call", "please
    /// capture the action items"), as it would say it will: a request is a commitment to
    /// make, not a question to look up.
    static func request(in text: String) -> String? {
        var rest = words(text)
        if rest.first == "please" {
            rest.removeFirst()
        } else {
            guard let first = rest.first, ["can", "could", "would", "will"].contains(first), rest.count > 2 else {
                return nil
            }
            rest.removeFirst()
            let addressee = rest.prefix(2).joined(separator: " ")
            if rest.first == "you" || rest.first == "attaché" || rest.first == "attache" {
                rest.removeFirst()
            } else if addressee == "the assistant" || addressee == "the agent" || addressee == "the bot" {
                rest.removeFirst(2)
            } else {
                return nil
            }
            if rest.first == "please" { rest.removeFirst() }
        }
        // "Can you tell me…" asks for a fact; "can you hear me" asks nothing to be done.
        guard let verb = rest.first, rest.count > 1,
            !["be", "tell", "say", "explain", "give", "share", "remind", "hear", "see"].contains(verb)
        else { return nil }
        return rest.joined(separator: " ")
    }

    /// Whether the words ask something: a question mark, or a question's opening word. What
    /// is only said to the room ("the budget review is done") gets an acknowledgement, not an
    /// answer to a question nobody asked.
    static func asks(_ text: String) -> Bool {
        text.contains("?") || words(text).first.map(questionOpenings.contains) == true
    }

    private static let questionOpenings: Set<String> = [
        "what", "when", "who", "whom", "whose", "where", "why", "how", "which", "is", "are", "was", "were", "do", "does",
        "did", "can", "could", "would", "will", "should", "shall", "have", "has", "any", "tell", "remind",
    ]

    struct Fact {
        var label: String
        var value: String
        var spoken: String { "\(label): \(LocalResponder.sentence(value))" }
    }

    static func facts(in text: String) -> [Fact] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let label = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty, !value.isEmpty, label.count <= 40 else { return nil }
            return Fact(label: label, value: value)
        }
    }

    /// The meeting's facts by role: the lines `MeetingContext` writes, and the notes (prep
    /// materials, the description) that answer everything else.
    struct Facts {
        var title: String?
        var time: String?
        var participants: [String] = []
        var agenda: String?
        var description: String?
        var notes: [Fact] = []

        init(_ facts: [Fact]) {
            for fact in facts {
                switch fact.label.lowercased() {
                case "meeting": title = fact.value
                case "time": time = fact.value
                case "participants": participants = fact.value.components(separatedBy: ", ")
                case "agenda": agenda = fact.value
                case "description":
                    description = fact.value
                    notes.append(fact)
                default: notes.append(fact)
                }
            }
        }
    }

    /// A question, and the kind of fact that answers it.
    struct Question {
        enum Kind { case agenda, time, person, figure, meeting, other }

        let text: String
        let kind: Kind
        /// What it is about: its content words, less those that only name the meeting.
        let subject: Set<String>

        init(_ text: String) {
            self.text = text
            let words = LocalResponder.words(text)
            let set = Set(words)
            let phrase = " " + words.joined(separator: " ") + " "
            subject = LocalResponder.contentWords(text).subtracting(LocalResponder.meetingWords)
            kind =
                if !set.isDisjoint(with: ["agenda", "agendas", "topic", "topics", "discuss", "discussing", "cover"]) {
                    .agenda
                } else if set.contains("when")
                    || ["what time", "what date", "what day", "how soon", "how long until"]
                        .contains(where: { phrase.contains(" \($0) ") })
                {
                    .time
                } else if !set.isDisjoint(with: ["who", "whom", "whose"]) {
                    .person
                } else if phrase.contains(" how much ") || phrase.contains(" how many ")
                    || !set.isDisjoint(with: LocalResponder.figureTopics)
                {
                    .figure
                } else if set.contains("meeting"), subject.isSubset(of: ["about", "purpose", "title", "called", "name"]) {
                    .meeting
                } else {
                    .other
                }
        }

        func answer(from facts: Facts) -> String {
            switch kind {
            case .agenda: return agenda(from: facts)
            case .time:
                if let note = best(of: facts.notes, fitting: LocalResponder.mentionsTime) { return note.spoken }
                guard aboutTheMeeting else { return LocalResponder.notKnown }
                return facts.time.map { "This meeting is on \(LocalResponder.spokenTime($0))." }
                    ?? "I do not know when this meeting is."
            case .person:
                if let note = best(of: facts.notes, fitting: { LocalResponder.namesSomeone($0, among: facts.participants) }) {
                    return note.spoken
                }
                guard aboutTheMeeting || !subject.isDisjoint(with: LocalResponder.attendanceWords) else {
                    return LocalResponder.notKnown
                }
                return facts.participants.isEmpty
                    ? "I do not know who is in this meeting."
                    : "The participants are \(LocalResponder.list(facts.participants))."
            case .figure:
                let note =
                    best(of: facts.notes, fitting: LocalResponder.hasFigure) ?? best(of: facts.notes, fitting: { _ in true })
                return note?.spoken ?? LocalResponder.notKnown
            case .meeting:
                if let description = facts.description { return "This meeting is \(facts.title ?? "this one"): \(description)" }
                return facts.title.map { "This meeting is \($0)." } ?? LocalResponder.notKnown
            case .other:
                if let note = best(of: facts.notes, fitting: { _ in true }) { return note.spoken }
                if let agenda = facts.agenda, overlap(with: "agenda " + agenda) > 0 {
                    return "On the agenda: \(LocalResponder.sentence(agenda))"
                }
                return LocalResponder.notKnown
            }
        }

        /// The agenda from the prep materials; else from the description, which often holds it.
        private func agenda(from facts: Facts) -> String {
            if let agenda = facts.agenda { return "On the agenda: \(LocalResponder.sentence(agenda))" }
            guard let description = facts.description else { return "I do not have an agenda for this meeting." }
            if let range = description.range(of: "agenda:", options: .caseInsensitive) {
                let items = description[range.upperBound...].trimmingCharacters(in: .whitespaces)
                if !items.isEmpty { return "On the agenda: \(LocalResponder.sentence(items))" }
            }
            return "I do not have an agenda for this meeting. Its description says: \(LocalResponder.sentence(description))"
        }

        /// Whether the question is about the meeting itself ("when does it start"), not
        /// about something in it.
        private var aboutTheMeeting: Bool { subject.isSubset(of: ["start", "begin", "it", "time", "date", "day"]) }

        private func overlap(with text: String) -> Int { LocalResponder.contentWords(text).intersection(subject).count }

        /// The note of the kind asked for that shares the most words with the question (its
        /// label counting twice, as it names what the note is about); nil if none shares any.
        private func best(of notes: [Fact], fitting fits: (String) -> Bool) -> Fact? {
            var best: (fact: Fact, score: Int)?
            for note in notes where fits(note.value) {
                let score = 2 * overlap(with: note.label) + overlap(with: note.value)
                if score > 0, score > best?.score ?? 0 { best = (note, score) }
            }
            return best?.fact
        }
    }

    /// Words that name the meeting itself: every fact is about this meeting, so they tell no
    /// fact from another (and matching them is how the title answered everything).
    static let meetingWords: Set<String> = ["meeting", "call", "today", "session"]
    static let attendanceWords: Set<String> = [
        "attend", "attending", "here", "joining", "coming", "participant", "invited", "present",
    ]
    static let figureTopics: Set<String> = [
        "budget", "cost", "costs", "spend", "spending", "price", "figure", "figures", "number", "numbers", "percent",
        "revenue", "amount",
    ]
    private static let timeWords: Set<String> = [
        "today", "tomorrow", "yesterday", "week", "weeks", "month", "months", "quarter", "year", "morning",
        "afternoon", "evening", "noon", "am", "pm", "date", "deadline", "monday", "tuesday", "wednesday", "thursday",
        "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "q1", "q2", "q3", "q4",
    ]
    private static let numberWords: Set<String> = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty",
        "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion", "percent", "half", "dozen",
    ]

    static func mentionsTime(_ value: String) -> Bool {
        value.contains(where: \.isNumber) || !Set(words(value)).isDisjoint(with: timeWords)
    }

    static func hasFigure(_ value: String) -> Bool {
        value.contains(where: \.isNumber) || !Set(words(value)).isDisjoint(with: numberWords)
    }

    /// Whether `value` names a person: a participant, or a capitalised word after its first.
    static func namesSomeone(_ value: String, among participants: [String]) -> Bool {
        if participants.contains(where: { value.localizedCaseInsensitiveContains($0) }) { return true }
        return value.split(separator: " ").dropFirst().contains { $0.first?.isUppercase == true }
    }

    /// An ISO 8601 time as said aloud ("Monday 2 June at 15:00 UTC"); anything else as it is.
    static func spokenTime(_ value: String) -> String {
        guard let date = try? Date(value, strategy: .iso8601) else { return value }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.weekday, .day, .month, .hour, .minute], from: date)
        // English whatever the machine's locale: the agent speaks English.
        let weekday = weekdays[((parts.weekday ?? 1) - 1) % 7]
        let month = months[((parts.month ?? 1) - 1) % 12]
        return String(format: "%@ %d %@ at %02d:%02d UTC", weekday, parts.day ?? 1, month, parts.hour ?? 0, parts.minute ?? 0)
    }

    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    static func list(_ items: [String]) -> String {
        guard items.count > 1, let last = items.last else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + last
    }

    static func sentence(_ value: String) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.last.map { ".!?".contains($0) } == true ? trimmed : trimmed + "."
    }

    private static let stopWords: Set<String> = [
        "a", "an", "and", "are", "at", "be", "can", "do", "does", "for", "how", "i", "in", "is", "it", "me", "of", "on",
        "or", "our", "so", "the", "this", "to", "us", "we", "what", "when", "who", "with", "you", "your", "much",
        "many", "there", "has", "have", "will", "was", "which", "whose", "whom", "tell", "looking", "look",
    ]

    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    static func contentWords(_ text: String) -> Set<String> {
        Set(
            words(text).filter { !stopWords.contains($0) }
                .map { $0.hasSuffix("s") && $0.count > 3 ? String($0.dropLast()) : $0 })
    }
}
