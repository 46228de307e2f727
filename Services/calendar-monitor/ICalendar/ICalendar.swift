import Foundation

/// RFC 5545 (iCalendar) reading, as Google Calendar, Outlook/Exchange and CalDAV servers
/// actually write it. This file turns text into a tree of components and properties; turning
/// VEVENTs into `CalendarEvent`s lives in ICalendarEvents.swift.
public enum ICalendar {}

/// A problem reading a calendar: thrown when the text as a whole cannot be read, or reported in
/// `ICalendar.Contents.skipped` for an event left out. `line` is the 1-based physical line in
/// the text as received, so it can be found in the raw feed.
public struct ICalendarError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String
    /// The UID of the event left out, when it has one: its stored meetings are kept until it
    /// reads again rather than taken for deleted.
    public var uid: String? = nil

    public var description: String { "iCalendar line \(line): \(message)" }
}

/// One content line after unfolding, e.g. `ATTENDEE;CN="Doe, Jane":mailto:jane@example.com`.
struct ICalProperty: Sendable, Equatable {
    /// Upper-cased: property names are case-insensitive in RFC 5545.
    var name: String
    /// Keys upper-cased; a parameter may carry several comma-separated values.
    var parameters: [String: [String]]
    /// The value exactly as written after the first unquoted colon, still TEXT-escaped,
    /// because only the caller knows the value type (TEXT, URI, DATE-TIME…).
    var value: String
    /// Physical line where this content line starts.
    var line: Int

    func parameter(_ name: String) -> String? {
        parameters[name.uppercased()]?.first
    }
}

/// A BEGIN:…/END:… block such as VCALENDAR, VEVENT, VALARM or VTIMEZONE.
struct ICalComponent: Sendable, Equatable {
    /// Upper-cased component name.
    var name: String
    /// Physical line of the BEGIN line, used to point people at the faulty block.
    var line: Int
    var properties: [ICalProperty] = []
    var components: [ICalComponent] = []
    /// Content lines of this block that could not be read. They cost only this block: a VEVENT
    /// with one is skipped, the rest of the calendar is read.
    var problems: [ICalendarError] = []

    func property(_ name: String) -> ICalProperty? {
        let wanted = name.uppercased()
        return properties.first { $0.name == wanted }
    }

    func properties(named name: String) -> [ICalProperty] {
        let wanted = name.uppercased()
        return properties.filter { $0.name == wanted }
    }

    /// The RRULEs that say something: an empty `RRULE:` (some exporters write one on every
    /// event) means no recurrence.
    var recurrenceRules: [ICalProperty] {
        properties(named: "RRULE").filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}

extension ICalendar {
    /// A logical content line and the physical line it started on.
    struct UnfoldedLine: Sendable, Equatable {
        var line: Int
        var text: String
    }

