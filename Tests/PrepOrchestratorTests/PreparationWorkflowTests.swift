import Foundation
import Shared
import Store
import TestSupport
import Testing

@testable import PrepOrchestrator

/// The preparation workflow against a real PostgreSQL: from the classification to the owner's
/// answers, the materials and their links, the reminder and the bot.
@Suite("Preparation workflow")
struct PreparationWorkflowTests {
    @Test("the owner is asked on the prep page, answers, and receives materials built from the answers and the context")
    func happyPath() async throws {
        try await withPrep { prep in
            let classified = classification()
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()

            var steps = try await prep.steps(of: meeting)
            #expect(steps["load_meeting"] == "done")
            #expect(steps["gather_context"] == "done: 1 of 4 unavailable", "decisions.yaml is malformed in the fixtures")
            #expect(steps["send_prep_notification"] == "done")
            #expect(steps["wait_for_owner"] == "waiting")
            #expect(steps["request_bot_join"] == "pending")
            let asked = try #require(try await prep.notifications(of: meeting).first)
            #expect(asked.kind == "prep")
            #expect(asked.text.contains("Budget: Compute: +$45K over plan"))
            #expect(asked.text.contains("Decisions needed: unavailable"))
            let page = try #require(PrepHarness.link("Start prep", in: asked.text))

            let form = try await prep.get(page)
            #expect(form.status == 200)
            #expect(form.text.contains("Which big rocks need a status update or a call for help?"))
            #expect(form.text.contains("Checkout v2 launch [at risk] (Priya Natarajan)"))
            // One answer now, the rest with the finish; the second question skipped.
            #expect(try await prep.post(page, form: ["answer_0": "Announce the Q1 reorg", "action": "save"]).status == 200)
            #expect(try await prep.get(page).text.contains("Announce the Q1 reorg"))
            let finished = try await prep.post(
                page,
                form: [
                    "answer_0": "Announce the Q1 reorg", "skip_1": "on", "answer_2": "Two hires start in January",
                    "action": "finish",
                ])
            #expect(finished.status == 200)
            #expect(finished.text.contains("Generating your materials"))
            try await prep.settle()

            steps = try await prep.steps(of: meeting)
            #expect(steps["wait_for_owner"] == "done: the owner answered")
            for step in ["generate_materials", "store_materials", "send_materials", "schedule_reminder"] {
                #expect(steps[step] == "done", "\(step)")
            }
            #expect(steps["send_reminder"] == "pending", "two hours before the meeting")
            let sent = try #require(try await prep.notifications(of: meeting).last)
            #expect(sent.kind == "materials")
            let agenda = try await prep.get(try #require(PrepHarness.link("Agenda", in: sent.text)))
            #expect(agenda.status == 200)
            #expect(agenda.text.contains("Goal: Announce the Q1 reorg"))
            #expect(agenda.text.contains("Compute: +$45K over plan"))
            #expect(agenda.text.contains("Decisions needed context was unavailable"))
            let notes = try await prep.get(try #require(PrepHarness.link("Notes template", in: sent.text)))
            #expect(notes.text.contains("## Action items"))
            let questions = try await prep.get(try #require(PrepHarness.link("Question bank", in: sent.text)))
            #expect(questions.text.contains("Priya Natarajan: what is the latest on “Checkout v2 launch”"))
            #expect(questions.text.contains("Which big rocks need a status update or a call for help?"), "the skipped question")

            let ready = try #require(try await prep.published(PrepMaterialsReady.messageType).first)
            #expect(ready.contains("Announce the Q1 reorg"))
            // The token was spent: the page says so instead of opening again.
            let again = try await prep.get(page)
            #expect(again.status == 410)
            #expect(again.text.contains("already finished"))
        }
    }

    @Test("an owner who never answers: the wait times out and the materials say they were made without the answers")
    func ownerNeverAnswers() async throws {
        try await withPrep { prep in
            let classified = classification()
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()
            let page = try #require(PrepHarness.link("Start prep", in: try await prep.notifications(of: meeting)[0].text))
            // The deadline comes.
            _ = try await prep.pool.withConnection { db in
                try db.execute("UPDATE prep.owner_tokens SET expires_at = now()")
                try db.execute("UPDATE prep.steps SET due_at = now() WHERE step = 'wait_for_owner'")
            }
            try await prep.settle()

            let steps = try await prep.steps(of: meeting)
            #expect(steps["wait_for_owner"] == "done: timed out: the owner did not finish answering")
            #expect(steps["send_materials"] == "done")
            let sent = try #require(try await prep.notifications(of: meeting).last)
            #expect(sent.text.contains("Prepared without the owner's answers: no answers by the deadline."))
            let late = try await prep.get(page)
            #expect(late.status == 410)
            #expect(late.text.contains("The time to answer has passed"))
        }
    }

    @Test("a meeting cancelled after its bot was asked for calls the bot off; one cancelled before asks for nothing")
    func cancelledAfterTheBot() async throws {
        try await withPrep { prep in
            let soon = classification(startsIn: 30 * 60)
            let later = classification()
            for meeting in [soon, later] { try await prep.classify(meeting) }
            try await prep.settle()
            #expect(try await prep.steps(of: soon.meeting.meetingID)["request_bot_join"] == "done")
            for meeting in [soon, later] { try await prep.cancel(meeting.meeting) }
            try await prep.settle()
            let cancelled = try await prep.published(BotJoinCancelled.messageType).map {
                try MessageCoding.decoder().decode(Envelope<BotJoinCancelled>.self, from: Data($0.utf8)).payload.meetingID
            }
            #expect(cancelled == [soon.meeting.meetingID])
        }
    }

    @Test("a meeting cancelled while the owner is asked: the link stops working and the owner is told")
    func cancelledMidWait() async throws {
        try await withPrep { prep in
            let classified = classification()
            let meeting = classified.meeting
            try await prep.classify(classified)
            try await prep.settle()
            let page = try #require(
                PrepHarness.link("Start prep", in: try await prep.notifications(of: meeting.meetingID)[0].text))
            try await prep.cancel(meeting)
            try await prep.settle()

            let refused = try await prep.get(page)
            #expect(refused.status == 410)
            #expect(refused.text.contains("cancelled"))
            let steps = try await prep.steps(of: meeting.meetingID)
            #expect(steps["wait_for_owner"] == "cancelled: the meeting was cancelled")
            #expect(steps["request_bot_join"] == "cancelled: the meeting was cancelled")
            #expect(steps["notify_cancellation"] == "done")
            #expect(try await prep.notifications(of: meeting.meetingID).map(\.kind) == ["prep", "cancellation"])
            #expect(
                try await prep.post(page, form: ["answer_0": "too late", "action": "finish"]).status == 410,
                "a cancelled workflow takes no answers")
        }
    }

    @Test("a meeting moved after its materials were sent: pending steps move, and the materials are made again")
    func movedMeeting() async throws {
        try await withPrep { prep in
            let classified = classification(startsIn: 20 * 60)  // too close to ask: straight to materials
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()
            #expect(
                try await prep.steps(of: meeting)["send_prep_notification"]
                    == "skipped: too close to the meeting to ask the owner")
            #expect(try await prep.notifications(of: meeting).map(\.kind) == ["materials"])

            let moved = classification(
                title: "Platform staff meeting (moved)", startsIn: 2 * 86_400, revision: 2, meetingID: meeting)
            try await prep.classify(moved)
            try await prep.settle()
            let generations = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT count(*) AS n FROM prep.materials")!.int("n")
            }
            #expect(generations == 2)
            // Its bot had been asked for (an hour ahead of joining): it is asked for again, at the new time.
            let requests = try await prep.published(BotJoinRequested.messageType).map {
                try MessageCoding.decoder().decode(Envelope<BotJoinRequested>.self, from: Data($0.utf8)).payload
            }
            #expect(requests.count == 2)
            #expect(requests.last.flatMap(\.joinAt).map { abs($0.timeIntervalSince(moved.botJoinAt)) < 0.002 } == true)
            #expect(requests.last.map { abs($0.meetingStart.timeIntervalSince(moved.meeting.start)) < 0.002 } == true)
            #expect(try await prep.notifications(of: meeting).last?.text.contains("(moved)") == true)
        }
    }

    @Test("an incident review prepared two hours ahead: the materials message is the reminder")
    func materialsAreTheReminder() async throws {
        try await withPrep { prep in
            var classified = classification(title: "Checkout post-mortem", type: "incident_review", startsIn: 100 * 60)
            classified.reminderAt = Date().addingTimeInterval(-60)
            let meeting = classified.meeting.meetingID
            try await prep.classify(classified)
            try await prep.settle()
            let page = try #require(PrepHarness.link("Start prep", in: try await prep.notifications(of: meeting)[0].text))
            #expect(try await prep.post(page, form: ["action": "finish"]).status == 200, "finishing without answering")
            try await prep.settle()
            let steps = try await prep.steps(of: meeting)
            #expect(steps["schedule_reminder"] == "skipped: the materials message was the reminder")
            #expect(steps["send_reminder"] == nil)
            #expect(
                try await prep.notifications(of: meeting).last?.text.hasPrefix("Starting soon: “Checkout post-mortem”") == true)
        }
    }
    @Test("steps that come due too late to help are skipped with their reason; due ones run once")
    func lateStepsAreSkipped() async throws {
        try await withPrep { prep in
            let ended = classification(startsIn: -5 * 3600, minutes: 30)
            let started = classification(startsIn: -600, minutes: 30)
            let upcoming = classification(startsIn: 3600)
            for meeting in [ended, started, upcoming] { try await prep.classify(meeting) }
            try await prep.settle()
            #expect(try await prep.engine.runDueSteps() == 0, "a completed step never runs again")

            let endedSteps = try await prep.steps(of: ended.meeting.meetingID)
            #expect(endedSteps["load_meeting"] == "skipped: the meeting has already started")
            #expect(endedSteps["request_bot_join"] == "skipped: the meeting has already ended")
            let startedSteps = try await prep.steps(of: started.meeting.meetingID)
            #expect(startedSteps["load_meeting"] == "skipped: the meeting has already started")
            #expect(startedSteps["request_bot_join"] == "done")
            #expect(try await prep.steps(of: upcoming.meeting.meetingID)["wait_for_owner"] == "waiting")
            #expect(
                try await prep.published(BotJoinRequested.messageType).count == 2,
                "the upcoming meeting's bot is asked for an hour ahead of joining, for the provider to schedule it")
            #expect(try await prep.published(PrepNotificationSent.messageType).count == 1)
        }
    }
}
