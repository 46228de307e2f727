import Delivery
import Foundation
import ICalendar
import Logging
import Shared
import Store

/// Brings a connection's stored meetings in line with what its calendar said, and publishes
/// exactly the differences: `meeting.upserted` for a new or meaningfully changed occurrence
/// (with the fields that changed), `meeting.cancelled` for one cancelled, dropped from its
/// series, or deleted. A calendar's sync is one transaction of a few statements whatever its
/// size: its stored meetings are read (and locked) at once, compared here, and only the
/// differences written, each kind as one statement over arrays, their events in the outbox.
/// An unchanged occurrence is neither written nor published.
package struct MeetingSync: Sendable {
    let pool: PostgresPool
    let outbox: Outbox

    package init(pool: PostgresPool, outbox: Outbox) {
        self.pool = pool
        self.outbox = outbox
    }

    struct Report: Sendable, Equatable {
        var created = 0
        var updated = 0
        var cancelled = 0
        var unchanged = 0

        var changes: Int { created + updated + cancelled }
    }

    /// One occurrence as the calendar has it now.
    private struct Incoming: Sendable {
        var event: CalendarEvent
        var itemID: String
        var externalID: String
        /// Outside the window an occurrence is not new work, but a stored meeting that moved out
        /// of it is still an update, not a cancellation.
        var insideWindow: Bool
    }

    func apply(_ batch: SyncBatch, from connection: CalendarConnection, window: DateInterval) async throws -> Report {
        var incoming: [Incoming] = []
        var seen = Set<String>()
        for item in batch.items {
            for event in item.occurrences {
                let externalID = Self.externalID(of: event)
                // A calendar that lists an occurrence twice has it once.
                guard seen.insert(externalID).inserted else { continue }
                incoming.append(
                    Incoming(
                        event: event, itemID: item.itemID, externalID: externalID,
                        insideWindow: event.end > window.start && event.start < window.end))
            }
        }
        let (outbox, source, tenantID) = (outbox, connection.sourceKey, connection.tenantID)
        let incomingNow = incoming
        return try await outbox.transaction(pool) { db in
            var report = Report()
            var writes = BatchedWrites()
            let stored = try Dictionary(
                db.query(
                    "SELECT * FROM calendar.meetings WHERE source = $1 AND external_id = ANY($2::text[]) FOR UPDATE",
                    [source, PostgresArray(incomingNow.map(\.externalID))]
                ).map { (try $0.string("external_id"), $0) }, uniquingKeysWith: { first, _ in first })
            var new: [(MeetingSnapshot, itemID: String)] = []
            for occurrence in incomingNow {
                guard let existing = stored[occurrence.externalID] else {
                    // Never seen and already cancelled, or outside the window: nothing to tell anyone.
                    guard occurrence.event.status != .cancelled, occurrence.insideWindow else {
                        report.unchanged += 1
                        continue
                    }
                    new.append(
                        (
                            Self.snapshot(
                                of: occurrence.event, id: UUID(), revision: 1, source: source,
                                externalID: occurrence.externalID), occurrence.itemID
                        ))
                    continue
                }
                let before = try Self.snapshot(of: existing)
                let wasCancelled = try existing.bool("cancelled")
                if occurrence.event.status == .cancelled {
                    guard !wasCancelled else {
                        report.unchanged += 1
                        continue
                    }
                    try Self.cancel(
                        before.meetingID, revision: before.revision + 1, externalID: occurrence.externalID,
                        reason: "cancelled in the calendar", source: source, tenantID: tenantID, outbox: outbox,
                        into: &writes)
                    report.cancelled += 1
                    continue
                }
                let now = Self.snapshot(
                    of: occurrence.event, id: before.meetingID, revision: before.revision + 1, source: source,
                    externalID: occurrence.externalID)
                var changed = Self.changedFields(from: before, to: now)
                if wasCancelled { changed.insert("status", at: 0) }  // reinstated
                guard !changed.isEmpty else {
                    report.unchanged += 1
                    continue
                }
                writes.add(
                    """
                    UPDATE calendar.meetings m SET title = u.title, description = u.description, start_at = u.start_at,
                        end_at = u.end_at, organizer = u.organizer, attendees = u.attendees,
                        conference_url = u.conference_url, item_id = u.item_id, cancelled = false, revision = u.revision,
                        updated_at = now()
                    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[],
                        $7::jsonb[], $8::text[], $9::text[], $10::bigint[])
                        AS u(id, title, description, start_at, end_at, organizer, attendees, conference_url, item_id, revision)
                    WHERE m.id = u.id
                    """,
                    [
                        now.meetingID, now.title, now.description, now.start, now.end,
                        try now.organizer.map { JSONBValue(encoded: try MessageCoding.encode($0)) },
                        JSONBValue(encoded: try MessageCoding.encode(now.attendees)), now.conferenceURL,
                        occurrence.itemID, now.revision,
                    ])
                try outbox.append(
                    Envelope(
                        tenantID: tenantID, correlationID: now.meetingID,
                        payload: MeetingUpserted(meeting: now, isNew: false, changedFields: changed)), to: &writes)
                report.updated += 1
            }
            report.created = try Self.insert(new, tenantID: tenantID, outbox: outbox, on: db, into: &writes)
            report.unchanged += new.count - report.created
            try writes.execute(on: db)

            // Stored meetings the calendar no longer has. An occurrence it still lists is never
            // among them, whichever item it moved to, nor one of an item it could not read whole.
            let kept = PostgresArray(incomingNow.map(\.externalID))
            let unreadable = PostgresArray(batch.unreadableItemIDs)
            var gone: [(condition: String, parameter: PostgresArray, reason: String)] = []
            if !batch.items.isEmpty {
                gone.append(
                    ("item_id = ANY($5::text[])", PostgresArray(batch.items.map(\.itemID)), "no longer part of the series"))
            }
            if !batch.removedItemIDs.isEmpty {
                gone.append(("item_id = ANY($5::text[])", PostgresArray(batch.removedItemIDs), "deleted from the calendar"))
            }
            if batch.isComplete {
                gone.append(
                    ("NOT (item_id = ANY($5::text[]))", PostgresArray(batch.items.map(\.itemID)), "removed from the calendar"))
            }
            var cancellations = BatchedWrites()
            for (condition, parameter, reason) in gone {
                for row in try db.query(
                    """
                    UPDATE calendar.meetings SET cancelled = true, revision = revision + 1, updated_at = now()
                    WHERE id IN (
                        SELECT id FROM calendar.meetings
                        WHERE source = $1 AND NOT cancelled AND end_at > $2 AND start_at < $3
                            AND NOT (external_id = ANY($4::text[])) AND NOT (item_id = ANY($6::text[])) AND \(condition)
                        FOR UPDATE SKIP LOCKED)
                    RETURNING id, external_id, revision
                    """, [source, window.start, window.end, kept, parameter, unreadable])
                {
                    try outbox.append(
                        Envelope(
                            tenantID: tenantID, correlationID: try row.uuid("id"),
                            payload: MeetingCancelled(
                                meetingID: try row.uuid("id"), revision: try row.int("revision"), source: source,
                                externalID: try row.string("external_id"), reason: reason)), to: &cancellations)
                    report.cancelled += 1
                }
            }
            try cancellations.execute(on: db)
            return report
        }
    }

    /// Inserts the new meetings and appends an event for each one inserted; returns how many.
    /// One another replica inserted first is left to it: it publishes that one.
    private static func insert(
        _ meetings: [(MeetingSnapshot, itemID: String)], tenantID: String, outbox: Outbox, on db: PostgresConnection,
        into writes: inout BatchedWrites
    ) throws -> Int {
        guard !meetings.isEmpty else { return 0 }
        func column(_ value: (MeetingSnapshot, String) throws -> any PostgresBindable) rethrows -> PostgresArray {
            PostgresArray(try meetings.map { try value($0.0, $0.itemID) })
        }
        let inserted = Set(
            try db.query(
                """
                INSERT INTO calendar.meetings (id, tenant_id, source, external_id, item_id, title, description,
                    start_at, end_at, organizer, attendees, conference_url)
                SELECT u.id, $1, u.source, u.external_id, u.item_id, u.title, u.description, u.start_at, u.end_at,
                    u.organizer, u.attendees, u.conference_url
                FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
                    $9::timestamptz[], $10::jsonb[], $11::jsonb[], $12::text[])
                    AS u(id, source, external_id, item_id, title, description, start_at, end_at, organizer, attendees,
                        conference_url)
                ON CONFLICT (source, external_id) DO NOTHING
                RETURNING id
                """,
                [
                    tenantID, column { m, _ in m.meetingID }, column { m, _ in m.source }, column { m, _ in m.externalID },
                    column { _, item in item }, column { m, _ in m.title }, column { m, _ in m.description },
                    column { m, _ in m.start }, column { m, _ in m.end },
                    try column { m, _ in try m.organizer.map { JSONBValue(encoded: try MessageCoding.encode($0)) } },
                    try column { m, _ in JSONBValue(encoded: try MessageCoding.encode(m.attendees)) },
                    column { m, _ in m.conferenceURL },
                ]
            ).map { try $0.uuid("id") })
        for (meeting, _) in meetings where inserted.contains(meeting.meetingID) {
            try outbox.append(
                Envelope(
                    tenantID: tenantID, correlationID: meeting.meetingID,
                    payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: [])), to: &writes)
        }
        return inserted.count
    }

    /// An occurrence of a recurring series shares its series' UID: the recurrence id tells them apart.
    static func externalID(of event: CalendarEvent) -> String {
        guard let recurrence = event.recurrenceID else { return event.uid }
        return "\(event.uid)#\(Int(recurrence.timeIntervalSince1970))"
    }

    private static func cancel(
        _ id: UUID, revision: Int, externalID: String, reason: String, source: String, tenantID: String, outbox: Outbox,
        into writes: inout BatchedWrites
    ) throws {
        writes.add(
            """
            UPDATE calendar.meetings m SET cancelled = true, revision = u.revision, updated_at = now()
            FROM unnest($1::uuid[], $2::bigint[]) AS u(id, revision) WHERE m.id = u.id
            """, [id, revision])
        try outbox.append(
            Envelope(
                tenantID: tenantID, correlationID: id,
                payload: MeetingCancelled(
                    meetingID: id, revision: revision, source: source, externalID: externalID, reason: reason)),
            to: &writes)
    }

    static func changedFields(from old: MeetingSnapshot, to new: MeetingSnapshot) -> [String] {
        var changed: [String] = []
        if old.title != new.title { changed.append("title") }
        if old.description != new.description { changed.append("description") }
        if !old.start.isSameStoredInstant(as: new.start) { changed.append("start") }
        if !old.end.isSameStoredInstant(as: new.end) { changed.append("end") }
        if old.organizer != new.organizer { changed.append("organizer") }
        if old.attendees != new.attendees { changed.append("attendees") }
        if old.conferenceURL != new.conferenceURL { changed.append("conference_url") }
        return changed
    }

    static func snapshot(of event: CalendarEvent, id: UUID, revision: Int, source: String, externalID: String) -> MeetingSnapshot
    {
        MeetingSnapshot(
            meetingID: id, revision: revision, source: source, externalID: externalID, title: event.title,
            description: event.description,
            start: event.start, end: event.end,
            organizer: event.organizer.map { Participant(email: $0.email, name: $0.name) },
            attendees: event.attendees.map { Participant(email: $0.email, name: $0.name) },
            conferenceURL: event.conferenceURL)
    }

    static func snapshot(of row: Row) throws -> MeetingSnapshot {
        MeetingSnapshot(
            meetingID: try row.uuid("id"), revision: try row.int("revision"), source: try row.string("source"),
            externalID: try row.string("external_id"),
            title: try row.string("title"), description: try row.string("description"), start: try row.date("start_at"),
            end: try row.date("end_at"),
            organizer: try row.optionalString("organizer") == nil ? nil : try row.decode(Participant.self, column: "organizer"),
            attendees: try row.decode([Participant].self, column: "attendees"),
            conferenceURL: try row.optionalString("conference_url"))
    }
}

extension SyncBatch {
    /// A full snapshot of a calendar whose events arrive already expanded: occurrences grouped
    /// by UID into items, and the events that could not be read.
    static func complete(_ contents: ICalendar.Contents, cursor: String? = nil) -> SyncBatch {
        var order: [String] = []
        var grouped: [String: [CalendarEvent]] = [:]
        for event in contents.events {
            if grouped[event.uid] == nil { order.append(event.uid) }
            grouped[event.uid, default: []].append(event)
        }
        return SyncBatch(
            items: order.map { SyncedItem(itemID: $0, occurrences: grouped[$0]!) }, isComplete: true, cursor: cursor,
            skipped: contents.skipped.map(SyncBatch.skip), unreadableItemIDs: contents.skipped.compactMap(\.uid))
    }

    /// How a skipped event is reported: where it is in the file and why.
    static func skip(_ error: ICalendarError) -> String {
        "line \(error.line): \(error.message)"
    }
}
