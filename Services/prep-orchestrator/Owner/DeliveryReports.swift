import Delivery
import Foundation
import Shared
import Store

/// What channels report about messages after taking them: Twilio's status callbacks, verified
/// by bot-gateway. `delivered` confirms the delivery; `failed` or `undelivered` bounces it and
/// makes `continue_delivery` due, which sends it on through the rest of its chain. A recipient
/// who replied STOP (error 21610) is remembered and not texted again. A report about a message
/// Attaché did not send, a duplicate, or one that comes after the chain moved on changes nothing.
struct DeliveryReports: Sendable {
    let wakeup: WakeSignal

    func register(in routes: inout EventRoutes) {
        routes.on(SMSStatusReceived.self, batching: .sharedTransaction, smsStatus)
    }

    func smsStatus(_ envelope: Envelope<SMSStatusReceived>, _ context: HandlerContext) async throws {
        let report = envelope.payload
        guard report.isFailure || report.status == "delivered", let delivery = report.deliveryID else { return }
        let bounced = try await context.once { db -> Bool in
            // Twilio's SID is the delivery's reference once recorded; a report can beat that write.
            let matches = "id = $1 AND chain[position + 1] = 'sms' AND (reference IS NULL OR reference = $2)"
            guard report.isFailure else {
                try db.execute(
                    "UPDATE prep.deliveries SET state = 'delivered', updated_at = now() WHERE \(matches) AND state = 'sent'",
                    [delivery, report.messageSID])
                return false
            }
            let failure = "sms: Twilio reported the text \(report.status)" + (report.errorCode.map { " (error \($0))" } ?? "")
            guard
                let row = try db.queryOne(
                    """
                    UPDATE prep.deliveries SET state = 'bounced', failures = failures || $3::text, updated_at = now()
                    WHERE \(matches) AND state IN ('sending', 'sent', 'delivered')
                    RETURNING workflow_id, message->>'tenant' AS tenant
                    """, [delivery, report.messageSID, failure])
            else { return false }
            if report.errorCode == 21610, let phone = report.to {
                try SMSChannel.recordOptOut(phone, tenant: try row.string("tenant"), on: db)
            }
            try StepEffects.schedule(.continueDelivery, workflow: try row.uuid("workflow_id"), at: Date(), on: db)
            return true
        }
        if bounced == true { context.afterCommit { [wakeup] in wakeup.wake() } }
    }
}
