import Delivery
import Foundation
import ICalendar
import Logging
import Shared
import Store

/// Brings a connection's stored meetings in line with what its calendar said, and publishes
/// exactly the differences: `meeting.upserted` for a new or meaningfully changed occurrence
/// (with the fields that changed), `meeting.cancelled` for one cancelled, dropped from its
/// series, or deleted. Each occurrence is compared and written in its own transaction, its
/// event in the outbox; an unchanged occurrence is neither written nor published.
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

    func apply(_ batch: SyncBatch, from connection: CalendarConnection, window: DateInterval) async throws -> Report {
        var report = Report()
        for item in batch.items {
            var kept: [String] = []
            for occurrence in item.occurrences {
                let externalID = Self.externalID(of: occurrence)
                kept.append(externalID)
                // Outside the window an occurrence is not new work, but a stored meeting that moved
                // out of it is still an update, not a cancellation.
                let insideWindow = occurrence.end > window.start && occurrence.start < window.end
                switch try await upsert(
                    occurrence, itemID: item.itemID, externalID: externalID, connection: connection,
                    createIfMissing: insideWindow)
                {
                case .created: report.created += 1
                case .updated: report.updated += 1
                case .cancelled: report.cancelled += 1
                case .unchanged: report.unchanged += 1
                }
            }
            report.cancelled += try await cancel(
                connection, in: window, reason: "no longer part of the series",
                condition: "item_id = $4 AND NOT (external_id = ANY($5::text[]))", [item.itemID, Self.textArray(kept)])
        }
        if !batch.removedItemIDs.isEmpty {
            report.cancelled += try await cancel(
                connection, in: window, reason: "deleted from the calendar", condition: "item_id = ANY($4::text[])",
                [Self.textArray(batch.removedItemIDs)])
        }
        if batch.isComplete {
            report.cancelled += try await cancel(
                connection, in: window, reason: "removed from the calendar", condition: "NOT (item_id = ANY($4::text[]))",
                [Self.textArray(batch.items.map(\.itemID))])
        }
        return report
    }

    /// An occurrence of a recurring series shares its series' UID: the recurrence id tells them apart.
    static func externalID(of event: CalendarEvent) -> String {
        guard let recurrence = event.recurrenceID else { return event.uid }
        return "\(event.uid)#\(Int(recurrence.timeIntervalSince1970))"
    }

    enum Outcome { case created, updated, cancelled, unchanged }

    private func upsert(
        _ event: CalendarEvent, itemID: String, externalID: String, connection: CalendarConnection,
        createIfMissing: Bool
    ) async throws -> Outcome {
        let outbox = outbox
        let (source, tenantID) = (connection.sourceKey, connection.tenantID)
        return try await outbox.transaction(pool) { db in
            let existing = try db.queryOne(
                "SELECT * FROM calendar.meetings WHERE source = $1 AND external_id = $2 FOR UPDATE", [source, externalID])
            guard let existing else {
                // Never seen and already cancelled, or outside the window: nothing to tell anyone.
                guard event.status != .cancelled, createIfMissing else { return .unchanged }
                let meeting = Self.snapshot(of: event, id: UUID(), revision: 1, source: source, externalID: externalID)
                let inserted = try db.execute(
                    """
                    INSERT INTO calendar.meetings (id, tenant_id, source, external_id, item_id, title, description,
                        start_at, end_at, organizer, attendees, conference_url)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                    ON CONFLICT (source, external_id) DO NOTHING
                    """,
                    [
                        meeting.meetingID, tenantID, source, externalID, itemID, meeting.title, meeting.description,
                        meeting.start, meeting.end, try meeting.organizer.map { try JSONBValue($0) },
                        try JSONBValue(meeting.attendees), meeting.conferenceURL,
                    ])
                // Zero rows: another replica inserted it first and publishes it.
                guard inserted == 1 else { return .unchanged }
                try outbox.append(
                    Envelope(
                        tenantID: tenantID, correlationID: meeting.meetingID,
                        payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: [])), on: db)
                return .created
            }
            let stored = try Self.snapshot(of: existing)
            let wasCancelled = try existing.bool("cancelled")
            if event.status == .cancelled {
                guard !wasCancelled else { return .unchanged }
                try Self.markCancelled(
                    stored.meetingID, externalID: externalID, reason: "cancelled in the calendar",
                    source: source, tenantID: tenantID, outbox: outbox, on: db)
                return .cancelled
            }
            var current = Self.snapshot(
                of: event, id: stored.meetingID, revision: stored.revision + 1, source: source, externalID: externalID)
            var changed = Self.changedFields(from: stored, to: current)
            if wasCancelled { changed.insert("status", at: 0) }  // reinstated
            guard !changed.isEmpty else { return .unchanged }
            current.revision = try db.queryOne(
                """
                UPDATE calendar.meetings SET title = $2, description = $3, start_at = $4, end_at = $5, organizer = $6,
                    attendees = $7, conference_url = $8, item_id = $9, cancelled = false, revision = revision + 1,
                    updated_at = now()
                WHERE id = $1 RETURNING revision
                """,
                [
                    current.meetingID, current.title, current.description, current.start, current.end,
                    try current.organizer.map { try JSONBValue($0) }, try JSONBValue(current.attendees), current.conferenceURL,
                    itemID,
                ])!.int("revision")
            try outbox.append(
                Envelope(
                    tenantID: tenantID, correlationID: current.meetingID,
                    payload: MeetingUpserted(meeting: current, isNew: false, changedFields: changed)), on: db)
            return .updated
        }
    }

    /// Cancels this connection's live meetings in the window that match `condition` ($4, $5…
    /// are `parameters`; $1–$3 are the source and the window).
    private func cancel(
        _ connection: CalendarConnection, in window: DateInterval, reason: String, condition: String,
        _ parameters: [any PostgresBindable]
    ) async throws -> Int {
        let outbox = outbox
        let (source, tenantID) = (connection.sourceKey, connection.tenantID)
        return try await outbox.transaction(pool) { db in
            let gone = try db.query(
                """
                SELECT id, external_id FROM calendar.meetings
                WHERE source = $1 AND NOT cancelled AND end_at > $2 AND start_at < $3 AND \(condition)
                FOR UPDATE SKIP LOCKED
                """, [source, window.start, window.end] + parameters)
            for row in gone {
                try Self.markCancelled(
                    try row.uuid("id"), externalID: try row.string("external_id"), reason: reason, source: source,
                    tenantID: tenantID, outbox: outbox, on: db)
            }
            return gone.count
        }
    }

    private static func markCancelled(
        _ id: UUID, externalID: String, reason: String, source: String, tenantID: String, outbox: Outbox,
        on db: PostgresConnection
    ) throws {
        let revision = try db.queryOne(
            "UPDATE calendar.meetings SET cancelled = true, revision = revision + 1, updated_at = now() WHERE id = $1 RETURNING revision",
            [id])!.int("revision")
        try outbox.append(
            Envelope(
                tenantID: tenantID, correlationID: id,
                payload: MeetingCancelled(
                    meetingID: id, revision: revision, source: source, externalID: externalID, reason: reason)),
            on: db)
    }

    /// A text[] literal, each element quoted: ids may hold commas or quotes.
    package static func textArray(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }
            .joined(separator: ",") + "}"
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
            skipped: contents.skipped.map(SyncBatch.skip))
    }

    /// How a skipped event is reported: where it is in the file and why.
    static func skip(_ error: ICalendarError) -> String {
        "line \(error.line): \(error.message)"
    }
}
