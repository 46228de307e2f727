import Foundation
import TestSupport
import Testing

@testable import ClassificationRules
@testable import Classifier

private let shippedRulesPath = TestStack.shippedRulesPath

private let now = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18, a fixed "now"

private func meeting(_ title: String, description: String = "", attendees: Int, startsIn hours: Double = 24 * 30)
    -> MeetingFacts
{
    MeetingFacts(title: title, description: description, attendeeCount: attendees, start: now.addingTimeInterval(hours * 3600))
}

private func loadShippedRules() throws -> ClassificationRules {
    try ClassificationRules.load(fileAt: shippedRulesPath)
}

private func rulesError(_ yaml: String, source: String = "team-rules.yaml") -> RulesError? {
    do {
        _ = try ClassificationRules.parse(yaml: yaml, source: source)
        return nil
    } catch let error as RulesError {
        return error
    } catch {
        return nil
    }
}

// MARK: - The shipped rules

@Suite("Classifier: shipped rules file")
struct ClassifierShippedRulesTests {
    @Test("the shipped file loads with the documented types and preparation times")
    func shippedFileLoadsWithTheDocumentedTypesAndTimings() throws {
        let rules = try loadShippedRules()
        let hoursByType = Dictionary(uniqueKeysWithValues: rules.meetingTypes.map { ($0.name, $0.prepHoursBefore) })
        #expect(
            hoursByType == [
                "incident_review": 2, "qbr": 336, "leadership_meeting": 72, "one_on_one": 24,
                "staff_meeting": 48, "default": 24,
            ])
        #expect(rules.reminderHoursBefore == 2)
        #expect(rules.defaultType?.keywords == [])
        for type in rules.meetingTypes {
            #expect((3...5).contains(type.prepQuestions.count), "\(type.name) should ship 3–5 prep questions")
            #expect(!type.contextRequired.isEmpty, "\(type.name) should name the context it needs")
        }
        let oneOnOne = try #require(rules.meetingTypes.first { $0.name == "one_on_one" })
        #expect(oneOnOne.attendeeCount == AttendeeCountRange(min: 2, max: 2))
    }

    @Test("the shipped file carries the design's keywords and attendee thresholds")
    func shippedFileCarriesTheDesignsRules() throws {
        let rules = try loadShippedRules()
        func type(_ name: String) throws -> MeetingTypeRule { try #require(rules.meetingTypes.first { $0.name == name }) }
        let design: [(name: String, keywords: [String], minimum: Int?)] = [
            ("leadership_meeting", ["leadership", "leadership team", "LT meeting"], 10),
            ("one_on_one", ["1-1", "1:1", "one on one"], nil),
            ("qbr", ["QBR", "quarterly business review"], 20),
            ("staff_meeting", ["staff meeting", "all hands"], 15),
            ("incident_review", ["post-mortem", "incident review", "SEV"], nil),
        ]
        for (name, keywords, minimum) in design {
            let rule = try type(name)
            #expect(Set(keywords).isSubset(of: rule.keywords), "\(name) keeps the design's keywords")
            #expect(
                rule.requiredAttendeesMin == minimum,
                "\(name) needs at least \(minimum.map(String.init) ?? "no minimum of") attendees")
        }
        #expect(try type("incident_review").attendeeCount == nil)
    }

    @Test(
        "each shipped type is reachable with a realistic title",
        arguments: [
            ("Postmortem: checkout outage on 14 Nov", "", 6, "incident_review"),
            ("Payments incident review", "Timeline and follow-ups", 4, "incident_review"),
            ("SEV1 retro", "", 3, "incident_review"),
            ("Q3 QBR", "", 24, "qbr"),
            ("Acme Corp – quarterly business review", "", 30, "qbr"),
            ("Leadership team weekly", "", 12, "leadership_meeting"),
            ("LT meeting", "Standing agenda", 10, "leadership_meeting"),
            ("Sam / Alex 1:1", "", 2, "one_on_one"),
            ("1on1 Priya", "", 2, "one_on_one"),
            ("Platform staff meeting", "", 18, "staff_meeting"),
            ("Engineering all-hands", "", 120, "staff_meeting"),
            ("Lunch with the recruiting agency", "", 3, "default"),
        ])
    func eachShippedTypeIsReachableWithARealisticTitle(
        title: String, description: String, attendees: Int, expected: String
    ) throws {
        let rules = try loadShippedRules()
        let result = rules.classify(meeting(title, description: description, attendees: attendees), now: now)
        #expect(result.meetingType == expected, "\(title) → \(result.rule)")
    }

    @Test("keywords match on word boundaries only") func keywordsMatchOnWordBoundariesOnly() throws {
        let rules = try loadShippedRules()
        #expect(rules.classify(meeting("SEV-2 review: payments", attendees: 4), now: now).meetingType == "incident_review")
        #expect(rules.classify(meeting("Several vendor demos", attendees: 4), now: now).meetingType == "default")
        #expect(rules.classify(meeting("11:15 sync moved", attendees: 2), now: now).meetingType == "default")
        #expect(rules.classify(meeting("2026-11-21 planning", attendees: 2), now: now).meetingType == "default")
        #expect(rules.classify(meeting("Q3 QBR", attendees: 25), now: now).matchedKeywords == ["QBR"])
        #expect(
            rules.classify(meeting("Sync", description: "Our quarterly\nbusiness review deck", attendees: 25), now: now)
                .meetingType == "qbr", "a phrase wrapped across lines in the description still matches")
    }

    @Test("the higher priority wins, and the reason names the runner-up") func higherPriorityWinsAndTheReasonNamesTheRunnerUp()
        throws
    {
        let rules = try loadShippedRules()
        // Matches leadership_meeting ("leadership", 80) and staff_meeting ("staff meeting", 50).
        let result = rules.classify(meeting("Leadership staff meeting", attendees: 20), now: now)
        #expect(result.meetingType == "leadership_meeting")
        #expect(result.rule.hasPrefix("leadership_meeting: keywords [leadership]"))
        #expect(result.rule.contains("also matched staff_meeting"))
    }

    @Test("a 1:1 needs exactly two attendees") func oneOnOneNeedsExactlyTwoAttendees() throws {
        let rules = try loadShippedRules()
        #expect(rules.classify(meeting("Sam / Alex 1:1", attendees: 2), now: now).meetingType == "one_on_one")
        #expect(rules.classify(meeting("Sam / Alex 1:1", attendees: 3), now: now).meetingType == "default")
        #expect(rules.classify(meeting("Sam / Alex 1:1", attendees: 1), now: now).meetingType == "default")
    }

    @Test("a classification carries its type's preparation settings") func classificationCarriesTheTypesPrepSettings() throws {
        let rules = try loadShippedRules()
        let result = rules.classify(meeting("Checkout post-mortem", attendees: 5), now: now)
        let incident = try #require(rules.meetingTypes.first { $0.name == "incident_review" })
        #expect(result.meetingType == "incident_review")
        #expect(result.matchedKeywords == ["post-mortem"])
        #expect(result.prepHoursBefore == 2)
        #expect(result.prepQuestions == incident.prepQuestions)
        #expect(result.contextRequired == ["incidents", "decisions"])
        #expect(result.rule.hasPrefix("incident_review: keywords [post-mortem]"))
    }

    @Test("the default explains that nothing else matched") func defaultExplainsThatNothingElseMatched() throws {
        let result = try loadShippedRules().classify(meeting("Dentist", attendees: 1), now: now)
        #expect(result.meetingType == "default")
        #expect(result.rule == "default: no other meeting type matched")
        #expect(result.matchedKeywords == [])
    }
}

