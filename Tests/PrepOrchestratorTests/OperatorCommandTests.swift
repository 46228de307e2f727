import Foundation
import TestSupport
import Testing

@testable import PrepOrchestrator

/// `attache-ops workflows`, as an operator runs it.
@Suite("Operator commands for workflows")
struct OperatorCommandTests {
    func attacheOps(_ arguments: String, database: String) async throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID()).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try await ChildProcess.shell(
            "ATTACHE_DATABASE_URL='\(database)' '\(try ServiceBinaries.path("attache-ops"))' workflows \(arguments) > '\(output)' 2>&1"
        )
        return (status, try String(contentsOfFile: output, encoding: .utf8))
    }

    @Test("workflows list filters by state; show gives each step with its attempts and outcome, and each context branch")
    func listAndShow() async throws {
        try await withPrep { prep in
            let waiting = classification(title: "Waiting for Alex")
            let sent = classification(title: "Already prepared", startsIn: 20 * 60)
            try await prep.classify(waiting)
            try await prep.classify(sent)
            try await prep.settle()

            let listed = try await attacheOps("list --state waiting_for_owner", database: prep.pool.url)
            #expect(listed.status == 0)
            #expect(listed.output.contains("“Waiting for Alex”") && !listed.output.contains("Already prepared"))

            let shown = try await attacheOps("show \(sent.meeting.meetingID)", database: prep.pool.url)
            #expect(shown.status == 0, "\(shown.output)")
            for line in [
                "state     materials_sent", "send_prep_notification   skipped: too close to the meeting to ask the owner",
                "decisions: unavailable:", "budget: 1 item(s)", "materials 1:", "message   materials via local",
            ] {
                #expect(shown.output.contains(line), "\(line) in\n\(shown.output)")
            }
            #expect(shown.output.contains("generate_materials       done  attempts 1"))
            #expect(try await attacheOps("show \(UUID())", database: prep.pool.url).status == 1)
        }
    }
}
