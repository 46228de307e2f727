import CallAnalysis
import Delivery
import Foundation
import Shared
import Store

/// The results table's side of the cycle: sessions are claimed (a claim id and a lease) before
/// the slow part, and each write is a compare-and-set on the claim, so that two replicas, or a
/// replica that outlived its lease, never store or publish a session twice.
struct Verdicts: Sendable {
    struct Claimed: Sendable {
        var id: UUID
        var claim: UUID
        var call: CallCompleted
        var tenantID: String
        var correlationID: UUID
        var attempts: Int
    }

    struct ClaimedFailure: Sendable {
        var id: UUID
        var claim: UUID
        var call: CallCompleted
        var verdict: SessionVerdict
        var tenantID: String
        var correlationID: UUID
    }

    let pool: PostgresPool
    let outbox: Outbox
    let settings: MonitoringCycle.Settings
    let clock: @Sendable () -> Date

    /// Up to `sessionsPerCycle` sessions to judge, oldest first: not judged yet, or failed
    /// before with attempts left and their wait over.
    func claimForAnalysis() async throws -> [Claimed] {
        let (now, claim, settings) = (clock(), UUID(), settings)
        let rows = try await pool.withConnection { db in
            try db.query(
                """
                UPDATE monitoring.results r SET claim = $2, claimed_until = $1::timestamptz + make_interval(secs => $3),
                    attempts = r.attempts + 1
                FROM (SELECT session_id FROM monitoring.results
                      WHERE (status = 'pending' OR (status = 'error' AND attempts < $4 AND next_attempt_at <= $1))
                        AND (claimed_until IS NULL OR claimed_until < $1)
                      ORDER BY received_at, session_id LIMIT $5 FOR UPDATE SKIP LOCKED) due
                WHERE r.session_id = due.session_id
                RETURNING r.session_id, r.call, r.tenant_id, r.correlation_id, r.attempts, r.received_at
                """,
                [now, claim, settings.lease.secondsValue, settings.attempts, settings.sessionsPerCycle])
        }
        return try rows.sorted {
            try ($0.date("received_at"), $0.string("session_id")) < ($1.date("received_at"), $1.string("session_id"))
        }
        .map { row in
            Claimed(
                id: try row.uuid("session_id"), claim: claim,
                call: try row.decode(CallCompleted.self, column: "call", decoder: MessageCoding.sharedDecoder),
                tenantID: try row.string("tenant_id"), correlationID: try row.uuid("correlation_id"),
                attempts: try row.int("attempts"))
        }
    }

    /// Stores the verdicts and publishes them, in one transaction (a commit per verdict would
    /// bound a cycle that has many); for each, false if its claim was lost meanwhile (nothing
    /// written for it).
    func store(_ judged: [(verdict: SessionVerdict, session: Claimed)]) async throws -> [Bool] {
        guard !judged.isEmpty else { return [] }
        let now = clock()
        let rows = try judged.map { verdict, session in
            let counted = verdict.intents.filter { $0.confidence >= SessionVerdict.confidenceThreshold }
            let confidence = counted.map(\.confidence).max() ?? verdict.intents.map(\.confidence).max()
            let needsDiagnosis = verdict.status == .fail || verdict.status == .partial
            let parameters: [any PostgresBindable] = [
                session.id, session.claim, verdict.status.rawValue, try JSONBValue(verdict), verdict.summary,
                PostgresArray(verdict.intentTypes.map(\.rawValue)), confidence, now, needsDiagnosis ? "pending" : "none",
            ]
            return (parameters, Self.event(verdict, for: session))
        }
        return try await outbox.transaction(pool) { db in
            try rows.map { parameters, event in
                guard
                    try db.execute(
                        """
                        UPDATE monitoring.results SET status = $3, verdict = $4, summary = $5, intent_types = $6::text[],
                            confidence = $7, analysed_at = $8, error = NULL, claim = NULL, claimed_until = NULL,
                            diagnostic_status = $9
                        WHERE session_id = $1 AND claim = $2
                        """, parameters) == 1
                else { return false }
                try outbox.append(event, on: db)
                return true
            }
        }
    }