// MARK: - Matching semantics on purpose-built rules

private let tieRules = """
    defaults:
      reminder_hours_before: 1
    meeting_types:
      - name: customer_call
        priority: 10
        keywords: ["sync"]
        prep_hours_before: 4
      - name: internal_sync
        priority: 10
        keywords: ["sync"]
        prep_hours_before: 8
      - name: board
        priority: 50
        keywords: ["board"]
        prep_hours_before: 96
      - name: large_meeting
        priority: 5
        required_attendees_min: 20
        prep_hours_before: 12
      - name: default
        prep_hours_before: 24
    """

@Suite("Classifier: matching")
struct ClassifierMatchingTests {
    @Test("equal priority goes to the type earlier in the file") func equalPriorityGoesToTheTypeEarlierInTheFile() throws {
        let rules = try ClassificationRules.parse(yaml: tieRules, source: "tie.yaml")
        #expect(rules.classify(meeting("Weekly sync", attendees: 4), now: now).meetingType == "customer_call")

        let swapped =
            tieRules
            .replacingOccurrences(of: "customer_call", with: "TEMP")
            .replacingOccurrences(of: "internal_sync", with: "customer_call")
            .replacingOccurrences(of: "TEMP", with: "internal_sync")
        let swappedRules = try ClassificationRules.parse(yaml: swapped, source: "tie.yaml")
        #expect(swappedRules.classify(meeting("Weekly sync", attendees: 4), now: now).meetingType == "internal_sync")
    }

