import Delivery
import Foundation
import Shared
import Store

/// Reviews each completed call once. The verdict is a placeholder, and says so, until the
/// intent-versus-fulfilment analysis exists.
struct CallReview: Sendable {
    static let placeholderVerdict = "pending_analysis"

    func register(in routes: inout EventRoutes) {
        routes.on(CallCompleted.self, callCompleted)
    }

    func callCompleted(_ envelope: Envelope<CallCompleted>, _ context: HandlerContext) async throws {
        let call = envelope.payload
        let result = MonitoringResultRecorded(
            sessionID: call.sessionID, meetingID: call.meetingID, verdict: Self.placeholderVerdict, isPlaceholder: true,
            summary: Self.summary(of: call))
        let outbox = context.outbox
        try await context.once { db in
            // One result per session, even if the same call is reported under a new message id.
            let inserted = try db.execute(
                """
                INSERT INTO monitoring.results (id, session_id, meeting_id, verdict, is_placeholder, summary, turn_count)
                VALUES ($1, $2, $3, $4, true, $5, $6) ON CONFLICT (session_id) DO NOTHING
                """, [UUID(), call.sessionID, call.meetingID, result.verdict, result.summary, call.turns.count])
            guard inserted == 1 else { return }
            try outbox.append(Envelope(result, causedBy: envelope), on: db)
        }
    }

    static func summary(of call: CallCompleted) -> String {
        let speakers = Set(call.turns.map(\.speaker)).count
        let minutes = call.endedAt.timeIntervalSince(call.startedAt) / 60
        return "Placeholder, not an analysis: \(call.turns.count) turns from \(speakers) speakers over "
            + String(format: "%.1f", minutes)
            + " minutes were recorded; whether the agent fulfilled the caller's intent is not assessed yet."
    }
}
