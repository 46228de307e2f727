import Delivery
import Foundation
import Logging
import MediaConnection
import ServiceLifecycle
import Shared
import Store
import VoicePipeline

/// Follows the bot through the call. When it starts recording, this replica claims the session
/// and opens a voice pipeline for it; the camera webpage's media connection then finds it here.
/// When the call ends, the pipeline closes (its turns all stored) and `call.completed` carries
/// the conversation. Whichever replica receives the end, the one that owns the call closes it.
struct CallHandlers: Sendable {
    let calls: LiveCalls
    let engines: VoiceEngines
    let companies: TenantCompanies
    let recorder: TurnRecorder
    let instanceID: String
    let mediaURL: String
    /// How long the end of a call owned by another replica waits for it to close the pipeline,
    /// after which that replica is taken to be gone and the call completes without it.
    var ownerGrace: Duration = .seconds(30)

    func register(in routes: inout EventRoutes) {
        routes.on(MeetingClassified.self, batching: .sharedTransaction, meetingClassified)
        routes.on(PrepMaterialsReady.self, batching: .sharedTransaction, prepMaterialsReady)
        routes.on(BotStatusChanged.self, statusChanged)
        routes.on(BotTranscriptReceived.self, transcriptReceived)
    }

    /// Keeps what the agent needs to know about the meeting, the newest revision only.
    func meetingClassified(_ envelope: Envelope<MeetingClassified>, _ context: HandlerContext) async throws {
        let meeting = envelope.payload.meeting
        let meetingType = envelope.payload.meetingType
        let participants = (meeting.organizer.map { [$0] } ?? []) + meeting.attendees
        _ = try await context.once { db in
            try db.execute(
                """
                INSERT INTO realtime.meetings (meeting_id, revision, title, description, starts_at, participants, meeting_type)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (meeting_id) DO UPDATE SET
                    revision = EXCLUDED.revision, title = EXCLUDED.title, description = EXCLUDED.description,
                    starts_at = EXCLUDED.starts_at, participants = EXCLUDED.participants, meeting_type = EXCLUDED.meeting_type
                WHERE realtime.meetings.revision < EXCLUDED.revision
                """,
                [
                    meeting.meetingID, meeting.revision, meeting.title, meeting.description, meeting.start,
                    try JSONBValue(participants.map { $0.name ?? $0.email }), meetingType,
                ])
        }
    }

    /// Keeps the newest generation of the meeting's prep materials, for calls that start later.
    func prepMaterialsReady(_ envelope: Envelope<PrepMaterialsReady>, _ context: HandlerContext) async throws {
        let materials = envelope.payload
        _ = try await context.once { db in
            try db.execute(
                """
                INSERT INTO realtime.prep_materials (meeting_id, generated_at, agenda, question_bank, notes)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (meeting_id) DO UPDATE SET
                    generated_at = EXCLUDED.generated_at, agenda = EXCLUDED.agenda,
                    question_bank = EXCLUDED.question_bank, notes = EXCLUDED.notes
                WHERE realtime.prep_materials.generated_at < EXCLUDED.generated_at
                """,
                [
                    materials.meetingID, materials.generatedAt, try JSONBValue(materials.agenda),
                    try JSONBValue(materials.questionBank), try JSONBValue(materials.notes),
                ])
        }
    }

    func statusChanged(_ envelope: Envelope<BotStatusChanged>, _ context: HandlerContext) async throws {
        switch envelope.payload.status {
        case .inCallRecording: try await callStarted(envelope, context)
        case .callEnded, .fatal: try await callEnded(envelope, context)
        default: return
        }
    }

    private func callStarted(_ envelope: Envelope<BotStatusChanged>, _ context: HandlerContext) async throws {
        let change = envelope.payload
        let revisions = context.revisions
        // The provider's timestamps order a bot's statuses: a late "recording" never reopens an
        // ended call (its session row exists, ended, so nothing is inserted).
        let revision = Int(change.changedAt.timeIntervalSince1970 * 1_000_000)
        let (instanceID, mediaURL) = (instanceID, mediaURL)
        let claimed = try await context.once { db -> (session: UUID, meetingContext: MeetingContext)? in
            guard try revisions.acceptNewer("bot-status", id: change.botID, revision: revision, on: db) else { return nil }
            guard
                let session = try db.queryOne(
                    """
                    INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, owner, media_url) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (meeting_id, bot_id) DO NOTHING
                    RETURNING id
                    """, [UUID(), change.meetingID, change.botID, change.changedAt, instanceID, mediaURL])
            else { return nil }
            let sessionID = try session.uuid("id")
            let meetingContext = try Self.meetingContext(change.meetingID, on: db)
            try db.execute(
                "UPDATE realtime.sessions SET context = $2 WHERE id = $1",
                [sessionID, try JSONBValue(meetingContext.factLines)])
            return (sessionID, meetingContext)
        }
        guard let claimed = claimed ?? nil else { return }
        let company: String
        do { company = try companies.company(of: envelope.tenantID) } catch {
            // The file was fine at start; the call is not lost over its name plate.
            context.logger.warning(
                "the tenant's company is unreadable; the agent names the default", metadata: ["problem": "\(error)"])
            company = companies.fallback
        }
        await open(
            session: claimed.session, meetingID: change.meetingID, botID: change.botID, context: claimed.meetingContext,
            company: company, logger: context.logger)
    }