    @Test("a higher priority wins even when later in the file") func higherPriorityWinsEvenWhenLaterInTheFile() throws {
        let rules = try ClassificationRules.parse(yaml: tieRules, source: "tie.yaml")
        #expect(rules.classify(meeting("Board sync", attendees: 4), now: now).meetingType == "board")
    }

    @Test("a type with only attendee conditions matches on headcount") func typeWithOnlyAttendeeConditionsMatchesOnHeadcount()
        throws
    {
        let rules = try ClassificationRules.parse(yaml: tieRules, source: "tie.yaml")
        let big = rules.classify(meeting("Quarterly kickoff", attendees: 25), now: now)
        #expect(big.meetingType == "large_meeting")
        #expect(big.matchedKeywords == [])
        #expect(big.rule == "large_meeting: required_attendees_min 20 (meeting has 25)")
        #expect(rules.classify(meeting("Quarterly kickoff", attendees: 19), now: now).meetingType == "default")
    }

    @Test("keywords are case-insensitive and may contain punctuation") func keywordsAreCaseInsensitiveAndMayContainPunctuation() {
        #expect(KeywordMatcher.contains(keyword: "QBR", in: "q3 qbr prep"))
        #expect(KeywordMatcher.contains(keyword: "1:1", in: "Sam / Alex 1:1"))
        #expect(KeywordMatcher.contains(keyword: "1:1", in: "1:1, Sam/Alex"))
        #expect(!KeywordMatcher.contains(keyword: "1:1", in: "11:15 standup"))
        #expect(!KeywordMatcher.contains(keyword: "1:1", in: "1:15 standup"))
        #expect(KeywordMatcher.contains(keyword: "one-on-one", in: "One-on-One: Sam"))
        #expect(!KeywordMatcher.contains(keyword: "rca", in: "rcarbon"))
        #expect(!KeywordMatcher.contains(keyword: "rca", in: "sourcing arca"))
        #expect(KeywordMatcher.contains(keyword: "rca", in: "(RCA) payments"))
        #expect(KeywordMatcher.contains(keyword: "c++", in: "c++ guild"), "edges that are not word characters need no boundary")
        // The second occurrence counts when the first is inside a word.
        #expect(KeywordMatcher.contains(keyword: "rca", in: "rcarbon rca"))
    }

