import CallAnalysis
import Foundation
import Shared
import Testing

/// The embedded analyser against the labelled sessions. Status agreement: the share of
/// sessions whose status equals the label. Intent agreement: the share of sessions whose set
/// of intent types taken as meant (confidence ≥ 0.5, smalltalk and none included) is exactly
/// the labelled set.
@Suite("Labelled sessions")
struct LabelledSessionsTests {
    @Test("the embedded analyser agrees with at least 90 % of the labelled statuses and intent sets")
    func agreement() throws {
        let labelled = try LabelledSessions.load()
        #expect(labelled.sessions.count >= 120)
        let analyser = EmbeddedAnalyser()
        var statusAgreed = 0
        var intentsAgreed = 0
        var kindsAgreed = 0
        var disagreements: [String] = []
        for session in labelled.sessions {
            let verdict = analyser.verdict(for: labelled.call(session))
            let statusOK = verdict.status == session.expect.status
            let intentsOK = Set(verdict.intentTypes) == Set(session.expect.intents)
            if statusOK { statusAgreed += 1 }
            if intentsOK { intentsAgreed += 1 }
            let kinds = Set(verdict.fulfilments.compactMap(\.failureKind))
            if kinds == Set(session.expect.failures ?? []) {
                kindsAgreed += 1
            } else {
                disagreements.append(
                    "\(session.id): failure kinds \(kinds.map(\.rawValue).sorted()) (label \((session.expect.failures ?? []).map(\.rawValue).sorted()))"
                )
            }
            if !statusOK || !intentsOK {
                disagreements.append(
                    "\(session.id): status \(verdict.status.rawValue) (label \(session.expect.status.rawValue)), intents "
                        + "\(verdict.intentTypes.map(\.rawValue).sorted()) (label \(session.expect.intents.map(\.rawValue).sorted())); "
                        + verdict.summary)
            }
        }
        let count = Double(labelled.sessions.count)
        let statusAgreement = Double(statusAgreed) / count
        let intentAgreement = Double(intentsAgreed) / count
        for line in disagreements { print("monitoring.labelled.disagreement: \(line)") }
        print("monitoring.labelled.sessions: \(labelled.sessions.count)")
        print("monitoring.labelled.status_agreement: \(String(format: "%.2f", statusAgreement))")
        print("monitoring.labelled.intent_agreement: \(String(format: "%.2f", intentAgreement))")
        // Not a target: how often the reasons agree too, for reading alongside the two above.
        print("monitoring.labelled.failure_kind_agreement: \(String(format: "%.2f", Double(kindsAgreed) / count))")
        #expect(statusAgreement >= 0.90)
        #expect(intentAgreement >= 0.90)
    }

    @Test("the labels cover every intent, every failure kind and every status")
    func coverage() throws {
        let labelled = try LabelledSessions.load()
        let intents = Set(labelled.sessions.flatMap(\.expect.intents))
        for intent in IntentTaxonomy.bundledDefault.intents {
            #expect(intents.contains(intent.type), "no labelled session has \(intent.type)")
        }
        let failures = Set(labelled.sessions.flatMap { $0.expect.failures ?? [] })
        for kind in FailureKind.allCases { #expect(failures.contains(kind), "no labelled session fails with \(kind)") }
        let statuses = Set(labelled.sessions.map(\.expect.status))
        for status in SessionStatus.allCases where status != .error {
            #expect(statuses.contains(status), "no labelled session is \(status)")
        }
        #expect(labelled.sessions.contains { $0.turns.allSatisfy { $0[0].hasPrefix("agent") } })
        #expect(labelled.sessions.contains { Set($0.expect.intents).subtracting([.smalltalk]).count >= 2 })
    }
}

extension LabelledSessionsTests {
    /// `CALL_ANALYSIS_EXPLAIN=id,id swift test --filter explain` prints those sessions' verdicts.
    @Test("explains chosen labelled sessions on request")
    func explain() throws {
        guard let wanted = ProcessInfo.processInfo.environment["CALL_ANALYSIS_EXPLAIN"] else { return }
        let labelled = try LabelledSessions.load()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        for session in labelled.sessions where wanted.split(separator: ",").contains(Substring(session.id)) {
            let verdict = EmbeddedAnalyser().verdict(for: labelled.call(session))
            print("== \(session.id)\n" + String(decoding: try encoder.encode(verdict), as: UTF8.self))
        }
    }
}
