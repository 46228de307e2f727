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

@Suite("Calendar sync requested by an operator")
struct CalendarSyncRequestTests {
    @Test(
        "sync now brings an active connection's sync forward and wakes the scheduler; a stopped, unknown or other tenant's connection is left alone"
    )
    func syncRequested() async throws {
        try await withCalendarDatabase { pool in
            let outbox = try Outbox(schema: MeetingsSchema.name)
            let store = ConnectionStore(pool: pool, outbox: outbox, vault: nil)
            let active = try await store.ensure(
                tenantID: "acme", owner: "alex@example.com", kind: .ics, name: "Team",
                settings: ConnectionSettings(location: "https://calendars.example/team.ics", timeZone: "UTC"))
            let stopped = try await store.ensure(
                tenantID: "acme", owner: "sam@example.com", kind: .ics, name: "Sam's",
                settings: ConnectionSettings(location: "https://calendars.example/sam.ics", timeZone: "UTC"))
            _ = try await pool.withConnection { db in
                try db.execute("UPDATE calendar.connections SET next_sync_at = now() + interval '1 hour'")
                try db.execute("UPDATE calendar.connections SET status = 'needs_reauth' WHERE id = $1", [stopped])
            }
            let wakeup = WakeSignal()
            _ = wakeup.takePending()
            let handler = CalendarSyncRequestHandler(wakeup: wakeup)
            func request(_ id: UUID, tenant: String = "acme", messageID: UUID = UUID()) async throws {
                let envelope = Envelope(
                    id: messageID, tenantID: tenant, correlationID: UUID(),
                    payload: CalendarSyncRequested(connectionID: id, requestedBy: "console"))
                try await handler.requested(
                    envelope,
                    try HandlerContext(
                        messageID: envelope.id, messageType: CalendarSyncRequested.messageType, pool: pool, outbox: outbox,
                        logger: TestStack.logger))
            }
            func isDue(_ id: UUID) async throws -> Bool {
                try await pool.withConnection {
                    try $0.queryOne("SELECT next_sync_at <= now() AS due FROM calendar.connections WHERE id = $1", [id])!.bool(
                        "due")
                }
            }

            try await request(stopped)
            #expect(try await isDue(stopped) == false, "a connection that needs reauthorising stays stopped")
            #expect(wakeup.takePending() == false)
            try await request(UUID())  // gone: logged and acknowledged, nothing thrown
            try await request(active, tenant: "another-tenant")
            #expect(try await isDue(active) == false, "only the connection's own tenant")
            #expect(wakeup.takePending() == false)

            try await request(active)
            #expect(try await isDue(active))
            #expect(wakeup.takePending(), "the scheduler is woken once the change is committed")
            #expect(try await isDue(stopped) == false)
            let status = try await pool.withConnection {
                try $0.queryOne("SELECT status FROM calendar.connections WHERE id = $1", [stopped])!.string("status")
            }
            #expect(status == "needs_reauth")
        }
    }
}