    @Test("the byte search answers as Foundation's search does, on every labelled meeting and shipped keyword")
    func byteSearchAgreesWithFoundation() throws {
        let rules = try ClassificationRules.load(fileAt: TestStack.shippedRulesPath)
        let keywords =
            rules.meetingTypes.flatMap(\.keywords) + ["rca", "1:1", "c++", "q3", "x", "prep_", "_prep", "review  meeting"]
        let crafted = [
            "rcarbon rca", "\tLeading and trailing\r\n ", "line\r\nbreaks\u{0B}and\u{0C}feeds", "", " ", "RCA", "1:15 1:1",
            "Q3_QBR prep_ notes", "(c++)", "Review\n\n  MEETING", "x", "Q3 QBR — prep “board” ☕ 🚀 → ─── x",
            "qbr\u{301} prep", "café qbr", "\u{212A}ickoff", "ſtandup", "1\u{FE0F}\u{20E3}:1 sync", "RCA\u{200D}x", "QBR²",
            "straße 1:1", "x\u{00A0}qbr", "ﬁnal review",
        ]
        let texts = try loadLabelledMeetings().map { $0.title + "\n" + $0.description } + crafted
        var compared = 0
        var byteSearched = 0
        for raw in texts {
            let text = SearchText(raw)
            #expect(text.text == KeywordMatcher.generalNormalized(raw), "\(raw.debugDescription)")
            for keyword in keywords {
                let needle = KeywordMatcher.generalNormalized(keyword)
                let general = KeywordMatcher.generalContains(needle, in: text.text)
                #expect(
                    KeywordMatcher.contains(keyword: keyword, in: text) == general, "\(keyword) in \(text.text.debugDescription)")
                if text.isByteSearchable {
                    #expect(
                        KeywordMatcher.byteContains(needle, in: text.text) == general,
                        "\(keyword) in \(text.text.debugDescription)")
                    byteSearched += 1
                }
                compared += 1
            }
        }
        // Most labelled meetings are searched byte by byte, those with accents and joiners are not.
        #expect(byteSearched * 10 > compared * 9)
        for unsafe in [
            "café qbr", "qbr\u{301} prep", "\u{212A}ickoff", "ſtandup", "1\u{FE0F}\u{20E3}:1 sync", "RCA\u{200D}x", "QBR²",
        ] {
            #expect(!SearchText(unsafe).isByteSearchable, "\(unsafe.debugDescription)")
        }
        #expect(SearchText("Q3 QBR — prep “board” ☕ 🚀 → ─── x").isByteSearchable)
        #expect(KeywordMatcher.byteContains("café", in: "café sync") == nil)
    }
}

// MARK: - Title outranks description

private let titleRules = """
    defaults:
      reminder_hours_before: 1
    meeting_types:
      - name: board
        priority: 50
        keywords: ["board"]
        prep_hours_before: 96
      - name: internal_sync
        priority: 10
        keywords: ["sync"]
        prep_hours_before: 8
      - name: large_meeting
        priority: 5
        required_attendees_min: 20
        prep_hours_before: 12
      - name: default
        prep_hours_before: 24
    """

private func titleMeeting(_ title: String, _ description: String, attendees: Int = 4) -> MeetingFacts {
    MeetingFacts(
        title: title, description: description, attendeeCount: attendees,
        start: now.addingTimeInterval(30 * 24 * 3600))
}

@Suite("Classifier: the title outranks the description")
struct ClassifierTitleFirstTests {
    @Test("a title match sets aside higher-priority types found only in the description")
    func aTitleMatchSetsAsideHigherPriorityTypesFoundOnlyInTheDescription() throws {
        let rules = try ClassificationRules.parse(yaml: titleRules, source: "title.yaml")
        let result = rules.classify(titleMeeting("Weekly sync", "3. Prep for the board pack"), now: now)
        #expect(result.meetingType == "internal_sync")
        #expect(result.matchedKeywords == ["sync"])
        #expect(result.rule == "internal_sync: keywords [sync]; set aside board (keywords only in the description)")
    }

    @Test("the description decides when the title matches nothing") func theDescriptionDecidesWhenTheTitleMatchesNothing() throws
    {
        let rules = try ClassificationRules.parse(yaml: titleRules, source: "title.yaml")
        let result = rules.classify(titleMeeting("Tuesday 10am", "Board pack review"), now: now)
        #expect(result.meetingType == "board")
        #expect(result.rule == "board: keywords [board] (in the description; the title matched no keywords)")
    }

    @Test("priority still decides among types found in the title") func priorityStillDecidesAmongTypesFoundInTheTitle() throws {
        let rules = try ClassificationRules.parse(yaml: titleRules, source: "title.yaml")
        let result = rules.classify(titleMeeting("Board sync", "sync notes"), now: now)
        #expect(result.meetingType == "board")
        #expect(result.rule == "board: keywords [board]; also matched internal_sync (lower priority or later in file)")
    }

    @Test("attendee-only types are neither set aside nor set others aside")
    func attendeeOnlyTypesAreNeitherSetAsideNorDoTheySetOthersAside() throws {
        let rules = try ClassificationRules.parse(yaml: titleRules, source: "title.yaml")
        // No keyword in the title: the description's "board" still counts, and outranks.
        #expect(rules.classify(titleMeeting("Kickoff", "Board pack", attendees: 25), now: now).meetingType == "board")
        // A keyword in the title: "board" is set aside, the attendee-only type stays in.
        let result = rules.classify(titleMeeting("Kickoff sync", "Board pack", attendees: 25), now: now)
        #expect(result.meetingType == "internal_sync")
        #expect(result.rule.contains("also matched large_meeting"))
        #expect(result.rule.contains("set aside board"))
    }

