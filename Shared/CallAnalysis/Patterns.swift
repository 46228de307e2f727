/// The taxonomy's patterns compiled once into word slots over a shared vocabulary, so that
/// matching a turn is integer comparisons and one dictionary lookup per word rather than
/// string searches per pattern (the embedded analyser has to keep up with thousands of calls
/// a second).
struct Pattern: Sendable {
    enum Slot: Sendable {
        /// One word: any of these exact words (vocabulary ids), or any word starting with one
        /// of these prefixes (UTF-8).
        case word(exact: [Int32], prefixes: [[UInt8]])
        /// Any one word.
        case any
        /// Up to `Pattern.longestGap` words, or none.
        case gap
    }

    static let longestGap = 3

    var slots: [Slot]
    /// As written in the taxonomy, for evidence and errors.
    var source: String

    /// How many words it names: the more, the more specific a match.
    var specificity: Int {
        slots.reduce(0) { count, slot in if case .word = slot { count + 1 } else { count } }
    }
}

/// Where a pattern matched: words `start..<end` of the text.
struct PatternMatch: Sendable, Equatable {
    var pattern: Int
    var start: Int
    var end: Int

    var length: Int { end - start }

    /// Lies within `other` and is shorter: "sure" inside "i am not sure".
    func isInside(_ other: PatternMatch) -> Bool {
        other.start <= start && end <= other.end && other.length > length
    }
}

/// Why a pattern cannot be compiled; the caller adds the file and entry.
struct PatternSyntaxError: Error {
    var message: String
}

/// Words to the ids patterns were compiled against; a word no pattern uses has none.
struct Vocabulary: Sendable {
    private(set) var ids: [String: Int32] = [:]

    mutating func id(adding word: String) -> Int32 {
        if let id = ids[word] { return id }
        let id = Int32(ids.count)
        ids[word] = id
        return id
    }

    func ids(of words: Words) -> [Int32] {
        words.words.map { ids[$0] ?? -1 }
    }
}

/// Patterns with a tag each (what a match means to the caller), indexed by their first word.
struct PatternSet<Tag: Sendable>: Sendable {
    private(set) var patterns: [Pattern] = []
    private(set) var tags: [Tag] = []
    private var byFirstWord: [Int32: [Int]] = [:]
    /// Patterns whose first slot is a prefix or any word: tried at every position.
    private var unindexed: [Int] = []

    /// Compiles `source` into the set (several patterns when it has groups), adding its words
    /// to `vocabulary`.
    mutating func add(_ source: String, tag: Tag, vocabulary: inout Vocabulary) throws(PatternSyntaxError) {
        for pattern in try Self.compile(source, vocabulary: &vocabulary) {
            let index = patterns.count
            patterns.append(pattern)
            tags.append(tag)
            if case .word(let exact, let prefixes) = pattern.slots[0], prefixes.isEmpty {
                for id in exact { byFirstWord[id, default: []].append(index) }
            } else {
                unindexed.append(index)
            }
        }
    }

    /// The most patterns one written pattern may expand to through its groups.
    static var mostExpansions: Int { 64 }