    /// Opens the call's pipeline. A pipeline that cannot be built leaves the call without an
    /// agent (the call itself goes on and is still reported), with the reason logged and stored.
    func open(
        session: UUID, meetingID: UUID, botID: String, context meetingContext: MeetingContext, company: String,
        logger: Logger
    ) async {
        var logger = logger
        logger[metadataKey: "meeting_id"] = "\(meetingID)"
        let media = MediaRelay()
        let reason: String
        do {
            let pipeline = try engines.pipeline(context: meetingContext, company: company, sink: media, logger: logger)
            let call = LiveCall(
                sessionID: session, meetingID: meetingID, botID: botID, company: company, pipeline: pipeline, media: media)
            guard await calls.add(call).isNew else { return }
            do {
                try await call.start(recorder: recorder)
                logger.info("call pipeline opened", metadata: ["session_id": "\(session)"])
                return
            } catch {
                await calls.remove(meetingID: meetingID)
                reason = "the voice pipeline did not start: \(error)"
            }
        } catch {
            reason = "\(error)"
        }
        logger.error("call pipeline not created; the call goes on without the agent", metadata: ["reason": "\(reason)"])
        _ = try? await recorder.pool.withConnection { db in
            try db.execute("UPDATE realtime.sessions SET skipped_reason = $2 WHERE id = $1", [session, reason])
        }
    }

    private func callEnded(_ envelope: Envelope<BotStatusChanged>, _ context: HandlerContext) async throws {
        let change = envelope.payload
        // Ours: close it first, so that every turn it heard is stored before the report.
        if let call = await calls.call(forMeeting: change.meetingID), call.botID == change.botID {
            try await calls.closeEnded(meetingID: change.meetingID, recordingIn: context.pool)
            context.logger.info("call pipeline closed", metadata: ["meeting_id": "\(change.meetingID)"])
        }
        // The end is committed before anything else, so that a replica owning the call sees it.
        // A call whose start was never seen (its status still on its way) still ends, and is
        // still reported.
        guard
            let session = try await context.pool.withConnection({ db in
                try db.queryOne(
                    """
                    INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, ended_at, end_seen_at) VALUES ($1, $2, $3, $4, $4, now())
                    ON CONFLICT (meeting_id, bot_id) DO UPDATE SET
                        ended_at = COALESCE(realtime.sessions.ended_at, EXCLUDED.ended_at),
                        end_seen_at = COALESCE(realtime.sessions.end_seen_at, now())
                    RETURNING id, owner, pipeline_closed_at IS NOT NULL AS closed,
                              now() - end_seen_at > make_interval(secs => $5) AS owner_overdue
                    """, [UUID(), change.meetingID, change.botID, change.changedAt, Double(ownerGrace.components.seconds)])
            })
        else { return }
        let owner = try session.optionalString("owner")
        if let owner, owner != instanceID, try !session.bool("closed"), try !session.bool("owner_overdue") {
            throw OwnerStillClosing(owner: owner, meetingID: change.meetingID)
        }
        let sessionID = try session.uuid("id")
        let outbox = context.outbox
        _ = try await context.once { db in
            guard
                let completed = try db.queryOne(
                    """
                    UPDATE realtime.sessions SET completed_at = now() WHERE id = $1 AND completed_at IS NULL
                    RETURNING started_at, ended_at, context, skipped_reason
                    """, [sessionID])
            else { return }  // reported already
            let turns = try Self.turns(of: sessionID, on: db)
            var problems = try Self.problems(of: sessionID, on: db)
            if !turns.contains(where: { $0.role == .agent }) {
                let reason =
                    try completed.optionalString("skipped_reason").map { "the call had no agent: \($0)" }
                    ?? "the agent never spoke: the camera page did not connect, or connected too late"
                problems.append(CallProblem(kind: .greetingFailed, at: try completed.date("ended_at"), detail: reason))
            }
            let contextLines: [String]? =
                try completed.optionalString("context") == nil ? nil : completed.decode([String].self, column: "context")
            try outbox.append(
                Envelope(
                    CallCompleted(
                        sessionID: sessionID, meetingID: change.meetingID, botID: change.botID,
                        startedAt: try completed.date("started_at"), endedAt: try completed.date("ended_at"),
                        turns: turns, context: contextLines, problems: problems),
                    causedBy: envelope), on: db)
        }
    }

