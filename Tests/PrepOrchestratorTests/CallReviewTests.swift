import Foundation
import Shared
import TestSupport
import Testing

@testable import PrepOrchestrator

/// monitoring-worker's diagnosis of a failed call reaches the meeting's owner.
@Suite("Failed calls told to the owner")
struct CallReviewTests {
    func diagnose(_ status: String, summary: String, meeting: UUID, session: UUID = UUID(), to prep: PrepHarness)
        async throws
    {
        let envelope = Envelope(
            tenantID: "acme", correlationID: meeting,
            payload: CallDiagnosed(
                sessionID: session, meetingID: meeting, status: status, rootCauses: ["ignored_context"], summary: summary))
        try await CallReviewNotifications(wakeup: prep.wakeup).callDiagnosed(
            envelope, try prep.context(CallDiagnosed.messageType, id: envelope.id))
    }

    @Test("a failed call's diagnosis reaches the owner once, in its one line; a partial call's does not")
    func toldOnce() async throws {
        try await withPrep { prep in
            let classified = classification()
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()
            let summary = "The agent said it did not know the budget, which its prep notes had."
            let session = UUID()
            try await diagnose("fail", summary: summary, meeting: meeting, session: session, to: prep)
            try await diagnose("fail", summary: summary, meeting: meeting, session: session, to: prep)  // sent again
            try await diagnose("partial", summary: "One of two questions went unanswered.", meeting: meeting, to: prep)
            try await prep.settle()
            let told = try await prep.notifications(of: meeting).filter { $0.kind == "call_review" }
            #expect(told.count == 1)
            #expect(told.first?.text.hasPrefix("In “Platform staff meeting”") == true)
            #expect(told.first?.text.contains(summary) == true)
            #expect(try await prep.steps(of: meeting)["notify_call_review"] == "done")
        }
    }

    @Test("a diagnosis of a meeting Attaché did not prepare tells nobody")
    func notOurs() async throws {
        try await withPrep { prep in
            try await diagnose("fail", summary: "x", meeting: UUID(), to: prep)
            try await prep.settle()
            let rows = try await prep.pool.withConnection { db in try db.query("SELECT * FROM prep.call_reviews") }
            #expect(rows.isEmpty)
        }
    }
}
