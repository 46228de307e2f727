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

        func deliver(batch payloads: [MeetingUpserted]) async throws {
            let envelopes = payloads.map { Envelope(tenantID: "acme", correlationID: UUID(), payload: $0) }
            try await handlers.upserted(
                envelopes,
                try BatchContext(
                    messageType: MeetingUpserted.messageType, messageIDs: envelopes.map(\.id), pool: pool, outbox: outbox,
                    logger: TestStack.logger))
        }

        /// What downstream services would receive: each event's type and meeting (with its start).
        func publishedEvents() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query(
                    "SELECT message_type, body::jsonb #>> '{payload,meeting,meeting_id}' AS meeting, body::jsonb #>> '{payload,meeting,start}' AS start FROM classifier.outbox ORDER BY position"
                )
                .map {
                    "\(try $0.string("message_type")) \(try $0.optionalString("meeting") ?? "-") \(try $0.optionalString("start") ?? "-")"
                }
            }
        }

        func stored() async throws -> [String] {
            try await pool.withConnection { db in
                try db.query(
                    "SELECT meeting_id, meeting_type, meeting->>'start' AS start, cancelled FROM classifier.classifications ORDER BY meeting_id"
                )
                .map {
                    "\(try $0.uuid("meeting_id")) \(try $0.string("meeting_type")) \(try $0.string("start")) \(try $0.bool("cancelled"))"
                }
            }
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

    @Test("a batch of upserts has exactly the effects of its messages handled one by one")
    func batchMatchesOneByOne() async throws {
        let rules = try ClassificationRules.load(fileAt: TestStack.shippedRulesPath)
        let (known, twice, stale, fresh) = (UUID(), UUID(), UUID(), UUID())
        // Already handled before the burst: `known` at 10:00 and `stale` at revision 3.
        let before = [
            MeetingUpserted(meeting: meeting(known, revision: 1, hour: 10), isNew: true, changedFields: []),
            MeetingUpserted(meeting: meeting(stale, revision: 3, hour: 14), isNew: true, changedFields: []),
        ]
        let burst = [
            MeetingUpserted(meeting: meeting(twice, revision: 1, hour: 9), isNew: true, changedFields: []),
            MeetingUpserted(meeting: meeting(known, revision: 2, hour: 10), isNew: false, changedFields: ["description"]),
            MeetingUpserted(meeting: meeting(stale, revision: 2, hour: 15), isNew: false, changedFields: ["start"]),
            MeetingUpserted(meeting: meeting(fresh, revision: 1, hour: 16), isNew: true, changedFields: []),
            MeetingUpserted(meeting: meeting(twice, revision: 2, hour: 12), isNew: false, changedFields: ["start"]),
        ]
        func outcome(batched: Bool) async throws -> (stored: [String], published: [String]) {
            try await TestDatabase.with(schema: ClassificationsSchema.name, migrations: ClassificationsSchema.migrations) {
                pool in
                let classifier = Classifier(
                    pool: pool, outbox: try Outbox(schema: ClassificationsSchema.name),
                    handlers: ClassificationHandlers(rules: rules))
                for payload in before { try await classifier.deliver(payload) }
                if batched {
                    try await classifier.deliver(batch: burst)
                } else {
                    for payload in burst { try await classifier.deliver(payload) }
                }
                return (try await classifier.stored(), try await classifier.publishedEvents())
            }
        }
        let (oneByOne, batch) = (try await outcome(batched: false), try await outcome(batched: true))
        #expect(batch.stored == oneByOne.stored)
        #expect(batch.published.sorted() == oneByOne.published.sorted())
        // And what that is: `twice` published at 9:00 then at 12:00, `fresh` once, `known`
        // (description only) and `stale` (older news) not again.
        #expect(oneByOne.published.count == 2 + 3)
        let twiceID = twice.uuidString.lowercased()
        #expect(oneByOne.published.filter { $0.lowercased().contains(twiceID) }.count == 2)
    }
}