    /// Parses the whole text into its top-level components (normally one VCALENDAR).
    ///
    /// The file's end is checked strictly — a missing END usually means a truncated download, and
    /// silently returning half a calendar would make events appear cancelled. A content line
    /// that cannot be read inside a component, or an END that does not match, is kept in that
    /// component's `problems` instead, so that it costs that component only.
    static func components(from text: String) throws -> [ICalComponent] {
        var finished: [ICalComponent] = []
        var open: [ICalComponent] = []

        for unfolded in unfoldedLines(text) {
            // Blank lines are not valid content lines, but several exporters leave them at
            // the end of the file; they carry nothing, so skipping them costs nothing.
            if unfolded.text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }

            let property: ICalProperty
            do {
                property = try parseContentLine(unfolded.text, line: unfolded.line)
            } catch let error as ICalendarError where !open.isEmpty {
                open[open.count - 1].problems.append(error)
                continue
            }
            switch property.name {
            case "BEGIN":
                let name = property.value.trimmingCharacters(in: .whitespaces).uppercased()
                if open.isEmpty && name != "VCALENDAR" {
                    throw ICalendarError(
                        line: unfolded.line,
                        message: "expected BEGIN:VCALENDAR before any other component, found BEGIN:\(name); "
                            + "this does not look like an iCalendar file")
                }
                open.append(ICalComponent(name: name, line: unfolded.line))
            case "END":
                let name = property.value.trimmingCharacters(in: .whitespaces).uppercased()
                let stray = ICalendarError(line: unfolded.line, message: "END:\(name) has no matching BEGIN:\(name)")
                guard !open.isEmpty else { throw stray }
                guard let closed = open.lastIndex(where: { $0.name == name }) else {
                    open[open.count - 1].problems.append(stray)
                    continue
                }
                // Blocks this END leaves open were never closed: what they hold, and the block they
                // are in, cannot be trusted. Both carry the problem (so that an event with an
                // unclosed alarm is skipped); the rest of the calendar is read.
                while open.count - 1 > closed {
                    var unclosed = open.removeLast()
                    let problem = ICalendarError(
                        line: unfolded.line,
                        message: "END:\(name) does not close BEGIN:\(unclosed.name) from line \(unclosed.line); "
                            + "the components are not properly nested")
                    unclosed.problems.append(problem)
                    // The top level holds everything: its problems would be only repeats.
                    if open.count > 1 { open[open.count - 1].problems.append(problem) }
                    open[open.count - 1].components.append(unclosed)
                }
                let current = open.removeLast()
                if open.isEmpty {
                    finished.append(current)
                } else {
                    open[open.count - 1].components.append(current)
                }
            default:
                guard !open.isEmpty else {
                    throw ICalendarError(
                        line: unfolded.line,
                        message: "found '\(abbreviated(unfolded.text))' outside BEGIN:VCALENDAR…END:VCALENDAR; "
                            + "this does not look like an iCalendar file (an HTML error or login page?)")
                }
                open[open.count - 1].properties.append(property)
            }
        }

        if let unclosed = open.last {
            throw ICalendarError(
                line: unclosed.line,
                message: "BEGIN:\(unclosed.name) is never closed with END:\(unclosed.name); the file looks truncated")
        }
        if finished.isEmpty {
            throw ICalendarError(line: 1, message: "no BEGIN:VCALENDAR found; the text is empty or not an iCalendar file")
        }
        return finished
    }

    /// Splits on CRLF, LF or a lone CR, then joins folded lines (RFC 5545 §3.1): a line that
    /// starts with a space or tab continues the previous one, minus that one character.
    ///
    /// Some exporters break long lines without the leading space folding requires. A line that
    /// cannot begin a content line (it does not start with `NAME:` or `NAME;`) is such a
    /// continuation, and is joined to the previous one as it stands. A lost-space continuation
    /// that happens to start like `Word:` cannot be told from a property and is read as one
    /// (unknown properties are ignored).
    static func unfoldedLines(_ text: String) -> [UnfoldedLine] {
        var result: [UnfoldedLine] = []
        var physicalLine = 1
        var current = String.UnicodeScalarView()
        var scalars = text.unicodeScalars[...]

        // A byte-order mark is common in files saved by Windows tools and is not content.
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }

