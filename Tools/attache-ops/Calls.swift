import CallAnalysis
import Foundation
import OpsConsole
import Shared
import Store

/// `attache-ops calls list|show|reanalyse`: the post-call review as monitoring-worker keeps it.
struct Calls {
    let pool: PostgresPool

    func list(status: String?, limit: Int) async throws {
        let calls = try await OpsQueries(pool: pool).calls(status: status, limit: limit)
        if calls.isEmpty { print("no calls") }
        for call in calls {
            let confidence = call.confidence.map { String(format: " %.2f", $0) } ?? ""
            print(
                "\(call.sessionID.uuidString.lowercased())  \(call.receivedAt.formatted(.iso8601))  "
                    + "\(call.status)  \(call.intents.isEmpty ? "-" : call.intents.joined(separator: ","))\(confidence)"
                    + (call.diagnosed ? "  (diagnosed)" : ""))
            if let summary = call.summary { print("    \(summary)") }
        }
    }

    /// The call's turns with their latency, what people wanted, the verdict and the diagnosis.
    func show(_ session: UUID) async throws -> Bool {
        try await pool.withConnection { db in
            guard let row = try db.queryOne("SELECT * FROM monitoring.results WHERE session_id = $1", [session]) else {
                return false
            }
            let call = try row.decode(CallCompleted.self, column: "call", decoder: MessageCoding.decoder())
            print(
                "call session \(session) of meeting \(call.meetingID), \(call.startedAt.formatted(.iso8601)) to "
                    + call.endedAt.formatted(.iso8601))
            print("\nturns")
            for (index, turn) in call.turns.enumerated() {
                let latency = turn.latency?.firstAudioOut.map { String(format: "  [%.0f ms]", $0) } ?? ""
                let cut = turn.interrupted == true ? "  (cut off)" : ""
                print("  \(index). \(turn.speaker): \(turn.text)\(latency)\(cut)")
            }
            for problem in call.problems ?? [] { print("  problem  \(problem.kind): \(problem.detail)") }
            print("\nstatus    \(try row.string("status")) after \(try row.int("attempts")) attempt(s)")
            if let error = try row.optionalString("error") { print("error     \(error)") }
            if try row.optionalString("verdict") != nil {
                let verdict = try row.decode(SessionVerdict.self, column: "verdict")
                print("verdict   \(verdict.summary)  (\(verdict.analyser)\(verdict.model.map { ", \($0)" } ?? ""))")
                for intent in verdict.intents {
                    print(
                        "  intent  \(intent.type)\(intent.subject.map { " (\($0))" } ?? "")"
                            + String(format: " %.2f", intent.confidence) + " from turns \(intent.turns)")
                }
                for fulfilment in verdict.fulfilments {
                    let kind = fulfilment.failureKind.map { " \($0.rawValue)" } ?? ""
                    print("  \(fulfilment.status.rawValue)\(kind)  \(fulfilment.intent): \(fulfilment.reason)")
                }
            }
            if try row.optionalString("diagnosis") != nil {
                let diagnosis = try row.decode(Diagnosis.self, column: "diagnosis")
                print("diagnosis \(diagnosis.summary)")
                for cause in diagnosis.rootCauses {
                    print("  cause   \(cause.kind.rawValue): \(cause.summary)")
                    for line in cause.evidence { print("          \(line)") }
                }
                if let written = diagnosis.writtenSummary { print("  written \(written)") }
            }
            return true
        }
    }

    /// Clears the session's verdict and diagnosis so that the next cycle judges it again.
    func reanalyse(_ session: UUID) async throws -> Bool {
        try await pool.withConnection { db in
            try db.execute(
                """
                UPDATE monitoring.results SET status = 'pending', attempts = 0, next_attempt_at = NULL, claim = NULL,
                    claimed_until = NULL, intent_types = '{}', confidence = NULL, verdict = NULL, summary = NULL,
                    error = NULL, analysed_at = NULL, diagnostic_status = 'none', diagnosis = NULL, diagnosed_at = NULL
                WHERE session_id = $1
                """, [session]) == 1
        }
    }
}
