import ClassificationRules
import Delivery
import Foundation
import Shared
import Store

/// Classifies meetings as they appear or change, and forwards cancellations.
struct ClassificationHandlers: Sendable {
    let rules: ClassificationRules
    var botJoinLead: Duration = .seconds(120)

    func register(in routes: inout EventRoutes) {
        routes.on(MeetingUpserted.self, upserted, batched: upserted)
        routes.on(MeetingCancelled.self, batching: .sharedTransaction, cancelled)
    }

    func upserted(_ envelope: Envelope<MeetingUpserted>, _ context: HandlerContext) async throws {
        let classified = classify(envelope)
        let (outbox, revisions) = (context.outbox, context.revisions)
        try await context.once { db in
            try Self.apply(classified, causedBy: envelope, revisions: revisions, outbox: outbox, on: db)
        }
    }

    /// Many meetings at once (a calendar connected, a morning's changes): each meeting's
    /// revision check, its stored classification and its write are one statement for the whole
    /// batch. A meeting the batch holds more than once is applied message by message, in order,
    /// as single messages are, so each of its revisions is judged against the one before.
    func upserted(_ envelopes: [Envelope<MeetingUpserted>], _ context: BatchContext) async throws {
        let classified = envelopes.map(classify)
        let (outbox, revisions) = (context.outbox, context.revisions)
        try await context.once { db, fresh in
            let batch = zip(envelopes, classified).filter { fresh.contains($0.0.id) }
            let occurrences = Dictionary(batch.map { ($0.1.meeting.meetingID, 1) }, uniquingKeysWith: +)
            let once = batch.filter { occurrences[$0.1.meeting.meetingID] == 1 }
            let repeated = batch.filter { occurrences[$0.1.meeting.meetingID] != 1 }
            var writes = BatchedWrites()
            let accepted = try revisions.acceptNewer(
                "meeting", revisions: once.map { ($0.1.meeting.meetingID.uuidString, $0.1.meeting.revision) }, on: db)
            let newer = once.filter { accepted.contains($0.1.meeting.meetingID.uuidString) }
            let previous = try Dictionary(
                db.query(
                    "SELECT * FROM classifier.classifications WHERE meeting_id = ANY($1::uuid[]) ORDER BY meeting_id FOR UPDATE",
                    [PostgresArray(newer.map(\.1.meeting.meetingID))]
                ).map { (try $0.uuid("meeting_id"), $0) }, uniquingKeysWith: { first, _ in first })
            for (envelope, classified) in newer {
                if let stored = previous[classified.meeting.meetingID], try Self.sameOutcome(stored, classified) { continue }
                try Self.store(classified, causedBy: envelope, outbox: outbox, into: &writes)
            }
            try writes.execute(on: db)
            for (envelope, classified) in repeated {
                try Self.apply(classified, causedBy: envelope, revisions: revisions, outbox: outbox, on: db)
            }
        }
    }

    private func classify(_ envelope: Envelope<MeetingUpserted>) -> MeetingClassified {
        let meeting = envelope.payload.meeting
        let classification = rules.classify(
            MeetingFacts(
                title: meeting.title, description: meeting.description,
                attendeeCount: Self.attendeeCount(of: meeting), start: meeting.start),
            now: envelope.occurredAt)
        return MeetingClassified(
            meeting: meeting, meetingType: classification.meetingType, rule: classification.rule,
            matchedKeywords: classification.matchedKeywords, prepTriggerAt: classification.prepTriggerAt,
            reminderAt: classification.reminderAt, botJoinAt: meeting.start.addingTimeInterval(-botJoinLead.secondsValue),
            prepQuestions: classification.prepQuestions, contextRequired: classification.contextRequired)
    }

    /// One meeting's classification, as a single message applies it.
    private static func apply(
        _ classified: MeetingClassified, causedBy envelope: Envelope<MeetingUpserted>, revisions: Revisions,
        outbox: Outbox, on db: PostgresConnection
    ) throws {
        let meeting = classified.meeting
        // Older news than what was applied (a retry overtaken by a later change) changes nothing.
        guard try revisions.acceptNewer("meeting", id: meeting.meetingID.uuidString, revision: meeting.revision, on: db)
        else { return }
        let previous = try db.queryOne(
            "SELECT * FROM classifier.classifications WHERE meeting_id = $1 FOR UPDATE", [meeting.meetingID])
        if let previous, try sameOutcome(previous, classified) { return }
        var writes = BatchedWrites()
        try store(classified, causedBy: envelope, outbox: outbox, into: &writes)
        try writes.execute(on: db)
    }

