import Delivery
import Foundation
@testable import RealtimeWorker
import Shared
import Store
import TestSupport
import Testing

@Suite("Call lifecycle out of order")
struct CallOrderingTests {
    @Test("a call whose end arrives before its start is reported once, and the late start does not reopen it")
    func endBeforeStart() async throws {
        let url = try await TestDatabase.create()
        let pool = PostgresPool(url: url, size: 2)
        try await Migrator.migrate(pool, schema: SessionsSchema.name, migrations: DeliveryMigrations.all + SessionsSchema.migrations, logger: TestStack.logger)
        let registry = PipelineRegistry()
        let handlers = CallHandlers(registry: registry)
        let outbox = try Outbox(schema: SessionsSchema.name)
        let meeting = UUID()
        let started = Date(timeIntervalSince1970: 1_796_896_800)
        func deliver(_ status: BotStatus, at date: Date) async throws {
            let envelope = Envelope(
                tenantID: "acme", correlationID: meeting,
                payload: BotStatusChanged(meetingID: meeting, botID: "bot-1", provider: "simulated", status: status, subCode: nil, changedAt: date))
            try await handlers.statusChanged(
                envelope,
                try HandlerContext(messageID: envelope.id, messageType: BotStatusChanged.messageType, pool: pool, outbox: outbox, logger: TestStack.logger))
        }
        try await deliver(.callEnded, at: started.addingTimeInterval(1800))
        try await deliver(.inCallRecording, at: started)  // a retry that lost the race
        try await deliver(.callEnded, at: started.addingTimeInterval(1800))  // the provider resending

        let completed = try await pool.withConnection { db in
            try db.query("SELECT message_type FROM realtime.outbox").map { try $0.string("message_type") }
        }
        #expect(completed == ["call.completed.v1"])
        #expect(await registry.pipeline(forMeeting: meeting) == nil, "no pipeline for a call that has ended")
        let ended = try await pool.withConnection { try $0.queryOne("SELECT ended_at FROM realtime.sessions")!.optionalDate("ended_at") }
        #expect(ended != nil)
        try await TestDatabase.drop(url)
    }
}
