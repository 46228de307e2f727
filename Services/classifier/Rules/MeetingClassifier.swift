import Foundation

/// What the classifier needs to know about a meeting.
public struct MeetingFacts: Sendable {
    public init(title: String, description: String, attendeeCount: Int, start: Date) {
        self.title = title
        self.description = description
        self.attendeeCount = attendeeCount
        self.start = start
    }

    public var title: String
    public var description: String
    /// Everyone invited, organiser included (a 1:1 has 2).
    public var attendeeCount: Int
    public var start: Date
}

public struct Classification: Sendable, Equatable {
    public var meetingType: String
    /// Why this type was chosen, for logs and the operator UI,
    /// e.g. "incident_review: keywords [postmortem]".
    public var rule: String
    /// The winning type's keywords that were found, as written in the rules file.
    public var matchedKeywords: [String]
    public var prepHoursBefore: Int
    /// start − prepHoursBefore, or `now` when that moment has already passed, so a meeting
    /// booked at short notice still gets prepared instead of being skipped.
    public var prepTriggerAt: Date
    /// start − the rules' reminder_hours_before.
    public var reminderAt: Date
    public var prepQuestions: [String]
    public var contextRequired: [String]
}

extension ClassificationRules {
    /// Picks the matching meeting type with the highest priority (ties: earlier in the file),
    /// or `default` when nothing else matches.
    ///
    /// The title says what a meeting is; the description often carries other meetings'
    /// business ("2. Debrief from the Acme QBR" in an exec staff agenda). So when some type's
    /// keywords are in the title, types whose keywords appear only in the description are
    /// set aside. The description decides only when the title matches no keywords at all.
    public func classify(_ meeting: MeetingFacts, now: Date) -> Classification {
        let titleText = SearchText(meeting.title)
        let searchableText = SearchText(meeting.title + "\n" + meeting.description)

        var matches: [(type: MeetingTypeRule, keywords: [String], onlyInDescription: Bool)] = []
        for type in meetingTypes where !type.isDefault {
            if let keywords = type.matchedKeywords(in: searchableText, attendeeCount: meeting.attendeeCount) {
                // A type without keywords matched on attendees alone, which no text outweighs.
                let onlyInDescription =
                    !keywords.isEmpty
                    && !keywords.contains { KeywordMatcher.contains(keyword: $0, in: titleText) }
                matches.append((type, keywords, onlyInDescription))
            }
        }
        let titleMatched = matches.contains { !$0.keywords.isEmpty && !$0.onlyInDescription }
        let setAside = titleMatched ? matches.filter(\.onlyInDescription).map(\.type.name) : []
        if titleMatched {
            matches.removeAll { $0.onlyInDescription }
        }
        // `max(by:)` would return the last of equal elements; keeping the first strict
        // improvement preserves file order on ties.
        var winner = matches.first
        for match in matches.dropFirst() where match.type.priority > (winner?.type.priority ?? .min) {
            winner = match
        }

        let chosen: MeetingTypeRule
        let reason: String
        let matchedKeywords: [String]
        if let winner {
            chosen = winner.type
            matchedKeywords = winner.keywords
            var parts = winner.type.conditionSummary(matchedKeywords: winner.keywords, attendeeCount: meeting.attendeeCount)
            let outranked = matches.filter { $0.type.name != winner.type.name }.map(\.type.name)
            if winner.onlyInDescription, !parts.isEmpty {
                // parts[0] is the keywords part, present because the winner has keywords.
                parts[0] += " (in the description; the title matched no keywords)"
            }
            if !outranked.isEmpty {
                parts.append("also matched \(outranked.joined(separator: ", ")) (lower priority or later in file)")
            }
            if !setAside.isEmpty {
                parts.append("set aside \(setAside.joined(separator: ", ")) (keywords only in the description)")
            }
            reason = "\(winner.type.name): " + parts.joined(separator: "; ")
        } else if let fallback = defaultType {
            chosen = fallback
            matchedKeywords = []
            reason = "\(fallback.name): no other meeting type matched"
        } else {
            // Unreachable for rules that came through `parse`, which requires `default`; a
            // hand-built rule set without one still gets a usable answer.
            chosen = MeetingTypeRule(
                name: ClassificationRules.defaultTypeName, priority: 0, keywords: [], prepHoursBefore: 24,
                contextRequired: [], prepQuestions: [], line: 0)
            matchedKeywords = []
            reason = "default: no meeting type matched and the rules define no default"
        }

        // Hours are multiplied as Double so an absurd but valid value cannot trap on overflow.
        let idealPrepStart = meeting.start.addingTimeInterval(-Double(chosen.prepHoursBefore) * 3600)
        return Classification(
            meetingType: chosen.name,
            rule: reason,
            matchedKeywords: matchedKeywords,
            prepHoursBefore: chosen.prepHoursBefore,
            prepTriggerAt: max(idealPrepStart, now),
            reminderAt: meeting.start.addingTimeInterval(-Double(reminderHoursBefore) * 3600),
            prepQuestions: chosen.prepQuestions,
            contextRequired: chosen.contextRequired
        )
    }
}

