import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import BotGateway

@Suite("Google push receipts against PostgreSQL")
struct GooglePushStoreTests {
    @Test("records once per (channel, message number) and publishes through the outbox")
    func dedupes() async throws {
        try await TestDatabase.with(schema: GatewaySchema.name, migrations: GatewaySchema.migrations) { pool in
            let store = GooglePushStore(pool: pool, outbox: try Outbox(schema: GatewaySchema.name), tenantID: "acme")
            let channel = "f3c0b0de-5d1e-4c3a-9b7e-2f6a1d9c8e70"
            func push(_ n: Int?, _ state: String = "exists") -> CalendarPushReceived {
                CalendarPushReceived(
                    provider: "google", channelID: channel, resourceID: "r", resourceState: state, messageNumber: n)
            }
            #expect(try await store.record(push(1, "sync")))
            #expect(try await store.record(push(2)))
            #expect(try await store.record(push(2)) == false)
            #expect(try await store.record(push(nil)))
            let rows = try await pool.withConnection { db in
                try db.query("SELECT message_type, body FROM gateway.outbox ORDER BY position").map {
                    (try $0.string("message_type"), try $0.string("body"))
                }
            }
            #expect(rows.count == 3)
            #expect(rows.allSatisfy { $0.0 == "calendar.push.received.v1" })
            let envelope = try MessageCoding.decode(Envelope<CalendarPushReceived>.self, from: Array(rows[1].1.utf8))
            #expect(envelope.tenantID == "acme")
            #expect(envelope.correlationID == UUID(uuidString: channel))
            #expect(envelope.payload == push(2))
            let receipts = try await pool.withConnection { db in
                try db.queryOne("SELECT count(*) AS n FROM gateway.google_push_receipts")!.int("n")
            }
            #expect(receipts == 2)
        }
    }
}
