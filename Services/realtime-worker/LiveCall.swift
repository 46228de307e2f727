import Foundation
import Logging
import MediaConnection
import Metrics
import Shared
import Store
import VoicePipeline

/// A call in progress on this replica: its voice pipeline, the relay to its camera webpage, and
/// the task that stores each turn as it happens (so that a crash mid-call loses none).
actor LiveCall {
    nonisolated let sessionID: UUID
    nonisolated let meetingID: UUID
    nonisolated let botID: String
    /// The company the agent joins from (the tenant's), for the page's name plate.
    nonisolated let company: String
    nonisolated let pipeline: VoicePipeline
    nonisolated let media: MediaRelay
    private var recording: Task<Void, Never>?

    init(sessionID: UUID, meetingID: UUID, botID: String, company: String, pipeline: VoicePipeline, media: MediaRelay) {
        self.sessionID = sessionID
        self.meetingID = meetingID
        self.botID = botID
        self.company = company
        self.pipeline = pipeline
        self.media = media
    }

    func start(recorder: TurnRecorder) async throws {
        try await pipeline.start()
        let (pipeline, sessionID) = (pipeline, sessionID)
        recording = Task {
            for await event in pipeline.events { await recorder.record(event, session: sessionID) }
        }
    }

    /// Stops the pipeline and returns once every turn it produced is stored.
    func close() async {
        await pipeline.stop()
        await recording?.value
        recording = nil
        media.disconnect()
    }
}

/// Stores the pipeline's turns in realtime.turns, and what failed in realtime.call_problems.
struct TurnRecorder: Sendable {
    let pool: PostgresPool
    let agentName: String
    let logger: Logger

    func record(_ event: PipelineEvent, session: UUID) async {
        let turn: CallTurn
        switch event {
        case let .problem(kind, detail):
            await record(CallProblem(kind: kind, at: Date(), detail: detail), session: session)
            return
        case let .heard(text):
            turn = CallTurn(role: .participant, speaker: "participant", text: text, at: Date())
        case let .said(text, interrupted, latency):
            guard !text.isEmpty else { return }
            if let latency { Self.export(latency) }
            turn = CallTurn(role: .agent, speaker: agentName, text: text, at: Date(), interrupted: interrupted, latency: latency)
        }
        do {
            let latency = try turn.latency.map { try JSONBValue($0) }
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO realtime.turns (session_id, role, speaker, text, spoken_at, source, interrupted, latency)
                    VALUES ($1, $2, $3, $4, $5, 'pipeline', $6, $7)
                    """,
                    [session, turn.role.rawValue, turn.speaker, turn.text, turn.at, turn.interrupted ?? false, latency])
            }
        } catch {
            logger.error("could not store a call turn", metadata: ["session_id": "\(session)", "error": "\(error)"])
        }
    }

    /// Each stage the reply reached, for `attache_voice_reply_stage_seconds{stage}`: the same
    /// figures as the turn's stored latency, measured from the end of the participant's speech.
    static func export(_ latency: TurnLatency) {
        let stages: [(String, Double?)] = [
            ("stt_final", latency.sttFinal), ("llm_start", latency.llmStart), ("llm_first_token", latency.llmFirstToken),
            ("first_sentence", latency.firstSentence), ("tts_first_audio", latency.ttsFirstAudio),
            ("first_audio_out", latency.firstAudioOut), ("llm_done", latency.llmDone),
        ]
        for case let (stage, milliseconds?) in stages {
            // A stage stamped before the speech's end (a draft begun at a pause) kept the listener
            // waiting for nothing: it counts as 0, as a histogram's observations cannot be negative.
            Timer(label: "attache_voice_reply_stage_seconds", dimensions: [("stage", stage)])
                .recordNanoseconds(Int64(max(0, milliseconds) * 1_000_000))
        }
    }

    private func record(_ problem: CallProblem, session: UUID) async {
        do {
            _ = try await pool.withConnection { db in
                try db.execute(
                    "INSERT INTO realtime.call_problems (session_id, kind, detail, at) VALUES ($1, $2, $3, $4)",
                    [session, problem.kind.rawValue, problem.detail, problem.at])
            }
        } catch {
            logger.error("could not store a call problem", metadata: ["session_id": "\(session)", "error": "\(error)"])
        }
    }
}

/// The calls live on this replica, by meeting, so that a media connection finds its call.
actor LiveCalls {
    private var calls: [UUID: LiveCall] = [:] {
        // Exported so that an operator (and the fault suite) sees calls left open: after every
        // call has ended it must read 0.
        didSet { Gauge(label: "attache_realtime_live_calls").record(calls.count) }
    }

    /// Adds `call` unless the meeting already has one; returns the one that stays.
    func add(_ call: LiveCall) -> (call: LiveCall, isNew: Bool) {
        if let existing = calls[call.meetingID] { return (existing, false) }
        calls[call.meetingID] = call
        return (call, true)
    }

    func call(forMeeting meetingID: UUID) -> LiveCall? { calls[meetingID] }

    func remove(meetingID: UUID) async {
        await calls.removeValue(forKey: meetingID)?.close()
    }

    /// Closes an ended call (every turn it heard stored) and records that its pipeline is
    /// closed, which lets whichever replica reports the call go ahead.
    func closeEnded(meetingID: UUID, recordingIn pool: PostgresPool) async throws {
        guard let call = calls.removeValue(forKey: meetingID) else { return }
        await call.close()
        _ = try await pool.withConnection { db in
            try db.execute(
                "UPDATE realtime.sessions SET pipeline_closed_at = now() WHERE id = $1 AND pipeline_closed_at IS NULL",
                [call.sessionID])
        }
    }

    var liveMeetings: [UUID] { Array(calls.keys) }

    func closeAll() async {
        let closing = calls.values
        calls.removeAll()
        await withTaskGroup(of: Void.self) { group in
            for call in closing { group.addTask { await call.close() } }
        }
    }
}