extension MeetingTypeRule {
    /// The keywords found, or nil when the type does not match. A type without keywords
    /// matches on its attendee conditions alone (and then returns an empty list).
    func matchedKeywords(in text: SearchText, attendeeCount count: Int) -> [String]? {
        if let requiredAttendeesMin, count < requiredAttendeesMin { return nil }
        if let range = attendeeCount, !range.contains(count) { return nil }
        if keywords.isEmpty { return [] }
        let found = keywords.filter { KeywordMatcher.contains(keyword: $0, in: text) }
        return found.isEmpty ? nil : found
    }

    func conditionSummary(matchedKeywords: [String], attendeeCount count: Int) -> [String] {
        var parts: [String] = []
        if !matchedKeywords.isEmpty {
            parts.append("keywords [\(matchedKeywords.joined(separator: ", "))]")
        }
        if let range = attendeeCount {
            let bounds = "\(range.min.map(String.init) ?? "")…\(range.max.map(String.init) ?? "")"
            parts.append("attendee_count \(bounds) (meeting has \(count))")
        }
        if let requiredAttendeesMin {
            parts.append("required_attendees_min \(requiredAttendeesMin) (meeting has \(count))")
        }
        return parts
    }
}

/// Text made ready for keyword search once, for all the keywords searched in it.
struct SearchText {
    /// With runs of whitespace collapsed (`KeywordMatcher.normalized`).
    let text: String
    /// Whether the text's bytes can be searched directly: every character outside ASCII is
    /// one a keyword search steps over (see `KeywordMatcher.isOpaque`).
    let isByteSearchable: Bool

    init(_ raw: String) {
        text = KeywordMatcher.normalized(raw)
        isByteSearchable = text.unicodeScalars.allSatisfy { $0.isASCII || KeywordMatcher.isOpaque($0) }
    }
}

/// Case-insensitive keyword search on word boundaries, so "rca" does not fire inside
/// "rcarbon" and "1:1" does not fire inside "11:15", while "QBR" still fires in "Q3 QBR prep".
///
/// An ASCII keyword in text whose other characters are dashes, quotes, symbols or emoji (most
/// titles and descriptions) is searched byte by byte: the answers of Foundation's
/// case-insensitive search, which for ASCII folds only A–Z, at a fraction of the cost, since
/// Foundation bridges the whole text for every keyword. Anything else goes to Foundation.
enum KeywordMatcher {
    /// Collapses runs of whitespace (including line breaks) to one space, so a keyword
    /// written "quarterly business review" also matches text wrapped across lines.
    static func normalized(_ text: String) -> String {
        asciiNormalized(text) ?? generalNormalized(text)
    }

    static func contains(keyword: String, in text: SearchText) -> Bool {
        let needle = normalized(keyword)
        if text.isByteSearchable, let found = byteContains(needle, in: text.text) { return found }
        return generalContains(needle, in: text.text)
    }

    static func contains(keyword: String, in normalizedText: String) -> Bool {
        contains(keyword: keyword, in: SearchText(normalizedText))
    }

