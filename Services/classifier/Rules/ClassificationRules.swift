import Foundation
import Yams

/// The meeting-type rules the classifier applies, loaded from `classifier-rules.yaml`.
///
/// Loading validates the whole file before anything is returned, so a bad edit can never
/// leave the classifier running on half of a rule set: either every rule is valid or the
/// caller gets a `RulesError` pointing at the file, line and rule to fix.
public struct ClassificationRules: Sendable {
    /// Where the rules came from (a path or a label), repeated in log lines and errors.
    var source: String
    var reminderHoursBefore: Int
    /// In file order, which breaks priority ties. Includes the `default` type.
    var meetingTypes: [MeetingTypeRule]

    /// The fallback for meetings no other type matches; validation guarantees exactly one.
    var defaultType: MeetingTypeRule? {
        meetingTypes.first { $0.isDefault }
    }

    static let defaultTypeName = "default"

    public static func load(fileAt path: String) throws -> ClassificationRules {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RulesError(
                file: path, line: nil, rule: nil,
                message: "cannot read the rules file (\(error.localizedDescription)); "
                    + "check the path and that the service may read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RulesError(file: path, line: nil, rule: nil, message: "the rules file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path)
    }

    public static func parse(yaml: String, source: String) throws -> ClassificationRules {
        try RulesReader(source: source, text: yaml).read()
    }
}

/// One entry under `meeting_types`.
struct MeetingTypeRule: Sendable, Equatable {
    var name: String
    /// Higher wins when several types match; ties go to the type earlier in the file.
    var priority: Int
    /// Matched case-insensitively, on word boundaries, against title and description.
    var keywords: [String]
    var requiredAttendeesMin: Int?
    var attendeeCount: AttendeeCountRange?
    var prepHoursBefore: Int
    var contextRequired: [String]
    var prepQuestions: [String]
    /// Line of the entry in the rules file, so log lines can point at the rule that fired.
    var line: Int

    var isDefault: Bool { name == ClassificationRules.defaultTypeName }
}

/// Inclusive bounds on the number of attendees; either side may be open.
struct AttendeeCountRange: Sendable, Equatable {
    var min: Int?
    var max: Int?

    func contains(_ count: Int) -> Bool {
        (min.map { count >= $0 } ?? true) && (max.map { count <= $0 } ?? true)
    }
}

/// A rules file that cannot be used. The description reads
/// `classifier-rules.yaml:31: [incident_review] prep_hours_before must be …`.
public struct RulesError: Error, CustomStringConvertible, Equatable {
    var file: String
    /// 1-based; nil only when the file could not be read at all.
    var line: Int?
    /// The meeting type at fault, or nil for problems outside any meeting type.
    var rule: String?
    var message: String

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let rule { text += "[\(rule)] " }
        return text + message
    }
}

// MARK: - Reading and validation

/// Walks the YAML node tree (rather than decoding with Codable) because only the node tree
/// keeps line numbers, and errors without line numbers are hard to act on.
private struct RulesReader {
    let source: String
    let text: String

    private static let topLevelKeys = ["defaults", "meeting_types"]
    private static let defaultsKeys = ["reminder_hours_before"]
    private static let meetingTypeKeys = [
        "name", "priority", "keywords", "required_attendees_min", "attendee_count",
        "prep_hours_before", "context_required", "prep_questions",
    ]
    private static let attendeeCountKeys = ["min", "max"]

