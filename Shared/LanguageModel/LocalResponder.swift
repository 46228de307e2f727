import Foundation

/// The embedded chat model: deterministic, no account, no network. It answers the last user
/// message from the facts in the system message (lines written `Label: value`), choosing the fact
/// that shares the most words with the question, and streams its answer word by word.
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

    /// The whole answer, as `stream` delivers it.
    public static func answer(to request: ChatRequest) -> String {
        let question = request.messages.last(where: { $0.role == .user })?.content ?? ""
        let known: [Fact] = request.messages.filter { $0.role == .system }.flatMap { Self.facts(in: $0.content) }
        let asked = contentWords(question)
        var best: Fact?
        var bestOverlap = 0
        for fact in known {
            let overlap = contentWords(fact.label + " " + fact.value).intersection(asked).count
            if overlap > bestOverlap { (best, bestOverlap) = (fact, overlap) }
        }
        guard let best else {
            if question.isEmpty { return "I am listening." }
            return "I do not have that in my notes for this meeting. I will note the question for the follow-up."
        }
        return "Here is what I have for \(best.label.lowercased()): \(sentence(best.value)) Would you like more detail on that?"
    }

    struct Fact {
        var label: String
        var value: String
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

    static func sentence(_ value: String) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        return trimmed.last.map { ".!?".contains($0) } == true ? trimmed : trimmed + "."
    }

    private static let stopWords: Set<String> = [
        "a", "an", "and", "are", "at", "be", "can", "do", "for", "how", "i", "in", "is", "it", "me", "of", "on",
        "or", "our", "so", "the", "this", "to", "us", "we", "what", "when", "who", "with", "you", "your",
    ]

    static func contentWords(_ text: String) -> Set<String> {
        Set(
            text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber })
                .map(String.init).filter { !stopWords.contains($0) }
                .map { $0.hasSuffix("s") && $0.count > 3 ? String($0.dropLast()) : $0 })
    }
}
