import Foundation

/// Collects streamed model text and hands out whole sentences as soon as each ends, so that
/// speech can start on the first sentence while the model is still writing the rest.
///
/// With `firstClauseMinimumWords`, the first piece handed out may be a clause rather than a
/// sentence: the first sentence is cut after a comma, semicolon, colon or dash once at least
/// that many words precede it, so that speech starts before the model has written the rest of
/// the sentence. Only the first piece: after it, the voice is already speaking, and whole
/// sentences sound better.
public struct SentenceAggregator: Sendable {
    private var pending = ""
    private let firstClauseMinimumWords: Int?
    private var handedOut = false

    public init(firstClauseMinimumWords: Int? = nil) {
        self.firstClauseMinimumWords = firstClauseMinimumWords
    }

    /// The sentences completed by `delta`, in order.
    public mutating func add(_ delta: String) -> [String] {
        pending += delta
        var sentences: [String] = []
        if !handedOut, let minimum = firstClauseMinimumWords, let end = firstClauseEnd(in: pending, minimumWords: minimum) {
            let clause = pending[..<end].trimmingCharacters(in: .whitespacesAndNewlines)
            pending = String(pending[end...])
            sentences.append(clause)
        }
        defer { handedOut = handedOut || !sentences.isEmpty }
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

    private static let clauseMarks: Set<Character> = [",", ";", ":"]
    private static let dashes: Set<Character> = ["-", "–", "—"]

    /// Just past the first clause boundary of the first sentence, if at least `minimumWords`
    /// words come before it and the sentence does not end first. A comma inside a number
    /// ("1,000") is no boundary, and one at the very end of the text after a digit waits for
    /// the next delta; a dash counts only between spaces (not "follow-up").
    private func firstClauseEnd(in text: String, minimumWords: Int) -> String.Index? {
        let sentenceEnd = firstSentenceEnd(in: text) ?? text.endIndex
        var index = text.startIndex
        while index < sentenceEnd {
            let character = text[index]
            let next = text.index(after: index)
            let before = index > text.startIndex ? text[text.index(before: index)] : " "
            let followedBySpace = next < text.endIndex && text[next].isWhitespace
            let isBoundary: Bool
            if Self.clauseMarks.contains(character) {
                isBoundary = followedBySpace || (next == text.endIndex && !before.isNumber)
            } else if Self.dashes.contains(character) {
                isBoundary = before.isWhitespace && followedBySpace
            } else {
                isBoundary = false
            }
            if isBoundary {
                let words = text[..<index].split(whereSeparator: \.isWhitespace)
                    .filter { $0.contains(where: { $0.isLetter || $0.isNumber }) }
                if words.count >= minimumWords { return next }
            }
            index = next
        }
        return nil
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