    /// A transcript from the meeting provider. Kept as the call's record when the agent's own
    /// pipeline heard nothing (no media connection, or no pipeline).
    func transcriptReceived(_ envelope: Envelope<BotTranscriptReceived>, _ context: HandlerContext) async throws {
        let segment = envelope.payload
        _ = try await context.once { db in
            guard
                let session = try db.queryOne(
                    "SELECT id FROM realtime.sessions WHERE meeting_id = $1 AND bot_id = $2", [segment.meetingID, segment.botID])
            else {
                // The status change that opens the session may still be on its way: retry later.
                throw SessionNotOpenYet(meetingID: segment.meetingID)
            }
            try db.execute(
                "INSERT INTO realtime.turns (session_id, role, speaker, text, spoken_at, source) VALUES ($1, 'participant', $2, $3, $4, 'provider')",
                [try session.uuid("id"), segment.speaker, segment.text, segment.spokenAt])
        }
    }

    /// The pipeline's turns if it heard anything, otherwise the provider's transcript.
    static func turns(of session: UUID, on db: PostgresConnection) throws -> [CallTurn] {
        try db.query(
            """
            SELECT role, speaker, text, spoken_at, interrupted, latency FROM realtime.turns
            WHERE session_id = $1 AND source = (
                CASE WHEN EXISTS (SELECT 1 FROM realtime.turns WHERE session_id = $1 AND source = 'pipeline')
                THEN 'pipeline' ELSE 'provider' END)
            ORDER BY spoken_at, id
            """, [session]
        ).map { row in
            let role = CallTurn.Role(rawValue: try row.string("role")) ?? .participant
            return CallTurn(
                role: role, speaker: try row.string("speaker"), text: try row.string("text"), at: try row.date("spoken_at"),
                interrupted: role == .agent ? try row.bool("interrupted") : nil,
                latency: try row.optionalString("latency") == nil ? nil : row.decode(TurnLatency.self, column: "latency"))
        }
    }

    static func problems(of session: UUID, on db: PostgresConnection) throws -> [CallProblem] {
        try db.query("SELECT kind, detail, at FROM realtime.call_problems WHERE session_id = $1 ORDER BY at, id", [session])
            .map {
                CallProblem(
                    kind: CallProblem.Kind(rawValue: try $0.string("kind")), at: try $0.date("at"),
                    detail: try $0.string("detail"))
            }
    }

    static func meetingContext(_ meetingID: UUID, on db: PostgresConnection) throws -> MeetingContext {
        var context = MeetingContext(title: "this meeting")
        if let meeting = try db.queryOne(
            "SELECT title, description, starts_at, participants FROM realtime.meetings WHERE meeting_id = $1", [meetingID])
        {
            context.title = try meeting.string("title")
            context.startsAt = try meeting.date("starts_at")
            context.participants = try meeting.decode([String].self, column: "participants")
            let description = spokenDescription(try meeting.string("description"))
            if !description.isEmpty { context.notes.append("Description: " + description) }
        }
        if let materials = try db.queryOne(
            "SELECT agenda, question_bank, notes FROM realtime.prep_materials WHERE meeting_id = $1", [meetingID])
        {
            context.agenda = try materials.decode([String].self, column: "agenda")
            let questions = try materials.decode([String].self, column: "question_bank")
            if !questions.isEmpty { context.notes.append("Questions to raise: " + questions.joined(separator: " ")) }
            context.notes += try materials.decode([PrepMaterialsReady.Note].self, column: "notes").map {
                "\($0.label): \($0.text)"
            }
        }
        return context
    }

    /// Links (the conference URL, usually, with its "Join:") are no use read aloud.
    private static func spokenDescription(_ description: String) -> String {
        var words: [Substring] = []
        for word in description.split(whereSeparator: \.isWhitespace) {
            if word.hasPrefix("http://") || word.hasPrefix("https://") {
                if words.last?.hasSuffix(":") == true { words.removeLast() }
            } else {
                words.append(word)
            }
        }
        return words.joined(separator: " ")
    }
}

struct SessionNotOpenYet: Error, CustomStringConvertible {
    var meetingID: UUID
    var description: String { "no call session for meeting \(meetingID) yet" }
}

/// Retried: the replica that owns the call has not closed its pipeline yet.
struct OwnerStillClosing: Error, CustomStringConvertible {
    var owner: String
    var meetingID: UUID
    var description: String { "the call for meeting \(meetingID) is still open on replica \(owner)" }
}
