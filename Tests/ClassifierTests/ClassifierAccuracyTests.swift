import Foundation
import TestSupport
import Testing

@testable import ClassificationRules
@testable import Classifier

// Accuracy of the shipped classifier rules against a hand-labelled set of realistic
// calendar entries (Fixtures/labelled-meetings.jsonl, one JSON object per line:
// {"title": …, "description": …, "attendee_count": N, "expected": "<type>"}).
//
// The labels follow the product design's rules: a meeting takes a type only when one of the
// type's keywords is in its title or description and its attendee condition holds (a
// leadership meeting has at least 10 people, a QBR 20, a staff meeting 15, a 1:1 exactly 2),
// so a 4-person "Leadership sync" is labelled `default`. Where a label and the shipped file
// disagree, the design decides which one to change. The figure is a regression bar for the
// shipped file and the matcher, not an estimate for unseen calendars.

private let accuracyRulesPath = TestStack.shippedRulesPath

private let labelledMeetingsPath = Bundle.module.path(forResource: "labelled-meetings", ofType: "jsonl", inDirectory: "Fixtures")!

/// The bar the shipped rules must clear, and the smallest sample a type may have for its
/// share of the accuracy to mean anything.
private let minimumAccuracy = 0.95
private let minimumExamplesPerType = 25
private let minimumExamples = 220

private let accuracyNow = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18, a fixed "now"

struct LabelledMeeting: Sendable, Decodable {
    var title: String
    var description: String
    var attendeeCount: Int
    var expected: String
    /// 1-based line in the fixture file, for error messages.
    var line = 0

    private enum CodingKeys: String, CodingKey {
        case title, description, expected
        case attendeeCount = "attendee_count"
    }

    var facts: MeetingFacts {
        MeetingFacts(
            title: title, description: description, attendeeCount: attendeeCount,
            start: accuracyNow.addingTimeInterval(30 * 24 * 3600))
    }
}

struct LabelledMeetingsError: Error, CustomStringConvertible {
    var description: String
}

/// Reads the labelled set; a line that does not decode fails with its line number.
func loadLabelledMeetings(fileAt path: String = labelledMeetingsPath) throws -> [LabelledMeeting] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let decoder = JSONDecoder()
    var meetings: [LabelledMeeting] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { continue }
        do {
            var meeting = try decoder.decode(LabelledMeeting.self, from: Data(trimmed.utf8))
            meeting.line = index + 1
            meetings.append(meeting)
        } catch {
            throw LabelledMeetingsError(description: "\(path):\(index + 1): not a labelled meeting (\(error))")
        }
    }
    return meetings
}

/// Outcome of classifying the whole labelled set.
struct AccuracyReport {
    struct Miss {
        var meeting: LabelledMeeting
        var got: String
        var rule: String
    }

    var total: Int
    var correct: Int
    var misses: [Miss]
    /// expected type → predicted type → count.
    var confusion: [String: [String: Int]]
    /// Type names in rules-file order, so the summary reads like the file.
    var typeOrder: [String]

    var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    init(rules: ClassificationRules, meetings: [LabelledMeeting]) {
        typeOrder = rules.meetingTypes.map(\.name)
        total = meetings.count
        correct = 0
        misses = []
        confusion = [:]
        for meeting in meetings {
            let result = rules.classify(meeting.facts, now: accuracyNow)
            confusion[meeting.expected, default: [:]][result.meetingType, default: 0] += 1
            if result.meetingType == meeting.expected {
                correct += 1
            } else {
                misses.append(Miss(meeting: meeting, got: result.meetingType, rule: result.rule))
            }
        }
    }

    func examples(of type: String) -> Int { confusion[type]?.values.reduce(0, +) ?? 0 }

    /// `classifier.accuracy: 0.964 (212/220)`, one line per type, then one line per miss.
    var lines: [String] {
        var lines = ["classifier.accuracy: \(Self.threeDecimals(accuracy)) (\(correct)/\(total))"]
        let width = typeOrder.map(\.count).max() ?? 0
        for type in typeOrder {
            let row = confusion[type] ?? [:]
            let examples = row.values.reduce(0, +)
            let hits = row[type] ?? 0
            let predicted = confusion.values.reduce(0) { $0 + ($1[type] ?? 0) }
            let recall = examples == 0 ? 0 : Double(hits) / Double(examples)
            let precision = predicted == 0 ? 0 : Double(hits) / Double(predicted)
            let confusedWith = row.filter { $0.key != type }
                .sorted { ($0.value, $1.key) > ($1.value, $0.key) }
                .map { "\($0.key) \($0.value)" }
            let padded = type.padding(toLength: width, withPad: " ", startingAt: 0)
            var line =
                "classifier.type \(padded)  \(hits)/\(examples)  recall \(Self.threeDecimals(recall))"
                + "  precision \(Self.threeDecimals(precision)) (\(hits)/\(predicted))"
            if !confusedWith.isEmpty { line += "  misclassified as: " + confusedWith.joined(separator: ", ") }
            lines.append(line)
        }
        for miss in misses {
            lines.append(
                "MISS expected=\(miss.meeting.expected) got=\(miss.got) title=\(miss.meeting.title.debugDescription)"
                    + " attendees=\(miss.meeting.attendeeCount) line=\(miss.meeting.line) (\(miss.rule))")
        }
        return lines
    }

    private static func threeDecimals(_ value: Double) -> String {
        String(format: "%.3f", value)
    }
}

@Suite("Classifier: accuracy on labelled meetings")
struct ClassifierAccuracyTests {
    @Test("the shipped rules classify the labelled meetings with at least 95 % accuracy")
    func shippedRulesClassifyTheLabelledMeetingsAccurately() throws {
        let rules = try ClassificationRules.load(fileAt: accuracyRulesPath)
        let meetings = try loadLabelledMeetings()
        let report = AccuracyReport(rules: rules, meetings: meetings)
        // Printed rather than attached to the expectation, so `swift test` shows the
        // figures on every run, not only when the bar is missed.
        print(report.lines.joined(separator: "\n"))

        #expect(
            report.accuracy >= minimumAccuracy,
            "accuracy \(report.correct)/\(report.total) is below \(minimumAccuracy); see the MISS lines above")
    }

    @Test("the labelled set is large enough and uses only known types") func labelledSetIsLargeEnoughAndUsesOnlyKnownTypes()
        throws
    {
        let rules = try ClassificationRules.load(fileAt: accuracyRulesPath)
        let meetings = try loadLabelledMeetings()
        let known = Set(rules.meetingTypes.map(\.name))

        #expect(meetings.count >= minimumExamples, "the labelled set has only \(meetings.count) meetings")
        for meeting in meetings where !known.contains(meeting.expected) {
            let knownList = rules.meetingTypes.map(\.name).joined(separator: ", ")
            Issue.record(
                "labelled-meetings.jsonl:\(meeting.line): unknown type \(meeting.expected.debugDescription); known types are \(knownList)"
            )
        }
        for meeting in meetings where meeting.attendeeCount < 1 {
            Issue.record("labelled-meetings.jsonl:\(meeting.line): attendee_count must be 1 or more (the organiser)")
        }
        let report = AccuracyReport(rules: rules, meetings: meetings)
        for type in rules.meetingTypes.map(\.name) {
            #expect(
                report.examples(of: type) >= minimumExamplesPerType,
                "\(type) has \(report.examples(of: type)) labelled examples; at least \(minimumExamplesPerType) needed")
        }
    }
}
