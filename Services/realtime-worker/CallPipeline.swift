import Foundation
import Logging
import Shared

/// One live call: what the agent hears. The speech pipeline (speech-to-text, the LLM, speech,
/// the avatar) will hang off this object; today it keeps the conversation as it is heard.
actor CallPipeline {
    let sessionID: UUID
    let meetingID: UUID
    let botID: String
    private(set) var heard: [CallTurn] = []
    private(set) var isClosed = false

    init(sessionID: UUID, meetingID: UUID, botID: String) {
        self.sessionID = sessionID
        self.meetingID = meetingID
        self.botID = botID
    }

    func hear(_ turn: CallTurn) { heard.append(turn) }

    /// Stops everything the pipeline runs; it takes no further input.
    func close() { isClosed = true }
}

/// Live pipelines by meeting id, so that whatever carries the call's media finds its pipeline.
actor PipelineRegistry {
    private var pipelines: [UUID: CallPipeline] = [:]

    func open(sessionID: UUID, meetingID: UUID, botID: String) -> CallPipeline {
        if let existing = pipelines[meetingID] { return existing }
        let pipeline = CallPipeline(sessionID: sessionID, meetingID: meetingID, botID: botID)
        pipelines[meetingID] = pipeline
        return pipeline
    }

    func pipeline(forMeeting meetingID: UUID) -> CallPipeline? { pipelines[meetingID] }

    func remove(meetingID: UUID) async {
        await pipelines.removeValue(forKey: meetingID)?.close()
    }

    var liveMeetings: [UUID] { Array(pipelines.keys) }

    func closeAll() async {
        for pipeline in pipelines.values { await pipeline.close() }
        pipelines.removeAll()
    }
}
