import Delivery
import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import ClassificationRules
@testable import Classifier

/// Events about one meeting can arrive out of order (a retry overtaken by a later change). The
/// classifier applies only newer revisions, and a cancellation stays a cancellation.
@Suite("Event ordering")
struct EventOrderingTests {
    struct Classifier {
        let pool: PostgresPool
        let outbox: Outbox
        let handlers: ClassificationHandlers

        func deliver<P: EventPayload>(_ payload: P) async throws {
            let envelope = Envelope(tenantID: "acme", correlationID: UUID(), payload: payload)
            let context = try HandlerContext(
                messageID: envelope.id, messageType: P.messageType, pool: pool, outbox: outbox, logger: TestStack.logger)
            if let upsert = envelope as? Envelope<MeetingUpserted> { try await handlers.upserted(upsert, context) }
            if let cancel = envelope as? Envelope<MeetingCancelled> { try await handlers.cancelled(cancel, context) }
        }

        func published() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query("SELECT message_type FROM classifier.outbox ORDER BY position").map { try $0.string("message_type") }
            }
        }

        func classifiedStart(_ id: UUID) async throws -> Date? {
            try await pool.withConnection { db in
                try db.queryOne("SELECT meeting, cancelled FROM classifier.classifications WHERE meeting_id = $1", [id])
                    .map { try $0.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.decoder()).start }
            }
        }
    }

    func meeting(_ id: UUID, revision: Int, hour: Int) -> MeetingSnapshot {
        let start = Date(timeIntervalSince1970: 1_796_896_800 + Double((hour - 10) * 3600))  // 2026-12-10 hour:00Z
        return MeetingSnapshot(
            meetingID: id, revision: revision, source: "ics:test", externalID: id.uuidString, title: "Weekly staff meeting",
            description: "", start: start, end: start.addingTimeInterval(1800),
            organizer: Participant(email: "alex@example.com"),
            attendees: [Participant(email: "sam@example.com"), Participant(email: "priya@example.com")], conferenceURL: nil)
    }

    @Test("a stale upsert does not undo a later change, and a cancellation is not undone by an older upsert")
    func staleEventsAreRefused() async throws {
        try await TestDatabase.with(schema: ClassificationsSchema.name, migrations: ClassificationsSchema.migrations) { pool in
            let rules = try ClassificationRules.load(fileAt: TestStack.shippedRulesPath)
            let classifier = Classifier(
                pool: pool, outbox: try Outbox(schema: ClassificationsSchema.name), handlers: ClassificationHandlers(rules: rules)
            )

            // Moved from 10:00 (revision 1) to 11:00 (revision 2); the 10:00 upsert arrives last.
            let moved = UUID()
            try await classifier.deliver(
                MeetingUpserted(meeting: meeting(moved, revision: 2, hour: 11), isNew: false, changedFields: ["start"]))
            try await classifier.deliver(
                MeetingUpserted(meeting: meeting(moved, revision: 1, hour: 10), isNew: true, changedFields: []))
            #expect(try await classifier.classifiedStart(moved) == meeting(moved, revision: 2, hour: 11).start)
            #expect(try await classifier.published() == ["meeting.classified.v1"])

            // Created (revision 1) then cancelled (revision 2); the creation arrives after the cancellation.
            let cancelled = UUID()
            try await classifier.deliver(
                MeetingCancelled(
                    meetingID: cancelled, revision: 2, source: "ics:test", externalID: "x", reason: "cancelled in the calendar"))
            try await classifier.deliver(
                MeetingUpserted(meeting: meeting(cancelled, revision: 1, hour: 10), isNew: true, changedFields: []))
            #expect(
                try await classifier.classifiedStart(cancelled) == nil, "a cancelled meeting must not be classified by late news")
            #expect(try await classifier.published() == ["meeting.classified.v1"])

            // In order, the cancellation goes out with the meeting's revision.
            try await classifier.deliver(
                MeetingCancelled(
                    meetingID: moved, revision: 3, source: "ics:test", externalID: "x", reason: "cancelled in the calendar"))
            #expect(try await classifier.published() == ["meeting.classified.v1", "classification.cancelled.v1"])
        }
    }
}
