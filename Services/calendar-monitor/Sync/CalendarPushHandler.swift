import Delivery
import Foundation
import Shared

/// A push notification (relayed by bot-gateway) makes the watched calendar's connection due now.
struct CalendarPushHandler: Sendable {
    let wakeup: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(CalendarPushReceived.self, batching: .sharedTransaction, pushed)
    }

    func pushed(_ envelope: Envelope<CalendarPushReceived>, _ context: HandlerContext) async throws {
        let push = envelope.payload
        // "sync" only confirms that a new channel is open: nothing changed yet.
        guard push.resourceState != "sync" else { return }
        let found = try await context.once { db in try ConnectionStore.requestSync(channelID: push.channelID, on: db) }
        if found == false {
            context.logger.notice(
                "push notification for a channel no connection watches", metadata: ["channel": "\(push.channelID)"])
        }
        context.afterCommit { [wakeup] in wakeup.wake() }
    }
}
