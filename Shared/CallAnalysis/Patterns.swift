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
        slots.reduce(0) { count, slot in
            if case .word = slot { count + 1 } else { count }
        }
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

/// Words to the ids patterns were compiled against (a word no pattern names has none), and
/// the prefixes (`budget*`) patterns use.
struct Vocabulary: Sendable {
    private(set) var ids: [String: Int32] = [:]
    private(set) var prefixes: [[UInt8]] = []
    /// Prefix ids by their first byte, so that a word is compared only with prefixes that
    /// start like it.
    private var prefixesByFirstByte = [[Int32]](repeating: [], count: 256)

    mutating func id(adding word: String) -> Int32 {
        if let id = ids[word] { return id }
        let id = Int32(ids.count)
        ids[word] = id
        return id
    }

    mutating func prefixID(adding prefix: [UInt8]) -> Int32 {
        if let id = prefixes.firstIndex(of: prefix) { return Int32(id) }
        prefixes.append(prefix)
        let id = Int32(prefixes.count - 1)
        prefixesByFirstByte[Int(prefix[0])].append(id)
        return id
    }

    /// A text's words as ids, with the prefixes each word starts with.
    func read(_ words: Words) -> WordIDs {
        var read = WordIDs(ids: [], hitStart: [], hits: [])
        read.ids.reserveCapacity(words.words.count)
        read.hitStart.reserveCapacity(words.words.count + 1)
        for word in words.words {
            read.ids.append(ids[word] ?? -1)
            read.hitStart.append(Int32(read.hits.count))
            guard let first = word.utf8.first else { continue }
            for id in prefixesByFirstByte[Int(first)] where word.utf8.starts(with: prefixes[Int(id)]) {
                read.hits.append(id)
            }
        }
        read.hitStart.append(Int32(read.hits.count))
        return read
    }
}

/// A text's words as the vocabulary knows them.
struct WordIDs: Sendable {
    /// Per word: its id, or -1.
    var ids: [Int32]
    /// Per word (and one past the end): where its prefix hits start in `hits`.
    var hitStart: [Int32]
    var hits: [Int32]

    func startsWith(_ word: Int, prefix: Int32) -> Bool {
        var index = Int(hitStart[word])
        let end = Int(hitStart[word + 1])
        while index < end {
            if hits[index] == prefix { return true }
            index += 1
        }
        return false
    }
}

/// Patterns with a tag each (what a match means to the caller), indexed by their first word.
/// Stored flat (slots, alternatives) so that matching copies nothing.
struct PatternSet<Tag: Sendable>: Sendable {
    struct Slot: Sendable {
        static var word: UInt8 { 0 }
        static var any: UInt8 { 1 }
        static var gap: UInt8 { 2 }
        var kind: UInt8
        /// Exact alternatives: `exact[exactStart..<exactEnd]`; prefixes likewise.
        var exactStart: Int32
        var exactEnd: Int32
        var prefixStart: Int32
        var prefixEnd: Int32
    }

    private(set) var tags: [Tag] = []
    /// As written, per pattern.
    private(set) var sources: [String] = []
    /// Per pattern: how many words it names (the more, the more specific a match).
    private(set) var specificity: [Int] = []
    private var slots: [Slot] = []
    private var slotStart: [Int32] = []
    private var slotEnd: [Int32] = []
    private var exact: [Int32] = []
    private var prefixIDs: [Int32] = []
    /// Patterns by the id of their first word, and by the prefix id of their first word.
    private var byFirstWord: [[Int32]] = []
    private var byFirstPrefix: [[Int32]] = []

