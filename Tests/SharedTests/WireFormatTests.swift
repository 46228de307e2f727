import Foundation
import Shared
import Testing

/// The wire contract. Each message type has a golden JSON file in Fixtures/: a change that
/// alters what goes on the bus changes a fixture, and so shows up in review. To change the
/// contract on purpose, add a new version of the type rather than editing a shipped one.
@Suite("Message wire format")
struct WireFormatTests {
    static let meetingID = UUID(uuidString: "6F1C2B9E-3D4A-4C5B-8E7F-0A1B2C3D4E5F")!
    static let correlationID = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!
    static let causationID = UUID(uuidString: "99999999-8888-4777-8666-555555555555")!
    static let sessionID = UUID(uuidString: "ABCDEF01-2345-4678-89AB-CDEF01234567")!
    static let workflowID = UUID(uuidString: "0F0E0D0C-0B0A-4908-8706-050403020100")!
    static let start = Date(timeIntervalSince1970: 1_796_896_800)  // 2026-12-10T10:00:00Z
    static let end = start.addingTimeInterval(1800)
    static let occurredAt = Date(timeIntervalSince1970: 1_796_810_400.25)  // 2026-12-09T10:00:00.250Z

    static let meeting = MeetingSnapshot(
        meetingID: meetingID, revision: 3, source: "ics:file:/calendars/team.ics", externalID: "weekly-staff@example.com",
        title: "Weekly staff meeting", description: "Updates, hiring, budget.", start: start, end: end,
        organizer: Participant(email: "alex@example.com", name: "Alex Rivera"),
        attendees: [Participant(email: "sam@example.com", name: "Sam Chen"), Participant(email: "jordan@example.com")],
        conferenceURL: "https://meet.google.com/abc-defg-hij")

    static func envelope<P: EventPayload>(_ payload: P, id: String) -> Envelope<P> {
        Envelope(
            id: UUID(uuidString: id)!, occurredAt: occurredAt, tenantID: "acme", correlationID: correlationID,
            causationID: causationID, traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            payload: payload)
    }