        func finishLine() {
            let lineText = String(current)
            current.removeAll(keepingCapacity: true)
            if let first = lineText.unicodeScalars.first, first == " " || first == "\t", !result.isEmpty {
                result[result.count - 1].text += String(lineText.unicodeScalars.dropFirst())
            } else if !lineText.isEmpty, !result.isEmpty, !startsContentLine(lineText) {
                result[result.count - 1].text += lineText
            } else {
                result.append(UnfoldedLine(line: physicalLine, text: lineText))
            }
        }

        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if scalar == "\r" || scalar == "\n" {
                finishLine()
                physicalLine += 1
                let next = scalars.index(after: index)
                if scalar == "\r", next < scalars.endIndex, scalars[next] == "\n" {
                    index = scalars.index(after: next)
                } else {
                    index = next
                }
            } else {
                current.append(scalar)
                index = scalars.index(after: index)
            }
        }
        if !current.isEmpty { finishLine() }
        return result
    }

    /// Whether `text` starts with a property name followed by `;` or `:`, as every content
    /// line does.
    static func startsContentLine(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard let first = scalars.first, isNameScalar(first), let separator = scalars.first(where: { !isNameScalar($0) })
        else { return false }
        return separator == ";" || separator == ":"
    }

    /// Property and parameter names are IANA tokens or X-names: ASCII letters, digits and `-`.
    static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "-" || (scalar.isASCII && CharacterSet.alphanumerics.contains(scalar))
    }

    /// Parses `NAME *(;PARAM=VALUE[,VALUE]) : VALUE`. Quoted parameter values may contain
    /// `:`, `;` and `,`, which is why this cannot simply split on those characters.
    static func parseContentLine(_ text: String, line: Int) throws -> ICalProperty {
        let scalars = Array(text.unicodeScalars)
        var index = 0

        let nameStart = index
        while index < scalars.count, isNameScalar(scalars[index]) { index += 1 }
        let name = String(String.UnicodeScalarView(scalars[nameStart..<index])).uppercased()
        guard !name.isEmpty, index < scalars.count, scalars[index] == ";" || scalars[index] == ":" else {
            throw ICalendarError(
                line: line,
                message: "'\(abbreviated(text))' is not a content line (expected NAME[;PARAM=VALUE]:VALUE)")
        }

        var parameters: [String: [String]] = [:]
        while scalars[index] == ";" {
            index += 1
            let parameterStart = index
            while index < scalars.count, isNameScalar(scalars[index]) { index += 1 }
            let parameterName = String(String.UnicodeScalarView(scalars[parameterStart..<index])).uppercased()
            guard !parameterName.isEmpty, index < scalars.count, scalars[index] == "=" else {
                throw ICalendarError(
                    line: line, message: "parameter of \(name) has no NAME=VALUE form in '\(abbreviated(text))'")
            }
            index += 1

            var values: [String] = []
            while true {
                var value = String.UnicodeScalarView()
                if index < scalars.count, scalars[index] == "\"" {
                    index += 1
                    while index < scalars.count, scalars[index] != "\"" {
                        value.append(scalars[index])
                        index += 1
                    }
                    guard index < scalars.count else {
                        throw ICalendarError(
                            line: line,
                            message: "parameter \(parameterName) of \(name) opens a quote that is never closed")
                    }
                    index += 1
                } else {
                    while index < scalars.count, ![";", ":", ","].contains(scalars[index]) {
                        value.append(scalars[index])
                        index += 1
                    }
                }
                values.append(decodeParameterValue(String(value)))
                guard index < scalars.count else {
                    throw ICalendarError(
                        line: line, message: "\(name) has parameters but no ':' before its value")
                }
                if scalars[index] == "," {
                    index += 1
                    continue
                }
                break
            }
            parameters[parameterName, default: []].append(contentsOf: values)
            guard scalars[index] == ";" || scalars[index] == ":" else {
                throw ICalendarError(
                    line: line, message: "unexpected text after parameter \(parameterName) of \(name)")
            }
        }

        // scalars[index] is now the colon that separates parameters from the value.
        let value = String(String.UnicodeScalarView(scalars[(index + 1)...]))
        return ICalProperty(name: name, parameters: parameters, value: value, line: line)
    }

    /// RFC 6868 caret escapes in parameter values (^n newline, ^' double quote, ^^ caret);
    /// Apple Calendar uses them for names containing quotes.
    static func decodeParameterValue(_ raw: String) -> String {
        unescape(raw, escape: "^", ["n": "\n", "'": "\"", "^": "^"])
    }

    /// Undoes TEXT escaping (RFC 5545 §3.3.11): `\n`/`\N` newline, `\,` `\;` `\\`.
    static func unescapeText(_ raw: String) -> String {
        unescape(raw, escape: "\\", ["n": "\n", "N": "\n", ",": ",", ";": ";", "\\": "\\"])
    }

    /// Replaces `escape` followed by a known character with its meaning. An unknown escape is
    /// kept as written rather than dropping the escape character, so a mis-escaped Windows
    /// path or regex survives intact.
    private static func unescape(_ raw: String, escape: Character, _ meanings: [Character: String]) -> String {
        guard raw.contains(escape) else { return raw }
        var result = ""
        var iterator = raw.makeIterator()
        while let character = iterator.next() {
            guard character == escape else {
                result.append(character)
                continue
            }
            guard let next = iterator.next() else {
                result.append(escape)
                break
            }
            if let meaning = meanings[next] {
                result += meaning
            } else {
                result.append(escape)
                result.append(next)
            }
        }
        return result
    }

    /// Keeps error messages readable when the offending line is a multi-kilobyte blob.
    static func abbreviated(_ text: String, limit: Int = 60) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}
