import Foundation
import Shared
import TestSupport
import Testing

@testable import PrepOrchestrator

/// What bot-gateway reports about a meeting's bot reaches the meeting's owner.
@Suite("Bot problems told to the owner")
struct BotProblemTests {
    func report(_ problem: String, explanation: String, meeting: UUID, to prep: PrepHarness) async throws {
        let envelope = Envelope(
            tenantID: "acme", correlationID: meeting,
            payload: BotProblemDetected(
                meetingID: meeting, botID: "bot-1", problem: problem, status: .fatal, explanation: explanation,
                detectedAt: Date()))
        try await BotProblemNotifications(wakeup: prep.wakeup).problemDetected(
            envelope, try prep.context(BotProblemDetected.messageType, id: envelope.id))
    }

    @Test("a fatal sub-code reaches the owner through their channel once, in the gateway's plain words")
    func toldOnce() async throws {
        try await withPrep { prep in
            let classified = classification()
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()
            let explanation = "The bot could not find the meeting: check that the calendar invite has the right meeting link."
            try await report("meeting_not_found", explanation: explanation, meeting: meeting, to: prep)
            try await report("meeting_not_found", explanation: explanation, meeting: meeting, to: prep)  // sent again
            try await prep.settle()
            let told = try await prep.notifications(of: meeting).filter { $0.kind == "bot_problem" }
            #expect(told.count == 1)
            #expect(told.first?.text.hasPrefix("The meeting bot for “Platform staff meeting”") == true)
            #expect(told.first?.text.contains(explanation) == true)
            #expect(try await prep.steps(of: meeting)["notify_bot_problem"] == "done")
        }
    }

    @Test("a report about a meeting Attaché is not preparing tells nobody")
    func notOurs() async throws {
        try await withPrep { prep in
            try await report("meeting_not_found", explanation: "x", meeting: UUID(), to: prep)
            try await prep.settle()
            let rows = try await prep.pool.withConnection { db in try db.query("SELECT * FROM prep.bot_problems") }
            #expect(rows.isEmpty)
        }
    }
}