    @Test("the shipped rules keep a meeting what its title says") func shippedRulesKeepAMeetingWhatItsTitleSays() throws {
        let rules = try loadShippedRules()
        func type(_ title: String, _ description: String, _ attendees: Int) -> String {
            rules.classify(titleMeeting(title, description, attendees: attendees), now: now).meetingType
        }
        #expect(type("Leadership team", "1. Metrics\n2. Debrief from the Acme QBR", 25) == "leadership_meeting")
        #expect(type("Engineering staff meeting", "2. Incident review: last week's SEV3s", 40) == "staff_meeting")
        // A postmortem in the title still wins over everything else the title says.
        #expect(type("1:1 about the SEV1 post-mortem", "", 2) == "incident_review")
        #expect(type("Sync", "Our quarterly business review deck", 25) == "qbr")
        // A keyword without its headcount is not enough.
        #expect(type("Leadership sync", "", 4) == "default")
        #expect(type("Q3 QBR dry run", "", 5) == "default")
    }
}

// MARK: - Prep and reminder times

@Suite("Classifier: prep and reminder times")
struct ClassifierPrepTimingTests {
    @Test("preparation starts the configured hours before the meeting") func prepStartsTheConfiguredHoursBeforeTheMeeting() throws
    {
        let rules = try loadShippedRules()
        let start = now.addingTimeInterval(10 * 24 * 3600)
        let result = rules.classify(
            MeetingFacts(title: "Sam / Alex 1:1", description: "", attendeeCount: 2, start: start), now: now)
        #expect(result.prepTriggerAt == start.addingTimeInterval(-24 * 3600))
        #expect(result.reminderAt == start.addingTimeInterval(-2 * 3600))
    }

    @Test("a QBR's preparation starts two weeks ahead") func qbrPrepStartsTwoWeeksAhead() throws {
        let rules = try loadShippedRules()
        let start = now.addingTimeInterval(20 * 24 * 3600)
        let result = rules.classify(MeetingFacts(title: "Q4 QBR", description: "", attendeeCount: 24, start: start), now: now)
        #expect(result.prepTriggerAt == start.addingTimeInterval(-14 * 24 * 3600))
    }

    @Test("preparation whose start has passed begins now") func prepWhoseStartHasPassedBeginsNow() throws {
        let rules = try loadShippedRules()
        // Booked three hours ahead, but a 1:1 wants 24 hours: prepare immediately.
        let start = now.addingTimeInterval(3 * 3600)
        let result = rules.classify(
            MeetingFacts(title: "Sam / Alex 1:1", description: "", attendeeCount: 2, start: start), now: now)
        #expect(result.prepTriggerAt == now)
        #expect(result.reminderAt == start.addingTimeInterval(-2 * 3600))
    }

    @Test("preparation due exactly now is not moved") func prepExactlyAtTheBoundaryIsNotMovedToNow() throws {
        let rules = try loadShippedRules()
        let start = now.addingTimeInterval(24 * 3600)
        let result = rules.classify(
            MeetingFacts(title: "Sam / Alex 1:1", description: "", attendeeCount: 2, start: start), now: now)
        #expect(result.prepTriggerAt == now)
        #expect(result.prepTriggerAt == start.addingTimeInterval(-24 * 3600))
    }
}

// MARK: - Validation

/// A valid file, line by line, so the invalid variants below can state exact line numbers.
private let validRules = """
    defaults:
      reminder_hours_before: 2
    meeting_types:
      - name: incident_review
        priority: 100
        keywords: ["postmortem", "rca"]
        required_attendees_min: 2
        prep_hours_before: 2
        context_required: [incidents]
        prep_questions: ["What broke?"]
      - name: default
        prep_hours_before: 24
    """

/// Replaces one line (1-based) of `validRules`.
private func validRules(replacingLine line: Int, with replacement: String) -> String {
    var lines = validRules.components(separatedBy: "\n")
    lines[line - 1] = replacement
    return lines.joined(separator: "\n")
}

