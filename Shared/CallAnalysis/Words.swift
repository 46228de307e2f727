/// A text cut into lowercase words, with contractions spelt out ("what's" → "what is",
/// "don't" → "do not", "Ada's" → "ada"), hyphenated words split, and the sentences marked.
///
/// Patterns are cut the same way, so that "what is on the agenda" in the taxonomy matches
/// "What's on the agenda?" in a transcript, whatever the recogniser did with apostrophes.
struct Words: Sendable {
    var words: [String]
    /// Sentences as ranges of `words`, in order, never empty.
    var sentences: [Range<Int>]
    /// Per sentence: it ended with a question mark.
    var asked: [Bool]
    /// Per word: a comma (or other pause mark) follows it, for telling "Ada, what is …" apart.
    var pauseAfter: [Bool]

    var isEmpty: Bool { words.isEmpty }

    /// Only these sentences (by index), in order.
    func keeping(sentences kept: [Int]) -> Words {
        var part = Words("")
        for index in kept {
            let range = sentences[index]
            let start = part.words.count
            part.words += words[range]
            part.pauseAfter += pauseAfter[range]
            part.sentences.append(start..<part.words.count)
            part.asked.append(asked[index])
        }
        return part
    }

    init(_ text: String) {
        var cutter = Cutter()
        var bytes = Array(text.utf8)
        bytes.append(0x20)  // so that the last word ends like any other
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x41...0x5A:
                cutter.current.append(byte + 0x20)
            case 0x61...0x7A, 0x30...0x39:
                cutter.current.append(byte)
            case 0x27:  // ' inside a word is an apostrophe; elsewhere a quote
                if !cutter.current.isEmpty, Self.isWordByte(bytes, index + 1) {
                    cutter.current.append(byte)
                } else {
                    cutter.end()
                }
            case 0x2E, 0x2C:  // . and , between digits belong to a number
                if let last = cutter.current.last, Self.isDigit(last), Self.isDigit(bytes, index + 1) {
                    if byte == 0x2E { cutter.current.append(byte) }
                } else if byte == 0x2E {
                    cutter.endSentence(asked: false)
                } else {
                    cutter.pause()
                }
            case 0x3F:
                cutter.endSentence(asked: true)
            case 0x21, 0x3B:
                cutter.endSentence(asked: false)
            case 0x3A:
                cutter.pause()
            case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (0x90...0xA6).contains(bytes[index + 2]):
                // General punctuation: ’ is an apostrophe, dashes and quotes end a word, … a sentence.
                if bytes[index + 2] == 0x99, !cutter.current.isEmpty, Self.isWordByte(bytes, index + 3) {
                    cutter.current.append(0x27)
                } else if bytes[index + 2] == 0xA6 {
                    cutter.endSentence(asked: false)
                } else {
                    cutter.pause()
                }
                index += 2
            case 0xC2 where index + 1 < bytes.count && bytes[index + 1] == 0xA0:
                cutter.end()
                index += 1
            case 0x80...:
                cutter.current.append(byte)  // letters of other scripts and accents (Attaché) stay in the word
            default:
                cutter.end()
            }
            index += 1
        }
        cutter.endSentence(asked: false)
        words = cutter.words
        sentences = cutter.sentences
        asked = cutter.asked
        pauseAfter = cutter.pauseAfter
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isDigit(_ bytes: [UInt8], _ index: Int) -> Bool { index < bytes.count && isDigit(bytes[index]) }
    private static func isWordByte(_ bytes: [UInt8], _ index: Int) -> Bool {
        guard index < bytes.count else { return false }
        let byte = bytes[index]
        return (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte >= 0x80
    }

    private struct Cutter {
        var current: [UInt8] = []
        var words: [String] = []
        var pauseAfter: [Bool] = []
        var sentences: [Range<Int>] = []
        var asked: [Bool] = []
        var sentenceStart = 0

        mutating func end() {
            guard !current.isEmpty else { return }
            let word = String(decoding: current, as: UTF8.self)
            current.removeAll(keepingCapacity: true)
            if let spelt = Words.spelledOut[word] {
                words += spelt
                pauseAfter += repeatElement(false, count: spelt.count)
            } else if let apostrophe = word.utf8.firstIndex(of: 0x27) {
                let parts = Words.expand(
                    stem: String(word[..<apostrophe]), suffix: String(word[word.index(after: apostrophe)...]))
                words += parts
                pauseAfter += repeatElement(false, count: parts.count)
            } else {
                words.append(word)
                pauseAfter.append(false)
            }
        }

        mutating func pause() {
            end()
            if !pauseAfter.isEmpty { pauseAfter[pauseAfter.count - 1] = true }
        }

        mutating func endSentence(asked question: Bool) {
            pause()
            if words.count > sentenceStart {
                sentences.append(sentenceStart..<words.count)
                asked.append(question)
                sentenceStart = words.count
            } else if question, !asked.isEmpty {
                asked[asked.count - 1] = true  // "budget??" or "budget ?"
            }
        }
    }

    /// Contractions and their apostrophe-less spellings (as recognisers write them).
    static let spelledOut: [String: [String]] = {
        var table: [String: [String]] = [
            "can't": ["can", "not"], "cant": ["can", "not"], "cannot": ["can", "not"], "won't": ["will", "not"],
            "shan't": ["shall", "not"], "let's": ["let", "us"], "i'm": ["i", "am"], "im": ["i", "am"],
            "ive": ["i", "have"], "youre": ["you", "are"], "theyre": ["they", "are"], "gonna": ["going", "to"],
            "wanna": ["want", "to"], "gotta": ["got", "to"], "wont": ["will", "not"],
        ]
        for stem in ["what", "that", "there", "here", "who", "where", "how", "when", "it", "he", "she"] {
            table[stem + "s"] = [stem, "is"]
        }
        table["its"] = nil  // "its budget" is a possessive as often as not
        table["hes"] = nil
        table["shes"] = nil
        table["heres"] = ["here", "is"]
        for base in [
            "do", "does", "did", "is", "are", "was", "were", "have", "has", "had", "could", "would", "should", "need", "must",
        ] {
            table[base + "nt"] = [base, "not"]
        }
        return table
    }()

    static let isStems: Set<String> = ["what", "that", "there", "here", "who", "where", "how", "when", "it", "he", "she"]

    static func expand(stem: String, suffix: String) -> [String] {
        switch suffix {
        case "s": return isStems.contains(stem) ? [stem, "is"] : [stem]
        case "t" where stem.hasSuffix("n"):
            let base = String(stem.dropLast())
            switch base {
            case "ca": return ["can", "not"]
            case "wo": return ["will", "not"]
            case "sha": return ["shall", "not"]
            default: return [base, "not"]
            }
        case "re": return [stem, "are"]
        case "m": return [stem, "am"]
        case "ll": return [stem, "will"]
        case "d": return [stem, "would"]
        case "ve": return [stem, "have"]
        default: return [stem + suffix]
        }
    }
}