    /// Compiles `source` into the set (several patterns when it has groups), adding its words
    /// to `vocabulary`.
    mutating func add(_ source: String, tag: Tag, vocabulary: inout Vocabulary) throws(PatternSyntaxError) {
        for pattern in try Self.compile(source, vocabulary: &vocabulary) {
            let index = Int32(tags.count)
            tags.append(tag)
            sources.append(source)
            specificity.append(pattern.specificity)
            slotStart.append(Int32(slots.count))
            for slot in pattern.slots {
                switch slot {
                case .any: slots.append(Slot(kind: Slot.any, exactStart: 0, exactEnd: 0, prefixStart: 0, prefixEnd: 0))
                case .gap: slots.append(Slot(kind: Slot.gap, exactStart: 0, exactEnd: 0, prefixStart: 0, prefixEnd: 0))
                case .word(let words, let prefixes):
                    let exactStart = Int32(exact.count)
                    exact += words
                    let prefixStart = Int32(prefixIDs.count)
                    prefixIDs += prefixes.map { vocabulary.prefixID(adding: $0) }
                    slots.append(
                        Slot(
                            kind: Slot.word, exactStart: exactStart, exactEnd: Int32(exact.count), prefixStart: prefixStart,
                            prefixEnd: Int32(prefixIDs.count)))
                }
            }
            slotEnd.append(Int32(slots.count))
            let first = slots[Int(slotStart[Int(index)])]
            for id in exact[Int(first.exactStart)..<Int(first.exactEnd)] {
                while byFirstWord.count <= Int(id) { byFirstWord.append([]) }
                byFirstWord[Int(id)].append(index)
            }
            for id in prefixIDs[Int(first.prefixStart)..<Int(first.prefixEnd)] {
                while byFirstPrefix.count <= Int(id) { byFirstPrefix.append([]) }
                byFirstPrefix[Int(id)].append(index)
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
                if case .gap? = slots.last {
                    throw PatternSyntaxError(message: "`... ...` in a row; one `...` already spans up to three words")
                }
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
    func matches(in read: WordIDs, range: Range<Int>) -> [PatternMatch] {
        var found: [PatternMatch] = []
        for position in range {
            collect(at: position, limit: range.upperBound, read, into: &found)
        }
        return found
    }

    /// The patterns that match starting exactly at `position`.
    func matches(in read: WordIDs, at position: Int, before limit: Int) -> [PatternMatch] {
        guard position < limit else { return [] }
        var found: [PatternMatch] = []
        collect(at: position, limit: limit, read, into: &found)
        return found
    }

    private func collect(at position: Int, limit: Int, _ read: WordIDs, into found: inout [PatternMatch]) {
        let id = Int(read.ids[position])
        if id >= 0, id < byFirstWord.count {
            for pattern in byFirstWord[id] {
                if let end = match(Int(slotStart[Int(pattern)]), Int(slotEnd[Int(pattern)]), read, position, limit) {
                    found.append(PatternMatch(pattern: Int(pattern), start: position, end: end))
                }
            }
        }
        var hit = Int(read.hitStart[position])
        let lastHit = Int(read.hitStart[position + 1])
        while hit < lastHit {
            let prefix = Int(read.hits[hit])
            if prefix < byFirstPrefix.count {
                for pattern in byFirstPrefix[prefix] {
                    if let end = match(Int(slotStart[Int(pattern)]), Int(slotEnd[Int(pattern)]), read, position, limit) {
                        found.append(PatternMatch(pattern: Int(pattern), start: position, end: end))
                    }
                }
            }
            hit += 1
        }
    }

    /// The end of the match of slots `slot..<last` at `position`, trying shorter gaps first.
    private func match(_ slot: Int, _ last: Int, _ read: WordIDs, _ position: Int, _ limit: Int) -> Int? {
        var slot = slot
        var position = position
        while slot < last {
            let current = slots[slot]
            if current.kind == Slot.gap {
                for skip in 0...Pattern.longestGap where position + skip <= limit {
                    if let end = match(slot + 1, last, read, position + skip, limit) { return end }
                }
                return nil
            }
            guard position < limit else { return nil }
            if current.kind == Slot.word && !matches(current, read, position) { return nil }
            slot += 1
            position += 1
        }
        return position
    }

    private func matches(_ slot: Slot, _ read: WordIDs, _ position: Int) -> Bool {
        let id = read.ids[position]
        var index = Int(slot.exactStart)
        while index < Int(slot.exactEnd) {
            if exact[index] == id { return true }
            index += 1
        }
        index = Int(slot.prefixStart)
        while index < Int(slot.prefixEnd) {
            if read.startsWith(position, prefix: prefixIDs[index]) { return true }
            index += 1
        }
        return false
    }
}