struct InvalidClassifierRulesCase: Sendable, CustomTestStringConvertible {
    var label: String
    var yaml: String
    var line: Int
    var rule: String
    var messageFragment: String
    var testDescription: String { label }
}

private let invalidRulesCases: [InvalidClassifierRulesCase] = [
    InvalidClassifierRulesCase(
        label: "typo in a key", yaml: validRules(replacingLine: 8, with: "    prep_hour_before: 2"),
        line: 8, rule: "incident_review",
        messageFragment: "unknown key `prep_hour_before` in a meeting type; did you mean `prep_hours_before`?"),
    InvalidClassifierRulesCase(
        label: "missing name",
        yaml: validRules(replacingLine: 4, with: "  - priority_note: x").replacingOccurrences(
            of: "    priority: 100\n", with: ""),
        line: 4, rule: "meeting_types entry 1", messageFragment: "missing `name`"),
    InvalidClassifierRulesCase(
        label: "duplicate name",
        yaml: validRules + "\n  - name: Incident_Review\n    keywords: [outage]\n    prep_hours_before: 1",
        line: 13, rule: "Incident_Review", messageFragment: "duplicate meeting type name (first defined at line 4)"),
    InvalidClassifierRulesCase(
        label: "prep hours missing", yaml: validRules.replacingOccurrences(of: "    prep_hours_before: 2\n", with: ""),
        line: 4, rule: "incident_review", messageFragment: "missing prep_hours_before"),
    InvalidClassifierRulesCase(
        label: "prep hours negative", yaml: validRules(replacingLine: 8, with: "    prep_hours_before: -3"),
        line: 8, rule: "incident_review", messageFragment: "prep_hours_before must be a whole number of hours (0 or more), got -3"
    ),
    InvalidClassifierRulesCase(
        label: "prep hours fractional", yaml: validRules(replacingLine: 8, with: "    prep_hours_before: 2.5"),
        line: 8, rule: "incident_review", messageFragment: "got '2.5'"),
    InvalidClassifierRulesCase(
        label: "prep hours as clock time", yaml: validRules(replacingLine: 8, with: "    prep_hours_before: 1:30"),
        line: 8, rule: "incident_review", messageFragment: "got '1:30'"),
    InvalidClassifierRulesCase(
        label: "prep hours text", yaml: validRules(replacingLine: 8, with: "    prep_hours_before: two"),
        line: 8, rule: "incident_review", messageFragment: "got 'two'"),
    InvalidClassifierRulesCase(
        label: "keywords not a list", yaml: validRules(replacingLine: 6, with: "    keywords: postmortem"),
        line: 6, rule: "incident_review", messageFragment: "keywords must be a list of texts"),
    InvalidClassifierRulesCase(
        label: "empty keyword", yaml: validRules(replacingLine: 6, with: "    keywords: [\"postmortem\", \"  \"]"),
        line: 6, rule: "incident_review", messageFragment: "keywords must contain only non-empty texts"),
    InvalidClassifierRulesCase(
        label: "nested keyword list",
        yaml: validRules(replacingLine: 6, with: "    keywords:\n      - postmortem\n      - [rca]"),
        line: 8, rule: "incident_review", messageFragment: "keywords must contain only non-empty texts"),
    InvalidClassifierRulesCase(
        label: "attendee range inverted", yaml: validRules(replacingLine: 7, with: "    attendee_count: {min: 5, max: 2}"),
        line: 7, rule: "incident_review", messageFragment: "attendee_count min (5) is greater than max (2)"),
    InvalidClassifierRulesCase(
        label: "attendee range unknown key", yaml: validRules(replacingLine: 7, with: "    attendee_count: {minimum: 2}"),
        line: 7, rule: "incident_review", messageFragment: "unknown key `minimum` in `attendee_count`; did you mean `min`?"),
    InvalidClassifierRulesCase(
        label: "required attendees negative", yaml: validRules(replacingLine: 7, with: "    required_attendees_min: -1"),
        line: 7, rule: "incident_review",
        messageFragment: "required_attendees_min must be a whole number of attendees (0 or more), got -1"),
    InvalidClassifierRulesCase(
        label: "no default",
        yaml: validRules.replacingOccurrences(
            of: "  - name: default\n    prep_hours_before: 24",
            with: "  - name: fallback\n    required_attendees_min: 0\n    prep_hours_before: 24"),
        line: 3, rule: "default", messageFragment: "no `default` meeting type"),
    InvalidClassifierRulesCase(
        label: "default with keywords", yaml: validRules + "\n    keywords: [misc]",
        line: 13, rule: "default", messageFragment: "`default` must not have keywords"),
    InvalidClassifierRulesCase(
        label: "default with attendee condition", yaml: validRules + "\n    attendee_count: {max: 3}",
        line: 13, rule: "default", messageFragment: "`default` must not have attendee conditions"),
    InvalidClassifierRulesCase(
        label: "type that matches everything",
        yaml: validRules(replacingLine: 6, with: "    keywords: []").replacingOccurrences(
            of: "    required_attendees_min: 2\n", with: ""),
        line: 4, rule: "incident_review", messageFragment: "would match every meeting"),
    InvalidClassifierRulesCase(
        label: "key given twice", yaml: validRules(replacingLine: 7, with: "    prep_hours_before: 3"),
        line: 8, rule: "incident_review", messageFragment: "`prep_hours_before` appears twice"),
    InvalidClassifierRulesCase(
        label: "tab indentation", yaml: validRules(replacingLine: 9, with: "\tcontext_required: [incidents]"),
        line: 9, rule: "incident_review", messageFragment: "YAML syntax error"),
    InvalidClassifierRulesCase(
        label: "YAML syntax error", yaml: validRules(replacingLine: 6, with: "    keywords: [\"postmortem\", \"rca\""),
        line: 7, rule: "incident_review",
        messageFragment:
            "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence that starts at line 6)"),
]

