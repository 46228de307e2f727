import Delivery
import Foundation
import Logging
import Shared
import Store

/// Brings the stored meetings of one calendar in line with what the calendar says now, and
/// publishes exactly the differences: `meeting.upserted` for a new or meaningfully changed
/// meeting (with the fields that changed), `meeting.cancelled` for one cancelled or removed.
/// Each meeting is compared and written in its own transaction, with its event in the outbox.
struct MeetingSync: Sendable {
    let pool: PostgresPool
    let outbox: Outbox
    let tenantID: String
    let sourceKey: String

    struct Report: Sendable, Equatable {
        var created = 0
        var updated = 0
        var cancelled = 0
        var unchanged = 0
    }

    func apply(_ events: [CalendarEvent], now: Date, windowBehind: Duration, windowAhead: Duration) async throws -> Report {
        let earliest = now.addingTimeInterval(-windowBehind.secondsValue)
        let latest = now.addingTimeInterval(windowAhead.secondsValue)
        let inWindow = events.filter { $0.end >= earliest && $0.start <= latest }
        var report = Report()
        var seen: Set<String> = []
        for event in inWindow {
            let externalID = Self.externalID(of: event)
            seen.insert(externalID)
            switch try await upsert(event, externalID: externalID) {
            case .created: report.created += 1
            case .updated: report.updated += 1
            case .cancelled: report.cancelled += 1
            case .unchanged: report.unchanged += 1
            }
        }
        report.cancelled += try await cancelMissing(except: seen, from: earliest, to: latest)
        return report
    }

    /// An overridden instance of a recurring event shares its series' UID: the recurrence id
    /// tells them apart.
    static func externalID(of event: CalendarEvent) -> String {
        guard let recurrence = event.recurrenceID else { return event.uid }
        return "\(event.uid)#\(Int(recurrence.timeIntervalSince1970))"
    }

    enum Outcome { case created, updated, cancelled, unchanged }

    private func upsert(_ event: CalendarEvent, externalID: String) async throws -> Outcome {
        let (outbox, tenantID, sourceKey) = (outbox, tenantID, sourceKey)
        return try await outbox.transaction(pool) { db in
            let existing = try db.queryOne(
                "SELECT * FROM calendar.meetings WHERE source = $1 AND external_id = $2 FOR UPDATE", [sourceKey, externalID])
            guard let existing else {
                guard event.status != .cancelled else { return .unchanged }  // never seen, already cancelled
                let meeting = Self.snapshot(of: event, id: UUID(), source: sourceKey, externalID: externalID)
                let inserted = try db.execute(
                    """
                    INSERT INTO calendar.meetings
                        (id, tenant_id, source, external_id, title, description, start_at, end_at, organizer, attendees, conference_url)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    ON CONFLICT (source, external_id) DO NOTHING
                    """,
                    [meeting.meetingID, tenantID, sourceKey, externalID, meeting.title, meeting.description, meeting.start,
                     meeting.end, try meeting.organizer.map { try JSONBValue($0) }, try JSONBValue(meeting.attendees),
                     meeting.conferenceURL])
                // Zero rows: another replica inserted it first and publishes it.
                guard inserted == 1 else { return .unchanged }
                try outbox.append(
                    Envelope(tenantID: tenantID, correlationID: meeting.meetingID,
                             payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: [])), on: db)
                return .created
            }
            let stored = try Self.snapshot(of: existing)
            let wasCancelled = try existing.bool("cancelled")
            if event.status == .cancelled {
                guard !wasCancelled else { return .unchanged }
                try db.execute(
                    "UPDATE calendar.meetings SET cancelled = true, updated_at = now() WHERE id = $1", [stored.meetingID])
                try outbox.append(
                    Envelope(tenantID: tenantID, correlationID: stored.meetingID,
                             payload: MeetingCancelled(meetingID: stored.meetingID, source: sourceKey, externalID: externalID,
                                                       reason: "cancelled in the calendar")), on: db)
                return .cancelled
            }
            let current = Self.snapshot(of: event, id: stored.meetingID, source: sourceKey, externalID: externalID)
            var changed = Self.changedFields(from: stored, to: current)
            if wasCancelled { changed.insert("status", at: 0) }  // reinstated
            guard !changed.isEmpty else { return .unchanged }
            try db.execute(
                """
                UPDATE calendar.meetings SET title = $2, description = $3, start_at = $4, end_at = $5, organizer = $6,
                    attendees = $7, conference_url = $8, cancelled = false, updated_at = now()
                WHERE id = $1
                """,
                [current.meetingID, current.title, current.description, current.start, current.end,
                 try current.organizer.map { try JSONBValue($0) }, try JSONBValue(current.attendees), current.conferenceURL])
            try outbox.append(
                Envelope(tenantID: tenantID, correlationID: current.meetingID,
                         payload: MeetingUpserted(meeting: current, isNew: false, changedFields: changed)), on: db)
            return .updated
        }
    }

    /// Meetings in the window that the calendar no longer lists were deleted there.
    private func cancelMissing(except seen: Set<String>, from earliest: Date, to latest: Date) async throws -> Int {
        let (outbox, tenantID, sourceKey) = (outbox, tenantID, sourceKey)
        return try await outbox.transaction(pool) { db in
            let vanished = try db.query(
                """
                SELECT id, external_id FROM calendar.meetings
                WHERE source = $1 AND NOT cancelled AND end_at >= $2 AND start_at <= $3
                FOR UPDATE SKIP LOCKED
                """, [sourceKey, earliest, latest]
            ).filter { !seen.contains(try $0.string("external_id")) }
            for row in vanished {
                let id = try row.uuid("id")
                try db.execute("UPDATE calendar.meetings SET cancelled = true, updated_at = now() WHERE id = $1", [id])
                try outbox.append(
                    Envelope(tenantID: tenantID, correlationID: id,
                             payload: MeetingCancelled(meetingID: id, source: sourceKey, externalID: try row.string("external_id"),
                                                       reason: "removed from the calendar")), on: db)
            }
            return vanished.count
        }
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

    static func snapshot(of event: CalendarEvent, id: UUID, source: String, externalID: String) -> MeetingSnapshot {
        MeetingSnapshot(
            meetingID: id, source: source, externalID: externalID, title: event.title, description: event.description,
            start: event.start, end: event.end,
            organizer: event.organizer.map { Participant(email: $0.email, name: $0.name) },
            attendees: event.attendees.map { Participant(email: $0.email, name: $0.name) },
            conferenceURL: event.conferenceURL)
    }

    static func snapshot(of row: Row) throws -> MeetingSnapshot {
        MeetingSnapshot(
            meetingID: try row.uuid("id"), source: try row.string("source"), externalID: try row.string("external_id"),
            title: try row.string("title"), description: try row.string("description"), start: try row.date("start_at"),
            end: try row.date("end_at"),
            organizer: try row.optionalString("organizer") == nil ? nil : try row.decode(Participant.self, column: "organizer"),
            attendees: try row.decode([Participant].self, column: "attendees"),
            conferenceURL: try row.optionalString("conference_url"))
    }
}