    /// Checks one message type against its fixture, both ways.
    func check<P: EventPayload>(_ expected: Envelope<P>, fixture name: String) throws {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        let golden = try String(contentsOf: url, encoding: .utf8)
        let decoded = try MessageCoding.decoder().decode(Envelope<P>.self, from: Data(golden.utf8))
        #expect(decoded == expected, "\(name).json no longer decodes to the expected \(P.messageType)")
        let encoded = String(decoding: try MessageCoding.encoder(pretty: true).encode(expected), as: UTF8.self)
        #expect(
            encoded == golden.trimmingCharacters(in: .newlines),
            "the encoding of \(P.messageType) differs from \(name).json:\n\(encoded)")
        // What goes on the bus is written by the bus's own encoder: the same bytes as Foundation's.
        let foundation = String(decoding: try MessageCoding.encoder().encode(expected), as: UTF8.self)
        let compact = String(decoding: try MessageCoding.encode(expected), as: UTF8.self)
        #expect(compact == foundation, "MessageCoding.encode writes \(P.messageType) differently from JSONEncoder")
    }

    @Test("meeting.upserted.v1 matches its golden file both ways") func meetingUpserted() throws {
        try check(
            Self.envelope(
                MeetingUpserted(meeting: Self.meeting, isNew: false, changedFields: ["start", "attendees"]),
                id: "00000000-0000-4000-8000-000000000001"),
            fixture: "meeting.upserted.v1")
    }

    @Test("meeting.cancelled.v1 matches its golden file both ways") func meetingCancelled() throws {
        try check(
            Self.envelope(
                MeetingCancelled(
                    meetingID: Self.meetingID, revision: 4, source: "ics:file:/calendars/team.ics",
                    externalID: "weekly-staff@example.com",
                    reason: "removed from the calendar"),
                id: "00000000-0000-4000-8000-000000000002"),
            fixture: "meeting.cancelled.v1")
    }

    @Test("meeting.classified.v1 matches its golden file both ways") func meetingClassified() throws {
        try check(
            Self.envelope(
                MeetingClassified(
                    meeting: Self.meeting, meetingType: "staff_meeting", rule: "staff_meeting: keywords [staff meeting]",
                    matchedKeywords: ["staff meeting"], prepTriggerAt: Self.start.addingTimeInterval(-48 * 3600),
                    reminderAt: Self.start.addingTimeInterval(-2 * 3600), botJoinAt: Self.start.addingTimeInterval(-120),
                    prepQuestions: ["What decisions do you need from the team?"],
                    contextRequired: ["big_rocks", "staffing", "decisions"]),
                id: "00000000-0000-4000-8000-000000000003"),
            fixture: "meeting.classified.v1")
    }

    @Test("classification.cancelled.v1 matches its golden file both ways") func classificationCancelled() throws {
        try check(
            Self.envelope(
                ClassificationCancelled(meetingID: Self.meetingID, meetingRevision: 4, reason: "cancelled in the calendar"),
                id: "00000000-0000-4000-8000-000000000004"),
            fixture: "classification.cancelled.v1")
    }

    @Test("prep.notification.sent.v1 matches its golden file both ways") func prepNotificationSent() throws {
        try check(
            Self.envelope(
                PrepNotificationSent(
                    workflowID: Self.workflowID, meetingID: Self.meetingID, channel: "local", recipient: "alex@example.com",
                    text: "Time to prepare “Weekly staff meeting”."),
                id: "00000000-0000-4000-8000-000000000005"),
            fixture: "prep.notification.sent.v1")
    }

    @Test("prep.materials.ready.v1 matches its golden file both ways") func prepMaterialsReady() throws {
        try check(
            Self.envelope(
                PrepMaterialsReady(
                    workflowID: Self.workflowID, meetingID: Self.meetingID, generatedAt: Self.start.addingTimeInterval(-86_400),
                    agenda: ["Last week's actions", "Hiring plan"], questionBank: ["Who owns the hiring plan?"],
                    notes: [PrepMaterialsReady.Note(label: "Goal", text: "agree the hiring plan")]),
                id: "00000000-0000-4000-8000-00000000000f"),
            fixture: "prep.materials.ready.v1")
    }

    @Test("bot.join.requested.v1 matches its golden file both ways") func botJoinRequested() throws {
        try check(
            Self.envelope(
                BotJoinRequested(
                    meetingID: Self.meetingID, workflowID: Self.workflowID, meetingURL: "https://meet.google.com/abc-defg-hij",
                    botName: "Attaché", meetingTitle: "Weekly staff meeting", meetingStart: Self.start, meetingEnd: Self.end),
                id: "00000000-0000-4000-8000-000000000006"),
            fixture: "bot.join.requested.v1")
    }

    @Test("bot.status.changed.v1 matches its golden file both ways") func botStatusChanged() throws {
        try check(
            Self.envelope(
                BotStatusChanged(
                    meetingID: Self.meetingID, botID: "sim-42", provider: "simulated", status: .inCallRecording, subCode: nil,
                    changedAt: Self.start),
                id: "00000000-0000-4000-8000-000000000007"),
            fixture: "bot.status.changed.v1")
    }

    @Test("bot.transcript.received.v1 matches its golden file both ways") func botTranscriptReceived() throws {
        try check(
            Self.envelope(
                BotTranscriptReceived(
                    meetingID: Self.meetingID, botID: "sim-42", speaker: "Sam Chen", text: "We are on track.",
                    spokenAt: Self.start.addingTimeInterval(65.5)),
                id: "00000000-0000-4000-8000-000000000008"),
            fixture: "bot.transcript.received.v1")
    }

    @Test("call.completed.v1 matches its golden file both ways") func callCompleted() throws {
        try check(
            Self.envelope(
                CallCompleted(
                    sessionID: Self.sessionID, meetingID: Self.meetingID, botID: "sim-42", startedAt: Self.start,
                    endedAt: Self.end,
                    turns: [
                        CallTurn(
                            role: .participant, speaker: "Sam Chen", text: "We are on track.",
                            at: Self.start.addingTimeInterval(65.5)),
                        CallTurn(role: .agent, speaker: "Attaché", text: "Noted.", at: Self.start.addingTimeInterval(70)),
                    ],
                    context: ["Meeting: Quarterly planning", "Agenda: Budget, then Hiring"],
                    problems: [
                        CallProblem(
                            kind: .modelError, at: Self.start.addingTimeInterval(67),
                            detail: "local: the model stream ended with an error")
                    ]),
                id: "00000000-0000-4000-8000-000000000009"),
            fixture: "call.completed.v1")
    }

    @Test("a call.completed.v1 from a sender without context and problems still decodes")
    func callCompletedWithoutOptionalFields() throws {
        let url = try #require(
            Bundle.module.url(forResource: "call.completed.v1", withExtension: "json", subdirectory: "Fixtures"))
        var message = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var payload = try #require(message["payload"] as? [String: Any])
        payload["context"] = nil
        payload["problems"] = nil
        message["payload"] = payload
        let decoded = try MessageCoding.decoder().decode(
            Envelope<CallCompleted>.self, from: JSONSerialization.data(withJSONObject: message))
        #expect(decoded.payload.turns.count == 2)
        #expect(decoded.payload.context == nil && decoded.payload.problems == nil)
    }

    @Test("monitoring.result.v2 matches its golden file both ways") func monitoringResult() throws {
        try check(
            Self.envelope(
                MonitoringResultRecorded(
                    sessionID: Self.sessionID, meetingID: Self.meetingID, status: "partial",
                    intents: [
                        .init(type: "ask_agenda", confidence: 0.9, fulfilment: "pass"),
                        .init(type: "ask_fact", subject: "budget", confidence: 0.8, fulfilment: "fail"),
                    ],
                    summary: "1 of 2 requests fulfilled: the budget question got \"I don't know\" though the prep notes had it.",
                    analyser: "embedded"),
                id: "00000000-0000-4000-8000-00000000000a"),
            fixture: "monitoring.result.v2")
    }

    @Test("monitoring.diagnosis.v1 matches its golden file both ways") func callDiagnosed() throws {
        try check(
            Self.envelope(
                CallDiagnosed(
                    sessionID: Self.sessionID, meetingID: Self.meetingID, status: "partial",
                    rootCauses: ["ignored_context", "slow_reply"],
                    summary: "The agent said it did not know the budget, which the prep notes had; one reply took 2.4 s."),
                id: "00000000-0000-4000-8000-00000000000f"),
            fixture: "monitoring.diagnosis.v1")
    }

    @Test("calendar.push.received.v1 matches its golden file both ways") func calendarPushReceived() throws {
        try check(
            Self.envelope(
                CalendarPushReceived(
                    provider: "google", channelID: "attache-6f1c2b9e", resourceID: "o3hgv1538sdjfh", resourceState: "exists",
                    messageNumber: 10),
                id: "00000000-0000-4000-8000-00000000000d"),
            fixture: "calendar.push.received.v1")
    }

    @Test("calendar.reauthorisation.needed.v1 matches its golden file both ways") func calendarReauthorisationNeeded() throws {
        try check(
            Self.envelope(
                CalendarReauthorisationNeeded(
                    connectionID: Self.workflowID, owner: "alex@example.com", provider: "google", calendarName: "Work",
                    reason: "invalid_grant: Token has been expired or revoked."),
                id: "00000000-0000-4000-8000-00000000000e"),
            fixture: "calendar.reauthorisation.needed.v1")
    }

    @Test("calendar.sync.requested.v1 matches its golden file both ways") func calendarSyncRequested() throws {
        try check(
            Self.envelope(
                CalendarSyncRequested(connectionID: Self.workflowID, requestedBy: "console"),
                id: "00000000-0000-4000-8000-000000000015"),
            fixture: "calendar.sync.requested.v1")
    }

    @Test("slack.action.received.v1 matches its golden file both ways") func slackActionReceived() throws {
        try check(
            Self.envelope(
                SlackActionReceived(
                    user: "U0OWNER", channel: "D0DM", messageTS: "1796810300.000200", actionID: "prep_start",
                    value: Self.workflowID.uuidString.lowercased(), actionTS: "1796810401.000300"),
                id: "00000000-0000-4000-8000-00000000000f"),
            fixture: "slack.action.received.v1")
    }

    @Test("slack.message.received.v1 matches its golden file both ways") func slackMessageReceived() throws {
        try check(
            Self.envelope(
                SlackMessageReceived(
                    eventID: "Ev0PV52K21", user: "U0OWNER", channel: "D0DM", text: "Announce the Q1 reorg",
                    ts: "1796810402.000400"),
                id: "00000000-0000-4000-8000-000000000010"),
            fixture: "slack.message.received.v1")
    }

    @Test("sms.status.received.v1 matches its golden file both ways") func smsStatusReceived() throws {
        try check(
            Self.envelope(
                SMSStatusReceived(
                    messageSID: "SM00000000000000000000000000000001", status: "undelivered", errorCode: 30003,
                    to: "+15555550100", deliveryID: Self.workflowID),
                id: "00000000-0000-4000-8000-000000000011"),
            fixture: "sms.status.received.v1")
    }

    @Test("bot.problem.detected.v1 matches its golden file both ways") func botProblemDetected() throws {
        try check(
            Self.envelope(
                BotProblemDetected(
                    meetingID: Self.meetingID, botID: "b0b0b0b0-0000-4000-8000-000000000001", problem: "meeting_not_found",
                    status: .fatal, explanation: "The bot could not find the meeting: check the meeting link.",
                    detectedAt: Date(timeIntervalSince1970: 1_796_810_400)),
                id: "00000000-0000-4000-8000-000000000012"),
            fixture: "bot.problem.detected.v1")
    }

    @Test("bot.join.cancelled.v1 matches its golden file both ways") func botJoinCancelled() throws {
        try check(
            Self.envelope(
                BotJoinCancelled(meetingID: Self.meetingID, workflowID: Self.workflowID, reason: "removed from the calendar"),
                id: "00000000-0000-4000-8000-000000000013"),
            fixture: "bot.join.cancelled.v1")
    }

    @Test("bot.artifacts.ready.v1 matches its golden file both ways") func botArtifactsReady() throws {
        try check(
            Self.envelope(
                BotArtifactsReady(
                    meetingID: Self.meetingID, botID: "b0b0b0b0-0000-4000-8000-000000000001",
                    transcript: [.init(speaker: "Alex Rivera", text: "Let's start with the hiring plan.", start: 1.5)],
                    recordingURL: "https://recordings.example/r1.mp4", fetchedAt: Date(timeIntervalSince1970: 1_796_810_400)),
                id: "00000000-0000-4000-8000-000000000014"),
            fixture: "bot.artifacts.ready.v1")
    }

    @Test("a message of another type or version is refused, not misread")
    func typeMismatchIsRefused() throws {
        var json =
            try JSONSerialization.jsonObject(
                with: MessageCoding.encoder().encode(
                    Self.envelope(
                        ClassificationCancelled(meetingID: Self.meetingID, meetingRevision: 1, reason: "x"),
                        id: "00000000-0000-4000-8000-00000000000b")))
            as! [String: Any]
        json["type"] = "classification.cancelled.v2"
        let data = try JSONSerialization.data(withJSONObject: json)
        #expect(throws: DecodingError.self) {
            try MessageCoding.decoder().decode(Envelope<ClassificationCancelled>.self, from: data)
        }
        let header = try MessageCoding.decoder().decode(EnvelopeHeader.self, from: data)
        #expect(header.type == MessageType("classification.cancelled", version: 2))
        #expect(header.type.routingKey == "classification.cancelled")
    }

    @Test("a caused event keeps tenant, correlation and trace, and names its cause")
    func causationChain() {
        let cause = Self.envelope(
            ClassificationCancelled(meetingID: Self.meetingID, meetingRevision: 1, reason: "x"),
            id: "00000000-0000-4000-8000-00000000000c")
        let effect = Envelope(
            MeetingCancelled(meetingID: Self.meetingID, revision: 2, source: "s", externalID: "e", reason: "r"), causedBy: cause)
        #expect(effect.tenantID == "acme")
        #expect(effect.correlationID == Self.correlationID)
        #expect(effect.causationID == cause.id)
        #expect(effect.id != cause.id)
        let causeTrace = TraceContext(parsing: cause.traceparent)
        let effectTrace = TraceContext(parsing: effect.traceparent)
        #expect(effectTrace?.traceID == causeTrace?.traceID)
        #expect(effectTrace?.spanID != causeTrace?.spanID)
    }

    @Test("an event started without a cause is in its correlation's trace, so one meeting is one trace")
    func storyTrace() throws {
        let first = Envelope(tenantID: "acme", correlationID: Self.correlationID, payload: Self.cancelled)
        let second = Envelope(tenantID: "acme", correlationID: Self.correlationID, payload: Self.cancelled)
        let other = Envelope(tenantID: "acme", correlationID: Self.causationID, payload: Self.cancelled)
        let firstTrace = try #require(TraceContext(parsing: first.traceparent))
        #expect(firstTrace.traceID == "11111111222243338444555555555555")
        #expect(TraceContext(parsing: second.traceparent)?.traceID == firstTrace.traceID)
        #expect(TraceContext(parsing: second.traceparent)?.spanID != firstTrace.spanID)
        #expect(TraceContext(parsing: other.traceparent)?.traceID != firstTrace.traceID)
        let zero = Envelope(
            tenantID: "acme", correlationID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), payload: Self.cancelled
        )
        #expect(TraceContext(parsing: zero.traceparent) != nil, "the all-zero trace id is not valid W3C: a random one instead")
    }

    @Test("an event created in a span of its cause's trace names that span as its parent; in another trace's, its cause's")
    func currentSpanIsTheParent() throws {
        let cause = Self.envelope(Self.cancelled, id: "00000000-0000-4000-8000-00000000000c")
        let causeTrace = try #require(TraceContext(parsing: cause.traceparent))
        let handling = TraceContext(traceID: causeTrace.traceID, spanID: "1234567890abcdef", sampled: true)
        let inSpan = TraceContext.$current.withValue(handling) { Envelope(Self.cancelled, causedBy: cause) }
        #expect(inSpan.traceparent == handling.traceparent)
        let unrelated = TraceContext.newRoot()
        let elsewhere = TraceContext.$current.withValue(unrelated) { Envelope(Self.cancelled, causedBy: cause) }
        #expect(elsewhere.traceparent == cause.traceparent, "the cause's own span, which is exported, is the parent")
        // A story's first event, created in a span of that story's trace, hangs under it too.
        let story = TraceContext.story(Self.correlationID)
        let storySpan = TraceContext(traceID: story.traceID, spanID: "fedcba0987654321", sampled: true)
        let started = TraceContext.$current.withValue(storySpan) {
            Envelope(tenantID: "acme", correlationID: Self.correlationID, payload: Self.cancelled)
        }
        #expect(started.traceparent == storySpan.traceparent)
    }

    static let cancelled = ClassificationCancelled(meetingID: meetingID, meetingRevision: 1, reason: "x")

    @Test("traceparent headers follow W3C Trace Context")
    func traceparent() {
        #expect(TraceContext(parsing: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.sampled == true)
        #expect(TraceContext(parsing: "00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(TraceContext(parsing: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7") == nil)
        #expect(TraceContext(parsing: "00-4bf92f3577b34da6-a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        let root = TraceContext.newRoot()
        #expect(TraceContext(parsing: root.traceparent) == root)
    }
}