    func read() throws -> ClassificationRules {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw RulesError(
                    file: source, line: 1, rule: nil,
                    message: "the rules file is empty; it needs `defaults` and `meeting_types`")
            }
            root = composed
        } catch let error as YamlError {
            throw syntaxError(error)
        }

        let top = try mapping(root, what: "the top level of the rules file", rule: nil)
        try rejectUnknownKeys(top, allowed: Self.topLevelKeys, what: "the top level", rule: nil)

        guard let defaultsEntry = top.first(where: { $0.key == "defaults" }) else {
            throw error(at: root, rule: nil, "missing `defaults:` section (it sets reminder_hours_before)")
        }
        let defaults = try mapping(defaultsEntry.value, what: "`defaults`", rule: nil)
        try rejectUnknownKeys(defaults, allowed: Self.defaultsKeys, what: "`defaults`", rule: nil)
        guard let reminderEntry = defaults.first(where: { $0.key == "reminder_hours_before" }) else {
            throw error(at: defaultsEntry.value, rule: nil, "`defaults` is missing reminder_hours_before")
        }
        let reminderHours = try wholeNumber(
            reminderEntry.value, key: "reminder_hours_before", unit: "hours", rule: nil, minimum: 0)

        guard let typesEntry = top.first(where: { $0.key == "meeting_types" }) else {
            throw error(at: root, rule: nil, "missing `meeting_types:` list")
        }
        guard let typeNodes = typesEntry.value.sequence.map(Array.init) else {
            throw error(at: typesEntry.value, rule: nil, "`meeting_types` must be a list of meeting types")
        }

        var types: [MeetingTypeRule] = []
        var firstLineByName: [String: Int] = [:]
        for (index, node) in typeNodes.enumerated() {
            let type = try meetingType(node, position: index + 1)
            let nameKey = type.name.lowercased()
            if let firstLine = firstLineByName[nameKey] {
                throw error(
                    at: node, rule: type.name,
                    "duplicate meeting type name (first defined at line \(firstLine)); names must be unique")
            }
            firstLineByName[nameKey] = type.line
            types.append(type)
        }

        guard types.contains(where: \.isDefault) else {
            throw error(
                at: typesEntry.keyNode, rule: ClassificationRules.defaultTypeName,
                "no `default` meeting type; add one (without keywords) so every meeting gets a classification")
        }
        return ClassificationRules(source: source, reminderHoursBefore: reminderHours, meetingTypes: types)
    }

    private func meetingType(_ node: Node, position: Int) throws -> MeetingTypeRule {
        let unnamed = "meeting_types entry \(position)"
        // Peek at the name before any other check, so even the earliest error can say which
        // rule it is about.
        let declaredName = node.mapping?
            .first { $0.key.scalar?.string == "name" }
            .flatMap { nonEmptyString($0.value) }
        let fields = try mapping(node, what: "a meeting type", rule: declaredName ?? unnamed)

        guard let nameEntry = fields.first(where: { $0.key == "name" }) else {
            throw error(at: node, rule: unnamed, "missing `name`")
        }
        guard let name = nonEmptyString(nameEntry.value) else {
            throw error(at: nameEntry.value, rule: unnamed, "`name` must be a non-empty text")
        }

        try rejectUnknownKeys(fields, allowed: Self.meetingTypeKeys, what: "a meeting type", rule: name)
        func field(_ key: String) -> Node? { fields.first { $0.key == key }?.value }

        let priority =
            try field("priority").map {
                try wholeNumber($0, key: "priority", unit: nil, rule: name, minimum: nil)
            } ?? 0
        let keywords = try field("keywords").map { try stringList($0, key: "keywords", rule: name) } ?? []

        guard let prepNode = field("prep_hours_before") else {
            throw error(
                at: node, rule: name,
                "missing prep_hours_before (how many hours before the meeting preparation starts)")
        }
        let prepHours = try wholeNumber(prepNode, key: "prep_hours_before", unit: "hours", rule: name, minimum: 0)

        let requiredMin = try field("required_attendees_min").map {
            try wholeNumber($0, key: "required_attendees_min", unit: "attendees", rule: name, minimum: 0)
        }
        let countRange = try field("attendee_count").map { try attendeeCount($0, rule: name) }

        let isDefault = name == ClassificationRules.defaultTypeName
        if isDefault {
            if !keywords.isEmpty {
                throw error(
                    at: field("keywords") ?? node, rule: name,
                    "`default` must not have keywords: it is the fallback for meetings no other type matches")
            }
            if requiredMin != nil || countRange != nil {
                throw error(
                    at: field("attendee_count") ?? field("required_attendees_min") ?? node, rule: name,
                    "`default` must not have attendee conditions: it has to match every meeting")
            }
        } else if keywords.isEmpty && requiredMin == nil && countRange == nil {
            throw error(
                at: node, rule: name,
                "has no keywords and no attendee conditions, so it would match every meeting and hide "
                    + "`default`; add keywords, attendee_count or required_attendees_min")
        }

        return MeetingTypeRule(
            name: name,
            priority: priority,
            keywords: keywords,
            requiredAttendeesMin: requiredMin,
            attendeeCount: countRange,
            prepHoursBefore: prepHours,
            contextRequired: try field("context_required").map {
                try stringList($0, key: "context_required", rule: name)
            } ?? [],
            prepQuestions: try field("prep_questions").map {
                try stringList($0, key: "prep_questions", rule: name)
            } ?? [],
            line: line(of: node) ?? 1
        )
    }

    private func attendeeCount(_ node: Node, rule: String) throws -> AttendeeCountRange {
        let fields = try mapping(node, what: "`attendee_count` (write it as {min: 2, max: 2})", rule: rule)
        try rejectUnknownKeys(fields, allowed: Self.attendeeCountKeys, what: "`attendee_count`", rule: rule)
        let range = AttendeeCountRange(
            min: try fields.first { $0.key == "min" }.map {
                try wholeNumber($0.value, key: "attendee_count.min", unit: "attendees", rule: rule, minimum: 0)
            },
            max: try fields.first { $0.key == "max" }.map {
                try wholeNumber($0.value, key: "attendee_count.max", unit: "attendees", rule: rule, minimum: 0)
            })
        if range.min == nil && range.max == nil {
            throw error(at: node, rule: rule, "`attendee_count` needs min, max or both")
        }
        if let min = range.min, let max = range.max, min > max {
            throw error(
                at: node, rule: rule,
                "attendee_count min (\(min)) is greater than max (\(max)), so the rule could never match")
        }
        return range
    }

    // MARK: Typed field readers

    private struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    /// A mapping's entries in file order, with scalar keys and no key twice. (Yams 6 reports
    /// duplicate keys itself; Yams 5 silently keeps both, hence the check here too.)
    private func mapping(_ node: Node, what: String, rule: String?) throws -> [Entry] {
        guard let mapping = node.mapping else {
            throw error(at: node, rule: rule, "\(what) must be a mapping of `key: value` lines")
        }
        var entries: [Entry] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw error(at: keyNode, rule: rule, "keys in \(what) must be plain words")
            }
            if let earlier = entries.first(where: { $0.key == key }) {
                throw error(
                    at: keyNode, rule: rule,
                    "`\(key)` appears twice in \(what) (also at line \(line(of: earlier.keyNode) ?? 0))")
            }
            entries.append(Entry(key: key, keyNode: keyNode, value: value))
        }
        return entries
    }

    private func rejectUnknownKeys(_ entries: [Entry], allowed: [String], what: String, rule: String?) throws {
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key `\(entry.key)` in \(what)"
            if let suggestion = closestKey(to: entry.key, among: allowed) {
                message += "; did you mean `\(suggestion)`?"
            } else {
                message += "; allowed keys are \(allowed.joined(separator: ", "))"
            }
            throw error(at: entry.keyNode, rule: rule, message)
        }
    }

    /// Accepts only plain decimal integers. Yams' own `int` would also take YAML 1.1 forms
    /// such as `1:30` (sexagesimal, = 90) or `0x10`, which in this file are surely typos.
    private func wholeNumber(_ node: Node, key: String, unit: String?, rule: String?, minimum: Int?) throws -> Int {
        let expectation =
            minimum == nil
            ? "a whole number"
            : "a whole number\(unit.map { " of \($0)" } ?? "") (\(minimum ?? 0) or more)"
        guard let scalar = node.scalar, node.null == nil else {
            throw error(at: node, rule: rule, "\(key) must be \(expectation)")
        }
        let raw = scalar.string.trimmingCharacters(in: .whitespaces)
        let digits = raw.hasPrefix("-") || raw.hasPrefix("+") ? raw.dropFirst() : Substring(raw)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isWholeNumber }), let value = Int(raw) else {
            throw error(at: node, rule: rule, "\(key) must be \(expectation), got '\(raw)'")
        }
        if let minimum, value < minimum {
            throw error(at: node, rule: rule, "\(key) must be \(expectation), got \(value)")
        }
        return value
    }

    private func stringList(_ node: Node, key: String, rule: String) throws -> [String] {
        guard let sequence = node.sequence else {
            throw error(at: node, rule: rule, "\(key) must be a list of texts, e.g. [\"first\", \"second\"]")
        }
        return try sequence.enumerated().map { index, item in
            guard let text = nonEmptyString(item) else {
                throw error(at: item, rule: rule, "\(key) must contain only non-empty texts (item \(index + 1) is not)")
            }
            return text
        }
    }

    private func nonEmptyString(_ node: Node) -> String? {
        guard let scalar = node.scalar, node.null == nil else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    // MARK: Errors

    private func line(of node: Node) -> Int? {
        node.mark?.line  // Yams marks are 1-based (libyaml's 0-based line + 1).
    }

    private func error(at node: Node, rule: String?, _ message: String) -> RulesError {
        RulesError(file: source, line: line(of: node), rule: rule, message: message)
    }

    private func syntaxError(_ error: YamlError) -> RulesError {
        var line: Int?
        var message: String
        switch error {
        case let .scanner(context, problem, mark, _),
            let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            line = mark.line
            message = "YAML syntax error: \(problem)"
            // libyaml notices a missing `]` or quote where the next token starts; the context
            // mark says where the unfinished construct began, which is usually the real fault.
            if let context {
                message += " (\(context.text)"
                message += context.mark.line == mark.line ? ")" : " that starts at line \(context.mark.line))"
            }
        case let .reader(problem, _, _, _):
            message = "the file is not readable YAML text: \(problem)"
        default:
            if let duplicate = duplicateKeyDetails(error) {
                line = duplicate.line
                message = "`\(duplicate.keys.joined(separator: "`, `"))` appears twice in the same mapping"
                if let firstLine = duplicate.firstLine, firstLine != duplicate.line {
                    message += " (also at line \(firstLine))"
                }
            } else {
                message = "YAML error: \(error)"
            }
        }
        let rule = line.flatMap { enclosingRuleName(atLine: $0) }
        return RulesError(file: source, line: line, rule: rule, message: message)
    }

    /// Yams 6 reports duplicate keys as `.duplicatedKeysInMapping`, a case Yams 5 does not
    /// have (so it cannot be named while both majors are allowed), and its description embeds
    /// the whole document. Reflection reads the keys and the first key's mark instead.
    private func duplicateKeyDetails(_ error: YamlError) -> (keys: [String], line: Int?, firstLine: Int?)? {
        guard let payload = Mirror(reflecting: error).children.first,
            payload.label == "duplicatedKeysInMapping"
        else { return nil }
        var keys: [String] = []
        var firstLine: Int?
        for child in Mirror(reflecting: payload.value).children {
            if let value = child.value as? [String] { keys = value }
            if let context = child.value as? YamlError.Context { firstLine = context.mark.line }
        }
        // The mark is the first occurrence; the person needs the repeated one, which is the
        // next line at the same indentation that starts with the same key.
        if let firstLine, let key = keys.first {
            return (keys, repeatedKeyLine(key: key, after: firstLine) ?? firstLine, firstLine)
        }
        return (keys, firstLine, firstLine)
    }

    private func repeatedKeyLine(key: String, after firstLine: Int) -> Int? {
        let lines = text.components(separatedBy: "\n")
        guard firstLine >= 1, firstLine <= lines.count else { return nil }
        func keyColumn(_ line: String) -> Int? {
            let body = line.drop { $0 == " " || $0 == "-" }
            guard body.hasPrefix(key), body.dropFirst(key.count).drop(while: { $0 == " " }).first == ":" else {
                return nil
            }
            return line.count - body.count
        }
        guard let column = keyColumn(lines[firstLine - 1]) else { return nil }
        for index in firstLine..<lines.count where keyColumn(lines[index]) == column {
            return index + 1
        }
        return nil
    }

    /// For syntax errors there is no node tree; the nearest `name:` at or above the failing
    /// line is the meeting type being edited, which is what a person needs to find.
    private func enclosingRuleName(atLine line: Int) -> String? {
        let lines = text.components(separatedBy: "\n")
        guard line >= 1 else { return nil }
        for index in stride(from: min(line, lines.count) - 1, through: 0, by: -1) {
            let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("meeting_types:") { return nil }
            let body = trimmed.hasPrefix("- ") ? String(trimmed.dropFirst(2)).trimmingCharacters(in: .whitespaces) : trimmed
            guard body.hasPrefix("name:") else { continue }
            var value = body.dropFirst("name:".count).trimmingCharacters(in: .whitespaces)
            if let comment = value.range(of: " #") { value = String(value[..<comment.lowerBound]) }
            value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// Suggests the allowed key a typo was probably meant to be (`prep_hour_before`).
    private func closestKey(to key: String, among allowed: [String]) -> String? {
        let lowered = key.lowercased()
        // "minimum" for "min" is too far by edit distance but obviously meant.
        if let prefixMatch = allowed.first(where: { lowered.hasPrefix($0) || $0.hasPrefix(lowered) }) {
            return prefixMatch
        }
        let scored = allowed.map { ($0, editDistance(lowered, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }

    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(
                    previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