    /// A character outside ASCII that neither a keyword match nor a word boundary can involve:
    /// not a letter or number, its own case fold (unlike the Kelvin sign or "ß", which fold to
    /// ASCII letters), and not a mark, format character or emoji modifier, which would join
    /// the ASCII character before it into one character ("e" and a combining accent).
    static func isOpaque(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .format, .control, .surrogate, .privateUse, .unassigned:
            return false
        default:
            return !properties.isAlphabetic && properties.numericType == nil && !properties.changesWhenCaseFolded
                && !properties.isGraphemeExtend && !properties.isEmojiModifier && !properties.isWhitespace
        }
    }

    // MARK: Any text

    static func generalNormalized(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func generalContains(_ needle: String, in normalizedText: String) -> Bool {
        guard let first = needle.first, let last = needle.last else { return false }
        // A boundary only matters where the keyword itself starts or ends with a word
        // character; "c++" cannot be followed by a word boundary in the usual sense.
        let needsLeadingBoundary = isWordCharacter(first)
        let needsTrailingBoundary = isWordCharacter(last)

        var searchRange = normalizedText.startIndex..<normalizedText.endIndex
        while let found = normalizedText.range(of: needle, options: [.caseInsensitive], range: searchRange) {
            let leadingOK =
                !needsLeadingBoundary || found.lowerBound == normalizedText.startIndex
                || !isWordCharacter(normalizedText[normalizedText.index(before: found.lowerBound)])
            let trailingOK =
                !needsTrailingBoundary || found.upperBound == normalizedText.endIndex
                || !isWordCharacter(normalizedText[found.upperBound])
            if leadingOK && trailingOK { return true }
            guard found.lowerBound < normalizedText.endIndex else { break }
            searchRange = normalizedText.index(after: found.lowerBound)..<normalizedText.endIndex
        }
        return false
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }

    // MARK: Bytes

    /// `normalized` for ASCII text (nil for any other): `Character.isWhitespace` is, in ASCII,
    /// tab through carriage return and space. Text with nothing to collapse is returned as is.
    static func asciiNormalized(_ text: String) -> String? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            var clean = true
            var previousSpace = true
            for byte in bytes {
                guard byte < 0x80 else { return nil }
                let space = isASCIIWhitespace(byte)
                if space && (byte != 0x20 || previousSpace) { clean = false }
                previousSpace = space
            }
            if clean && !previousSpace || bytes.isEmpty { return text }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var pendingSpace = false
            for byte in bytes {
                if isASCIIWhitespace(byte) {
                    pendingSpace = !output.isEmpty
                    continue
                }
                if pendingSpace { output.append(0x20) }
                pendingSpace = false
                output.append(byte)
            }
            return String(decoding: output, as: UTF8.self)
        } ?? nil
    }

    /// `generalContains` for an ASCII needle in byte-searchable text; nil when the needle is
    /// not ASCII. Bytes of the text's other characters are never equal to the needle's and
    /// are not word characters, as the characters they encode are not.
    static func byteContains(_ needle: String, in text: String) -> Bool? {
        needle.utf8.withContiguousStorageIfAvailable { needle -> Bool? in
            text.utf8.withContiguousStorageIfAvailable { text -> Bool? in
                guard !needle.contains(where: { $0 >= 0x80 }) else { return nil }
                guard let first = needle.first, let last = needle.last, needle.count <= text.count else { return false }
                let needsLeadingBoundary = isASCIIWordCharacter(first)
                let needsTrailingBoundary = isASCIIWordCharacter(last)
                for start in 0...(text.count - needle.count) {
                    var index = 0
                    while index < needle.count, folded(text[start + index]) == folded(needle[index]) { index += 1 }
                    guard index == needle.count else { continue }
                    let end = start + needle.count
                    if needsLeadingBoundary, start > 0, isASCIIWordCharacter(text[start - 1]) { continue }
                    if needsTrailingBoundary, end < text.count, isASCIIWordCharacter(text[end]) { continue }
                    return true
                }
                return false
            } ?? nil
        } ?? nil
    }

    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    private static func folded(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    private static func isASCIIWordCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"):
            true
        default: false
        }
    }
}
