import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import PrepOrchestrator

@Suite("Workflow timers against PostgreSQL")
struct WorkflowTimerTests {
    /// A workflow for a meeting at `start`, with both steps due now.
    func insertWorkflow(start: Date, on pool: PostgresPool) async throws {
        let meeting = MeetingSnapshot(
            meetingID: UUID(), revision: 1, source: "ics:test", externalID: UUID().uuidString, title: "Weekly staff meeting",
            description: "", start: start, end: start.addingTimeInterval(1800),
            organizer: Participant(email: "alex@example.com"), attendees: [], conferenceURL: nil)
        try await pool.transaction { db in
            let workflow = UUID()
            try db.execute(
                """
                INSERT INTO prep.workflows (id, meeting_id, tenant_id, correlation_id, traceparent, meeting, meeting_type, prep_questions, state)
                VALUES ($1, $2, 'acme', $3, $4, $5, 'staff_meeting', '[]', 'waiting_for_prep')
                """,
                [
                    workflow, meeting.meetingID, UUID(), TraceContext.newRoot().traceparent,
                    try JSONBValue(meeting, encoder: MessageCoding.encoder()),
                ])
            for step in ["send_prep_notification", "request_bot_join"] {
                try db.execute(
                    "INSERT INTO prep.timers (workflow_id, step, due_at) VALUES ($1, $2, now() - interval '1 second')",
                    [workflow, step])
            }
        }
    }

    @Test("steps that come due too late to help are skipped with their reason; due ones fire once")
    func lateStepsAreSkipped() async throws {
        try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
            let timers = WorkflowTimers(
                pool: pool, outbox: try Outbox(schema: WorkflowSchema.name), wakeup: WakeSignal(), botName: "Attaché",
                pollInterval: .seconds(1), logger: TestStack.logger)
            try await insertWorkflow(start: Date().addingTimeInterval(-3600 * 5), on: pool)  // ended hours ago
            try await insertWorkflow(start: Date().addingTimeInterval(-600), on: pool)  // started 10 minutes ago
            try await insertWorkflow(start: Date().addingTimeInterval(3600), on: pool)  // in an hour
            #expect(try await timers.fireDueTimers() == 6)
            #expect(try await timers.fireDueTimers() == 0, "a fired step never fires again")

            let (outcomes, published) = try await pool.withConnection { db in
                (
                    try db.query("SELECT step, outcome FROM prep.timers ORDER BY step, outcome").map {
                        "\(try $0.string("step")): \(try $0.string("outcome"))"
                    },
                    try db.query("SELECT message_type FROM prep.outbox ORDER BY message_type").map {
                        try $0.string("message_type")
                    }
                )
            }
            #expect(
                outcomes == [
                    "request_bot_join: done", "request_bot_join: done",
                    "request_bot_join: skipped: the meeting has already ended",
                    "send_prep_notification: done", "send_prep_notification: skipped: the meeting has already started",
                    "send_prep_notification: skipped: the meeting has already started",
                ])
            #expect(published == ["bot.join.requested.v1", "bot.join.requested.v1", "prep.notification.sent.v1"])
        }
    }
}
