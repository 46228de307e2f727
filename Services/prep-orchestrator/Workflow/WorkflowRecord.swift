import Foundation
import Shared
import Store

/// A workflow as its steps read it: the meeting and what its type asks for.
struct WorkflowRecord: Sendable {
    var id: UUID
    var tenantID: String
    var correlationID: UUID
    var traceparent: String
    var meeting: MeetingSnapshot
    var meetingType: String
    var prepQuestions: [String]
    var contextRequired: [String]
    var reminderAt: Date?
    var botJoinAt: Date?
    var definitionVersion: Int

    /// Who prepares the meeting: its organiser.
    var owner: String { meeting.organizer?.email ?? "owner@localhost" }
    var ownerName: String { meeting.organizer?.name ?? owner }

    static let columns =
        "w.id, w.tenant_id, w.correlation_id, w.traceparent, w.meeting, w.meeting_type, w.prep_questions, w.context_required, w.reminder_at, w.bot_join_at, w.definition_version"

    init(_ row: Row) throws {
        id = try row.uuid("id")
        tenantID = try row.string("tenant_id")
        correlationID = try row.uuid("correlation_id")
        traceparent = try row.string("traceparent")
        meeting = try row.decode(MeetingSnapshot.self, column: "meeting", decoder: MessageCoding.sharedDecoder)
        meetingType = try row.string("meeting_type")
        prepQuestions = try row.decode([String].self, column: "prep_questions")
        contextRequired = try row.decode([String].self, column: "context_required")
        reminderAt = try row.optionalDate("reminder_at")
        botJoinAt = try row.optionalDate("bot_join_at")
        definitionVersion = try row.int("definition_version")
    }

    /// The workflow a classification starts, as it is written.
    init(id: UUID, starting envelope: Envelope<MeetingClassified>) {
        self.id = id
        tenantID = envelope.tenantID
        correlationID = envelope.correlationID
        traceparent = envelope.traceparent
        meeting = envelope.payload.meeting
        meetingType = envelope.payload.meetingType
        prepQuestions = envelope.payload.prepQuestions
        contextRequired = envelope.payload.contextRequired
        reminderAt = envelope.payload.reminderAt
        botJoinAt = envelope.payload.botJoinAt
        definitionVersion = WorkflowDefinition.version
    }

    static func load(_ id: UUID, on db: PostgresConnection) throws -> WorkflowRecord? {
        try db.queryOne("SELECT \(columns) FROM prep.workflows w WHERE w.id = $1", [id]).map(WorkflowRecord.init)
    }

    /// An event of this workflow: its tenant, correlation and a child of its trace.
    func envelope<P: EventPayload>(_ payload: P) -> Envelope<P> {
        let trace = TraceContext.continuing(traceparent) ?? .story(correlationID)
        return Envelope(tenantID: tenantID, correlationID: correlationID, traceparent: trace.traceparent, payload: payload)
    }
}
