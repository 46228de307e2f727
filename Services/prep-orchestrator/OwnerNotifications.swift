import Delivery
import Foundation
import Shared

/// Notifications that are not about one meeting's preparation: today, a calendar whose owner
/// must connect it again. They go to the same channel as prep notifications.
struct OwnerNotifications: Sendable {
    func register(in routes: inout EventRoutes) {
        routes.on(CalendarReauthorisationNeeded.self, batching: .sharedTransaction, reauthorisationNeeded)
    }

    func reauthorisationNeeded(_ envelope: Envelope<CalendarReauthorisationNeeded>, _ context: HandlerContext) async throws {
        let event = envelope.payload
        let text =
            "Your \(event.provider) calendar “\(event.calendarName)” stopped syncing (\(event.reason)). "
            + "Connect it again so that your meetings keep being prepared."
        _ = try await context.once { db in
            try db.execute(
                """
                INSERT INTO prep.notifications (id, workflow_id, kind, channel, recipient, text)
                VALUES ($1, NULL, 'calendar_reauthorisation', 'local', $2, $3)
                """, [UUID(), event.owner, text])
        }
    }
}
