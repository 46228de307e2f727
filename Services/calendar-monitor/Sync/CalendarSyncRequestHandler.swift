import Delivery
import Foundation
import Logging
import Shared

/// An operator's "sync now" (from the console) makes that connection due now, or, while it
/// syncs, right after that sync (`ConnectionStore.recordSuccess`). A connection that
/// is gone, of another tenant or stopped (`needs_reauth`) is left alone: the request is logged
/// and acknowledged, since syncing it again would not help and there is nothing to retry.
struct CalendarSyncRequestHandler: Sendable {
    let wakeup: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(CalendarSyncRequested.self, batching: .sharedTransaction, requested)
    }

    func requested(_ envelope: Envelope<CalendarSyncRequested>, _ context: HandlerContext) async throws {
        let request = envelope.payload
        let tenant = envelope.tenantID
        let found = try await context.once { db in
            try ConnectionStore.requestSync(connectionID: request.connectionID, tenantID: tenant, on: db)
        }
        let metadata: [String: Logger.MetadataValue] = [
            "connection": "\(request.connectionID.uuidString.lowercased())", "requested_by": "\(request.requestedBy)",
        ]
        switch found {
        case true?:
            context.logger.info("sync requested", metadata: metadata)
            context.afterCommit { [wakeup] in wakeup.wake() }
        case false?:
            context.logger.notice("sync requested for no active connection: left alone", metadata: metadata)
        case nil:
            break  // handled before: its sync was brought forward then
        }
    }
}