    private static func event(_ verdict: SessionVerdict, for session: Claimed) -> Envelope<MonitoringResultRecorded> {
        Envelope(
            tenantID: session.tenantID, correlationID: session.correlationID,
            payload: MonitoringResultRecorded(
                sessionID: session.id, meetingID: session.call.meetingID, status: verdict.status.rawValue,
                intents: verdict.intents.map { intent in
                    .init(
                        type: intent.type.rawValue, subject: intent.subject, confidence: intent.confidence,
                        fulfilment: verdict.fulfilments.first { $0.intent == intent.type && $0.subject == intent.subject }?
                            .status.rawValue)
                }, summary: verdict.summary, analyser: verdict.analyser, model: verdict.model,
                promptVersion: verdict.promptVersion))
    }

    /// Marks the session `error` with the reason; a later cycle tries again while attempts
    /// remain. The last failure is final and is published. Returns whether it was.
    func fail(_ session: Claimed, reason: String) async throws -> Bool {
        let (now, settings) = (clock(), settings)
        let final = session.attempts >= settings.attempts
        let event = Envelope(
            tenantID: session.tenantID, correlationID: session.correlationID,
            payload: MonitoringResultRecorded(
                sessionID: session.id, meetingID: session.call.meetingID, status: SessionStatus.error.rawValue, intents: [],
                summary: "The analysis failed \(session.attempts) times; the last time: \(reason)", analyser: "none"))
        return try await outbox.transaction(pool) { db in
            guard
                try db.execute(
                    """
                    UPDATE monitoring.results SET status = 'error', error = $3, analysed_at = $4,
                        next_attempt_at = $4::timestamptz + make_interval(secs => $5), claim = NULL, claimed_until = NULL
                    WHERE session_id = $1 AND claim = $2
                    """, [session.id, session.claim, reason, now, settings.interval.secondsValue]) == 1
            else { return false }
            if final { try outbox.append(event, on: db) }
            return final
        }
    }

    /// Up to `diagnosesPerCycle` failed or partial sessions not diagnosed yet, oldest verdict first.
    func claimForDiagnosis() async throws -> [ClaimedFailure] {
        guard settings.diagnosesPerCycle > 0 else { return [] }
        let (now, claim, settings) = (clock(), UUID(), settings)
        let rows = try await pool.withConnection { db in
            try db.query(
                """
                UPDATE monitoring.results r SET claim = $2, claimed_until = $1::timestamptz + make_interval(secs => $3)
                FROM (SELECT session_id FROM monitoring.results
                      WHERE diagnostic_status = 'pending' AND (claimed_until IS NULL OR claimed_until < $1)
                      ORDER BY analysed_at, session_id LIMIT $4 FOR UPDATE SKIP LOCKED) due
                WHERE r.session_id = due.session_id
                RETURNING r.session_id, r.call, r.verdict, r.tenant_id, r.correlation_id, r.analysed_at
                """, [now, claim, settings.lease.secondsValue, settings.diagnosesPerCycle])
        }
        return try rows.sorted { try $0.date("analysed_at") < $1.date("analysed_at") }.map { row in
            ClaimedFailure(
                id: try row.uuid("session_id"), claim: claim,
                call: try row.decode(CallCompleted.self, column: "call", decoder: MessageCoding.sharedDecoder),
                verdict: try row.decode(SessionVerdict.self, column: "verdict"), tenantID: try row.string("tenant_id"),
                correlationID: try row.uuid("correlation_id"))
        }
    }

    /// Stores the diagnoses and publishes them, in one transaction; for each, false if its claim
    /// was lost meanwhile.
    func store(_ diagnosed: [(diagnosis: Diagnosis, session: ClaimedFailure)]) async throws -> [Bool] {
        guard !diagnosed.isEmpty else { return [] }
        let now = clock()
        let rows = try diagnosed.map { diagnosis, session in
            let parameters: [any PostgresBindable] = [session.id, session.claim, try JSONBValue(diagnosis), now]
            let event = Envelope(
                tenantID: session.tenantID, correlationID: session.correlationID,
                payload: CallDiagnosed(
                    sessionID: session.id, meetingID: session.call.meetingID, status: session.verdict.status.rawValue,
                    rootCauses: diagnosis.kinds.map(\.rawValue), summary: diagnosis.summary,
                    writtenSummary: diagnosis.writtenSummary))
            return (parameters, event)
        }
        return try await outbox.transaction(pool) { db in
            try rows.map { parameters, event in
                guard
                    try db.execute(
                        """
                        UPDATE monitoring.results SET diagnostic_status = 'done', diagnosis = $3, diagnosed_at = $4,
                            claim = NULL, claimed_until = NULL
                        WHERE session_id = $1 AND claim = $2
                        """, parameters) == 1
                else { return false }
                try outbox.append(event, on: db)
                return true
            }
        }
    }
}
