import ClassificationRules
import Foundation

/// `classifier classify [--now TIME]`: reads meetings as JSON lines on standard input and prints
/// one classification per line, for trying a rules file before deploying it. `--now` (ISO 8601)
/// replaces the clock, so that a trigger that has passed reads the same on any day.
enum ClassifyCommand {
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// The time `--now` names, or the clock's when it is absent.
    static func now(arguments: [String]) throws(UsageError) -> Date {
        switch arguments.count {
        case 0:
            return Date()
        case 2 where arguments[0] == "--now":
            guard let now = ISO8601DateFormatter().date(from: arguments[1]) else {
                throw UsageError(description: "--now must be an ISO 8601 time such as 2026-12-01T09:00:00Z, not \(arguments[1])")
            }
            return now
        default:
            throw UsageError(description: "usage: classifier classify [--now 2026-12-01T09:00:00Z] < meetings.jsonl")
        }
    }

    struct Input: Decodable {
        var title: String
        var description: String?
        var attendeeCount: Int?
        var start: Date?

        enum CodingKeys: String, CodingKey {
            case title, description, start
            case attendeeCount = "attendee_count"
        }
    }

    struct Output: Encodable {
        var meetingType: String
        var rule: String
        var matchedKeywords: [String]
        var prepTriggerAt: Date

        enum CodingKeys: String, CodingKey {
            case rule
            case meetingType = "type"
            case matchedKeywords = "matched_keywords"
            case prepTriggerAt = "prep_trigger_at"
        }
    }

    /// Returns the exit status: 0, or 1 if any line could not be read (reported on stderr, with
    /// its line number, and answered with an error object so that lines stay aligned).
    static func run(rules: ClassificationRules, now: Date, input: FileHandle = .standardInput) -> Int32 {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var status: Int32 = 0
        for (index, line) in String(decoding: input.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                let meeting = try decoder.decode(Input.self, from: Data(line.utf8))
                let result = rules.classify(
                    MeetingFacts(
                        title: meeting.title, description: meeting.description ?? "",
                        attendeeCount: meeting.attendeeCount ?? 0, start: meeting.start ?? now),
                    now: now)
                let output = Output(
                    meetingType: result.meetingType, rule: result.rule, matchedKeywords: result.matchedKeywords,
                    prepTriggerAt: result.prepTriggerAt)
                print(String(decoding: try encoder.encode(output), as: UTF8.self))
            } catch {
                status = 1
                FileHandle.standardError.write(Data("line \(index + 1): \(error)\n".utf8))
                print(
                    #"{"error":"line \#(index + 1) is not a meeting: expected {\"title\", \"description\", \"attendee_count\", \"start\"}"}"#
                )
            }
        }
        return status
    }
}