    /// Stores a meeting's classification (new, or replacing its previous one) and publishes it.
    private static func store(
        _ classified: MeetingClassified, causedBy envelope: Envelope<MeetingUpserted>, outbox: Outbox,
        into writes: inout BatchedWrites
    ) throws {
        let meeting = classified.meeting
        writes.add(
            """
            INSERT INTO classifier.classifications
                (meeting_id, tenant_id, meeting, meeting_type, rule, matched_keywords, prep_trigger_at, reminder_at, bot_join_at)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::jsonb[],
                $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
            ON CONFLICT (meeting_id) DO UPDATE SET meeting = EXCLUDED.meeting, meeting_type = EXCLUDED.meeting_type,
                rule = EXCLUDED.rule, matched_keywords = EXCLUDED.matched_keywords,
                prep_trigger_at = EXCLUDED.prep_trigger_at, reminder_at = EXCLUDED.reminder_at,
                bot_join_at = EXCLUDED.bot_join_at,
                cancelled = false, updated_at = now()
            """,
            [
                meeting.meetingID, envelope.tenantID, JSONBValue(encoded: try MessageCoding.encode(meeting)),
                classified.meetingType, classified.rule, try JSONBValue(classified.matchedKeywords),
                classified.prepTriggerAt, classified.reminderAt, classified.botJoinAt,
            ])
        try outbox.append(Envelope(classified, causedBy: envelope), to: &writes)
    }

    func cancelled(_ envelope: Envelope<MeetingCancelled>, _ context: HandlerContext) async throws {
        let (outbox, revisions) = (context.outbox, context.revisions)
        let cancellation = envelope.payload
        try await context.once { db in
            // Recorded even when nothing was classified yet: an older upsert arriving late is
            // then refused instead of classifying a cancelled meeting.
            guard
                try revisions.acceptNewer(
                    "meeting", id: cancellation.meetingID.uuidString, revision: cancellation.revision, on: db)
            else { return }
            let updated = try db.execute(
                "UPDATE classifier.classifications SET cancelled = true, updated_at = now() WHERE meeting_id = $1 AND NOT cancelled",
                [envelope.payload.meetingID])
            // A meeting cancelled before it was ever classified has nothing downstream to stop.
            guard updated == 1 else { return }
            try outbox.append(
                Envelope(
                    ClassificationCancelled(
                        meetingID: cancellation.meetingID, meetingRevision: cancellation.revision, reason: cancellation.reason),
                    causedBy: envelope), on: db)
        }
    }

    /// Everyone invited, counting the organiser once even when they also appear as an attendee.
    static func attendeeCount(of meeting: MeetingSnapshot) -> Int {
        var people = Set(meeting.attendees.map { $0.email.lowercased() })
        if let organizer = meeting.organizer { people.insert(organizer.email.lowercased()) }
        return people.count
    }

    /// What downstream services act on: the type, the times, where to join, who is notified
    /// (the organiser) and what the notification and the bot call the meeting (the title). A
    /// changed description or attendee list that leaves all of these alone is not worth an event.
    static func sameOutcome(_ row: Row, _ classified: MeetingClassified) throws -> Bool {
        let stored = try row.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.sharedDecoder)
        return try !row.bool("cancelled") && row.string("meeting_type") == classified.meetingType
            && row.date("prep_trigger_at").isSameStoredInstant(as: classified.prepTriggerAt)
            && row.date("reminder_at").isSameStoredInstant(as: classified.reminderAt)
            && (try row.optionalDate("bot_join_at")).map { $0.isSameStoredInstant(as: classified.botJoinAt) } == true
            && stored.start.isSameStoredInstant(as: classified.meeting.start)
            && stored.end.isSameStoredInstant(as: classified.meeting.end)
            && stored.conferenceURL == classified.meeting.conferenceURL
            && stored.organizer == classified.meeting.organizer && stored.title == classified.meeting.title
            && stored.attendees == classified.meeting.attendees
    }
}