    /// `(a b|c)` groups are spelt out into one pattern per alternative, so that matching stays
    /// a walk over single-word slots.
    static func compile(_ source: String, vocabulary: inout Vocabulary) throws(PatternSyntaxError) -> [Pattern] {
        var variants = [""]
        var rest = Substring(source)
        while let open = rest.firstIndex(of: "(") {
            guard let close = rest[open...].firstIndex(of: ")") else {
                throw PatternSyntaxError(message: "`(` without its `)` in `\(source)`")
            }
            let inside = rest[rest.index(after: open)..<close]
            guard !inside.contains("(") else { throw PatternSyntaxError(message: "groups cannot nest, in `\(source)`") }
            let alternatives = inside.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard !alternatives.contains(where: \.isEmpty) else {
                throw PatternSyntaxError(message: "`(\(inside))` has an empty alternative")
            }
            let before = String(rest[..<open])
            variants = variants.flatMap { variant in alternatives.map { variant + before + " " + $0 + " " } }
            guard variants.count <= mostExpansions else {
                throw PatternSyntaxError(message: "`\(source)` spells out to more than \(mostExpansions) patterns; split it")
            }
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains(")") { throw PatternSyntaxError(message: "`)` without its `(` in `\(source)`") }
        return try variants.map { variant throws(PatternSyntaxError) in
            try compileWords(variant + rest, source: source, vocabulary: &vocabulary)
        }
    }

    private static func compileWords(_ text: String, source: String, vocabulary: inout Vocabulary) throws(PatternSyntaxError)
        -> Pattern
    {
        var slots: [Pattern.Slot] = []
        for piece in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if piece == "..." {
                if case .gap? = slots.last { throw PatternSyntaxError(message: "`... ...` in a row; one `...` already spans up to three words") }
                slots.append(.gap)
            } else if piece == "*" {
                slots.append(.any)
            } else if piece.contains("|") || piece.hasSuffix("*") {
                var exact: [Int32] = []
                var prefixes: [[UInt8]] = []
                for alternative in piece.split(separator: "|", omittingEmptySubsequences: false) {
                    let isPrefix = alternative.hasSuffix("*")
                    let stem = isPrefix ? alternative.dropLast() : alternative
                    let words = Words(String(stem)).words
                    guard words.count == 1 else {
                        throw PatternSyntaxError(
                            message: words.isEmpty
                                ? "`\(piece)` has an empty alternative or a `*` with no letters before it"
                                : "`\(alternative)` in `\(piece)` is more than one word once contractions are spelt out; "
                                    + "`a|b` takes one word each side (write `(what is|whats)` for longer alternatives)")
                    }
                    if isPrefix { prefixes.append(Array(words[0].utf8)) } else { exact.append(vocabulary.id(adding: words[0])) }
                }
                slots.append(.word(exact: exact, prefixes: prefixes))
            } else {
                let words = Words(String(piece)).words
                guard !words.isEmpty else { throw PatternSyntaxError(message: "`\(piece)` has no letters or digits") }
                for word in words { slots.append(.word(exact: [vocabulary.id(adding: word)], prefixes: [])) }
            }
        }
        guard let first = slots.first, let last = slots.last else { throw PatternSyntaxError(message: "the pattern is empty") }
        guard case .word = first else {
            throw PatternSyntaxError(message: "`\(source)` starts with `*` or `...`; a pattern must start with a word")
        }
        if case .gap = last {
            throw PatternSyntaxError(message: "`\(source)` ends with `...`; a pattern must end with a word or `*`")
        }
        return Pattern(slots: slots, source: source)
    }

    /// Every match inside `range` (a sentence), in order of position.
    func matches(in words: Words, ids: [Int32], range: Range<Int>) -> [PatternMatch] {
        var found: [PatternMatch] = []
        for position in range {
            if let candidates = byFirstWord[ids[position]] {
                for index in candidates {
                    if let end = match(patterns[index].slots, 0, words, ids, position, range.upperBound) {
                        found.append(PatternMatch(pattern: index, start: position, end: end))
                    }
                }
            }
            for index in unindexed {
                if let end = match(patterns[index].slots, 0, words, ids, position, range.upperBound) {
                    found.append(PatternMatch(pattern: index, start: position, end: end))
                }
            }
        }
        return found
    }

    /// The patterns that match starting exactly at `position`.
    func matches(in words: Words, ids: [Int32], at position: Int, before limit: Int) -> [PatternMatch] {
        guard position < limit else { return [] }
        var found: [PatternMatch] = []
        for index in (byFirstWord[ids[position]] ?? []) + unindexed {
            if let end = match(patterns[index].slots, 0, words, ids, position, limit) {
                found.append(PatternMatch(pattern: index, start: position, end: end))
            }
        }
        return found
    }

    /// The end of the match of `slots[slot...]` at `position`, trying shorter gaps first.
    private func match(_ slots: [Pattern.Slot], _ slot: Int, _ words: Words, _ ids: [Int32], _ position: Int, _ limit: Int)
        -> Int?
    {
        guard slot < slots.count else { return position }
        switch slots[slot] {
        case .gap:
            for skip in 0...Pattern.longestGap where position + skip <= limit {
                if let end = match(slots, slot + 1, words, ids, position + skip, limit) { return end }
            }
            return nil
        case .any:
            guard position < limit else { return nil }
            return match(slots, slot + 1, words, ids, position + 1, limit)
        case .word(let exact, let prefixes):
            guard position < limit else { return nil }
            let id = ids[position]
            if exact.contains(id) || (!prefixes.isEmpty && prefixes.contains { words.words[position].utf8.starts(with: $0) }) {
                return match(slots, slot + 1, words, ids, position + 1, limit)
            }
            return nil
        }
    }
}
