import Foundation

/// Collects streamed model text and hands out whole sentences as soon as each ends, so that
/// speech can start on the first sentence while the model is still writing the rest.
public struct SentenceAggregator: Sendable {
    private var pending = ""

    public init() {}

    /// The sentences completed by `delta`, in order.
    public mutating func add(_ delta: String) -> [String] {
        pending += delta
        var sentences: [String] = []
        while let end = firstSentenceEnd(in: pending) {
            let sentence = pending[..<end].trimmingCharacters(in: .whitespacesAndNewlines)
            pending = String(pending[end...])
            if !sentence.isEmpty { sentences.append(sentence) }
        }
        return sentences
    }

    /// Whatever is left when the model has finished.
    public mutating func flush() -> String? {
        defer { pending = "" }
        let rest = pending.trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.isEmpty ? nil : rest
    }

    private static let abbreviations: Set<String> = ["mr", "mrs", "ms", "dr", "vs", "etc", "e.g", "i.e", "inc", "st"]

    /// Just past a terminator that is followed by white space (or ends the text so far) and
    /// does not end an abbreviation or sit inside a number ("3.5"). Only a full stop after a
    /// digit waits for the next delta, which may continue the number: every other sentence
    /// leaves at once, because each token's wait here is added to the agent's response time.
    private func firstSentenceEnd(in text: String) -> String.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            let atEnd = next == text.endIndex
            let mayContinueNumber =
                character == "." && atEnd && index > text.startIndex
                && text[text.index(before: index)].isNumber
            if ".!?".contains(character) || character.isNewline, atEnd ? !mayContinueNumber : text[next].isWhitespace {
                if character == "." {
                    let word = text[..<index].split(whereSeparator: \.isWhitespace).last.map { $0.lowercased() } ?? ""
                    if Self.abbreviations.contains(word) || (word.count == 1 && word.first?.isLetter == true) {
                        index = next
                        continue
                    }
                }
                return next
            }
            index = next
        }
        return nil
    }
}
