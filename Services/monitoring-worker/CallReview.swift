import Delivery
import Foundation
import Shared
import Store

/// Keeps each completed call once, as it was reported, for the monitoring cycle to judge: the
/// handler only stores, so that an analyser's outage never holds up the queue.
struct CallReview: Sendable {
    func register(in routes: inout EventRoutes) {
        routes.on(CallCompleted.self, callCompleted)
    }

    func callCompleted(_ envelope: Envelope<CallCompleted>, _ context: HandlerContext) async throws {
        let call = envelope.payload
        let stored = JSONBValue(encoded: try MessageCoding.encode(call))
        try await context.once { db in
            // One row per session, even if the same call is reported under a new message id.
            try db.execute(
                """
                INSERT INTO monitoring.results (session_id, meeting_id, tenant_id, correlation_id, call, received_at)
                VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING
                """,
                [call.sessionID, call.meetingID, envelope.tenantID, envelope.correlationID, stored, envelope.occurredAt])
        }
    }
}
