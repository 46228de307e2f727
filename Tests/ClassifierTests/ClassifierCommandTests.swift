import Foundation
import TestSupport
import Testing

/// The classifier's own command line: a rules file that does not load stops it at start, and
/// `classifier classify` tries a rules file on meetings given as JSON lines.
@Suite("Classifier command line")
struct ClassifierCommandTests {
    @Test("a rules file that does not load stops the classifier, naming the file, the line and the rule")
    func brokenRulesFile() async throws {
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent(
            "team-rules-\(UUID().uuidString.prefix(6)).yaml")
        try """
        defaults:
          reminder_hours_before: 2
        meeting_types:
          - name: qbr
            keywords: ["QBR"]
            prep_hour_before: 336
          - name: default
            prep_hours_before: 24
        """.write(to: rules, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: rules) }
        let process = try ServiceBinaries.start("classifier", environment: ["ATTACHE_CLASSIFIER_RULES": rules.path])
        let status = await process.exitStatus(within: .seconds(60))
        #expect(status == 78, "\(process.output)")
        #expect(process.output.contains("ATTACHE_CLASSIFIER_RULES"))
        #expect(process.output.contains("\(rules.lastPathComponent):6"), "\(process.output)")
        #expect(process.output.contains("qbr"), "\(process.output)")
        #expect(process.output.contains("prep_hour_before"), "\(process.output)")
    }

    @Test("`classifier classify` reads meetings as JSON lines and prints one classification per line, as of `--now`")
    func classifyCommand() async throws {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("meetings-\(UUID().uuidString.prefix(6)).jsonl")
        try """
        {"title": "Q3 QBR with Globex", "attendee_count": 24, "start": "2026-12-10T10:00:00Z"}
        {"title": "Sam / Alex 1:1", "attendee_count": 2, "start": "2026-11-01T10:00:00Z"}
        not json
        {"title": "Lunch", "attendee_count": 9, "start": "2026-12-10T10:00:00Z"}
        """.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try await classify(input, arguments: "--now 2026-11-01T00:00:00Z")
        #expect(run.status == 1, "a malformed line makes the exit status 1")
        #expect(run.lines.count == 4, "one output line per input line")
        #expect(run.lines[0].contains(#""type":"qbr""#))
        #expect(run.lines[0].contains(#""prep_trigger_at":"2026-11-26T10:00:00Z""#), "336 hours before the start")
        #expect(run.lines[1].contains(#""type":"one_on_one""#))
        #expect(run.lines[1].contains(#""prep_trigger_at":"2026-11-01T00:00:00Z""#), "24 hours before has passed: now")
        #expect(run.lines[2].contains(#""error""#))
        #expect(run.lines[3].contains(#""type":"default""#))
        #expect(run.errors.contains("line 3"))
    }

    @Test("`classifier classify` refuses a `--now` that is not a time, naming the option")
    func classifyCommandBadNow() async throws {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("meetings-\(UUID().uuidString.prefix(6)).jsonl")
        try #"{"title": "Sam / Alex 1:1", "attendee_count": 2}"#.write(to: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try await classify(input, arguments: "--now yesterday")
        #expect(run.status == 64)
        #expect(run.lines.isEmpty)
        #expect(run.errors.contains("--now must be an ISO 8601 time"))
    }

    /// Runs `classifier classify ARGUMENTS < input` from the repository root (where the shipped
    /// rules file is found by its default path).
    private func classify(_ input: URL, arguments: String) async throws -> (status: Int32, lines: [Substring], errors: String) {
        let classifier = try ServiceBinaries.path("classifier")
        let root = TestStack.repositoryRoot
        let output = input.path + ".out"
        let errors = input.path + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: errors)
        }
        let status = try await ChildProcess.shell(
            "cd '\(root.path)' && '\(classifier)' classify \(arguments) < '\(input.path)' > '\(output)' 2> '\(errors)'")
        return (
            status, try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n"),
            try String(contentsOfFile: errors, encoding: .utf8)
        )
    }
}
