import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import CalendarMonitor

@Suite("Calendar push notifications")
struct CalendarPushTests {
    @Test("a change notification makes the watched calendar due now; the channel's opening ping does not")
    func pushMakesConnectionDue() async throws {
        try await withCalendarDatabase { pool in
            let outbox = try Outbox(schema: MeetingsSchema.name)
            let store = ConnectionStore(pool: pool, outbox: outbox, vault: nil)
            let watched = try await store.ensure(
                tenantID: "acme", owner: "alex@example.com", kind: .google, name: "Work",
                settings: ConnectionSettings(calendarID: "primary", channelID: "channel-1"))
            let other = try await store.ensure(
                tenantID: "acme", owner: "sam@example.com", kind: .google, name: "Sam's work",
                settings: ConnectionSettings(calendarID: "primary", channelID: "channel-2"))
            _ = try await pool.withConnection {
                try $0.execute("UPDATE calendar.connections SET next_sync_at = now() + interval '1 hour'")
            }
            let wakeup = WakeSignal()
            let handler = CalendarPushHandler(wakeup: wakeup)
            func push(_ state: String, channel: String = "channel-1") async throws {
                let envelope = Envelope(
                    tenantID: "acme", correlationID: UUID(),
                    payload: CalendarPushReceived(
                        provider: "google", channelID: channel, resourceID: "r", resourceState: state, messageNumber: 1))
                try await handler.pushed(
                    envelope,
                    try HandlerContext(
                        messageID: envelope.id, messageType: CalendarPushReceived.messageType, pool: pool, outbox: outbox,
                        logger: TestStack.logger))
            }
            func isDue(_ id: UUID) async throws -> Bool {
                try await pool.withConnection {
                    try $0.queryOne("SELECT next_sync_at <= now() AS due FROM calendar.connections WHERE id = $1", [id])!.bool(
                        "due")
                }
            }
            try await push("sync")
            #expect(try await isDue(watched) == false, "opening a channel changes nothing")
            try await push("exists")
            #expect(try await isDue(watched))
            #expect(try await isDue(other) == false, "only the watched calendar")
            try await push("exists", channel: "channel-unknown")  // a stale channel: logged, no harm
        }
    }
}
