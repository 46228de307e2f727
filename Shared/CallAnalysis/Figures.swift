import Foundation

/// A number stated in a text ("1.2 million", "$45K", "nine weeks", "6:17"), for telling whether
/// the agent's reply says the same figure as its context.
struct Figure: Sendable, Equatable {
    /// With its scale applied (1.2 million → 1 200 000).
    var value: Double
    /// As written, before any scale (1.2 million → 1.2).
    var mantissa: Double
    var scaled: Bool
    /// "about", "roughly", … before it: a rounder figure still agrees.
    var hedged: Bool
    /// The words it was read from.
    var text: String

    /// Whether a reply's figure says the same as `known`.
    func agrees(with known: Figure) -> Bool {
        let tolerance = hedged || known.hedged ? 0.1 : 0.005
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= tolerance * max(abs(a), abs(b)) }
        if close(value, known.value) { return true }
        // "it is 1.2" for "1.2 million": the same figure with the scale left out (but "2 million"
        // is not "two").
        return !scaled && known.scaled && close(mantissa, known.mantissa)
    }

    func isSupported(by known: [Figure]) -> Bool {
        known.contains { agrees(with: $0) }
    }

    static func extract(from words: Words) -> [Figure] {
        let list = words.words
        var figures: [Figure] = []
        var index = 0
        while index < list.count {
            if let timestamp = isoTimestamp(list, at: index) {
                figures += timestamp.figures
                index = timestamp.next
                continue
            }
            let start = index
            var mantissa: Double?
            if let number = leadingNumber(list[index]) {
                if number.rest.isEmpty || unitSuffixes.contains(number.rest) {
                    mantissa = number.value
                } else if let scale = suffixScales[number.rest] {
                    let hedged = start > 0 && hedges.contains(list[start - 1])
                    figures.append(
                        Figure(
                            value: number.value * scale, mantissa: number.value, scaled: true, hedged: hedged, text: list[index]))
                    index += 1
                    continue
                } else {
                    // "21t06" (an ISO time) or "2x4": every run of digits is a figure of its own.
                    for run in digitRuns(list[index]) {
                        figures.append(Figure(value: run, mantissa: run, scaled: false, hedged: false, text: list[index]))
                    }
                    index += 1
                    continue
                }
            } else if let tens = tensWords[list[index]] {
                mantissa = tens
                if index + 1 < list.count, let unit = unitWords[list[index + 1]], unit < 10 {
                    mantissa = tens + unit
                    index += 1
                }
            } else if let unit = unitWords[list[index]] {
                // "one" is a pronoun far more often than a figure ("the first one"); it counts
                // only with a scale ("one million").
                if list[index] == "one", !(index + 1 < list.count && scaleWords[list[index + 1]] != nil) {
                    index += 1
                    continue
                }
                mantissa = unit
            }
            guard let mantissa else {
                index += 1
                continue
            }
            var value = mantissa
            var scaled = false
            var end = index + 1
            if end < list.count, let scale = scaleWords[list[end]] {
                value *= scale
                scaled = true
                end += 1
            }
            let hedged = start > 0 && hedges.contains(list[start - 1])
            figures.append(
                Figure(
                    value: value, mantissa: mantissa, scaled: scaled, hedged: hedged,
                    text: list[start..<end].joined(separator: " ")))
            index = end
        }
        return figures.filter { !($0.value == 0 && $0.text.count > 1 && $0.text.allSatisfy { $0 == "0" }) }
    }

    /// "2026-11-21T06:17:18Z", as the context's `Time:` line writes it (cut into "2026", "11",
    /// "21t06", "17", "18z"): the year, day, hour and minute as people would say them, and not
    /// the month's number or the seconds, which nobody says and which would otherwise make any
    /// small figure look supported.
    private static func isoTimestamp(_ list: [String], at index: Int) -> (figures: [Figure], next: Int)? {
        guard index + 2 < list.count, list[index].count == 4, let year = Double(list[index]),
            list[index + 1].count <= 2, Double(list[index + 1]) != nil
        else { return nil }
        let dayAndHour = list[index + 2].split(separator: "t")
        guard dayAndHour.count == 2, let day = Double(dayAndHour[0]), let hour = Double(dayAndHour[1]) else { return nil }
        var figures = [year, day, hour].map {
            Figure(value: $0, mantissa: $0, scaled: false, hedged: false, text: String(Int($0)))
        }
        var next = index + 3
        if next < list.count, let minute = Double(list[next]) {
            if minute != 0 {
                figures.append(Figure(value: minute, mantissa: minute, scaled: false, hedged: false, text: list[next]))
            }
            next += 1
            if next < list.count, list[next].hasSuffix("z") || Double(list[next]) != nil { next += 1 }
        }
        return (figures, next)
    }

    /// The number a word starts with, and the letters after it ("45k" → 45, "k").
    private static func leadingNumber(_ word: String) -> (value: Double, rest: Substring)? {
        guard let first = word.utf8.first, (0x30...0x39).contains(first) else { return nil }
        let digits = word.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard let value = Double(digits.hasSuffix(".") ? String(digits.dropLast()) : String(digits)) else { return nil }
        return (value, word[digits.endIndex...])
    }

    private static func digitRuns(_ word: String) -> [Double] {
        word.split { !($0.isASCII && $0.isNumber) }.compactMap { Double(String($0)) }
    }

    private static let suffixScales: [Substring: Double] = ["k": 1e3, "m": 1e6, "mm": 1e6, "bn": 1e9, "b": 1e9]
    private static let unitSuffixes: Set<Substring> = [
        "st", "nd", "rd", "th", "pm", "am", "h", "hr", "hrs", "min", "mins", "s", "x", "ms", "gb", "tb", "d", "w", "q",
    ]
    private static let scaleWords: [String: Double] = [
        "hundred": 100, "thousand": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "billions": 1e9,
    ]
    private static let unitWords: [String: Double] = [
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
        "eighteen": 18, "nineteen": 19,
    ]
    private static let tensWords: [String: Double] = [
        "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    ]
    private static let hedges: Set<String> = ["about", "around", "roughly", "approximately", "nearly", "almost", "some", "circa"]
}