@Suite("Classifier: rules validation")
struct ClassifierRulesValidationTests {
    @Test("the valid base file loads") func theValidBaseFileLoads() throws {
        let rules = try ClassificationRules.parse(yaml: validRules, source: "team-rules.yaml")
        #expect(rules.meetingTypes.map(\.name) == ["incident_review", "default"])
    }

    @Test("an invalid file is rejected, naming the file, the line and the rule", arguments: invalidRulesCases)
    func invalidFilesAreRejectedWithFileLineAndRule(_ testCase: InvalidClassifierRulesCase) throws {
        let error = try #require(rulesError(testCase.yaml), "\(testCase.label) should have been rejected")
        #expect(error.file == "team-rules.yaml")
        #expect(error.line == testCase.line, "\(error)")
        #expect(error.rule == testCase.rule, "\(error)")
        #expect(error.message.contains(testCase.messageFragment), "\(error)")
        #expect(error.description.hasPrefix("team-rules.yaml:\(testCase.line): [\(testCase.rule)] "), "\(error)")
    }

    @Test("problems outside any meeting type name the file and line") func problemsOutsideAnyMeetingTypeNameTheFileAndLine()
        throws
    {
        let missingReminder = try #require(rulesError(validRules(replacingLine: 2, with: "  reminder_hour_before: 2")))
        #expect(
            missingReminder.description
                == "team-rules.yaml:2: unknown key `reminder_hour_before` in `defaults`; did you mean `reminder_hours_before`?")

        let notAList = try #require(rulesError("defaults:\n  reminder_hours_before: 2\nmeeting_types: none\n"))
        #expect(notAList.line == 3)
        #expect(notAList.rule == nil)

        let empty = try #require(rulesError("# nothing yet\n"))
        #expect(empty.message.contains("empty"))
    }

    @Test("an unreadable file names its path") func unreadableFileNamesThePath() throws {
        let path = "/nonexistent/attache/classifier-rules.yaml"
        let error = try #require(throws: RulesError.self) { try ClassificationRules.load(fileAt: path) }
        #expect(error.file == path)
        #expect(error.description.contains(path))
    }

    @Test("a file loaded from disk reports its path in errors") func loadFromDiskReportsThePathInErrors() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("classifier-rules-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("classifier-rules.yaml")
        try validRules(replacingLine: 8, with: "    prep_hours_before: soon").write(to: file, atomically: true, encoding: .utf8)

        let error = try #require(throws: RulesError.self) { try ClassificationRules.load(fileAt: file.path) }
        #expect(error.description.hasPrefix("\(file.path):8: [incident_review] prep_hours_before must be"))
    }
}
