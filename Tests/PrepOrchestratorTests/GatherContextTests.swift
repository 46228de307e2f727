import Foundation
import Synchronization
import TestSupport
import Testing

@testable import PrepOrchestrator

/// GatherContext's branches: each kind on its own, with its own timeout and retries.
@Suite("Gathering context")
struct GatherContextTests {
    /// Answers by kind: slow for budget, failing for big rocks, failing once for staffing.
    struct TroubledProvider: ContextProvider {
        var name: String { "troubled provider" }
        let staffingCalls = Counter()

        func items(for query: ContextQuery) async throws -> [ContextItem] {
            switch query.kind {
            case .budget:
                try await Task.sleep(for: .seconds(3600))
                return []
            case .bigRocks:
                throw ContextUnavailable("503 Service Unavailable")
            case .staffing:
                if staffingCalls.incrementing() == 1 { throw ContextUnavailable("connection reset") }
                return [ContextItem(summary: "One hire starts Monday")]
            default:
                return [ContextItem(summary: "\(query.kind.rawValue) for \(query.tenant), \(query.owner)")]
            }
        }
    }

    @Test(
        "a slow branch and a failing one are recorded unavailable with why; a retried one and the rest arrive; the workflow goes on"
    )
    func partialContext() async throws {
        let provider = TroubledProvider()
        try await withPrep(provider: provider, contextTimeout: .milliseconds(200)) { prep in
            let classified = classification(context: ["budget", "big_rocks", "staffing", "decisions"])
            try await prep.classify(classified)
            try await prep.settle()

            let rows = try await prep.pool.withConnection { db in
                try db.query("SELECT kind, status, reason, attempts, items::text AS items FROM prep.context ORDER BY kind")
                    .map { row in
                        let detail = try row.optionalString("reason") ?? row.string("items")
                        return "\(try row.string("kind")) \(try row.string("status")) \(try row.int("attempts")) \(detail)"
                    }
            }
            #expect(
                rows == [
                    "big_rocks unavailable 2 troubled provider: 503 Service Unavailable",
                    "budget unavailable 2 troubled provider: no answer within 0.2 seconds",
                    #"decisions available 1 [{"summary": "decisions for acme, alex@example.com"}]"#,
                    #"staffing available 2 [{"summary": "One hire starts Monday"}]"#,
                ])
            let steps = try await prep.steps(of: classified.meeting.meetingID)
            #expect(steps["gather_context"] == "done: 2 of 4 unavailable")
            #expect(steps["send_prep_notification"] == "done")
        }
    }

    @Test("time boxes are whole minutes that add up to the meeting's length, at least one each")
    func timeBoxes() {
        for (weights, total) in [([1.0, 2, 3, 1], 60), ([1, 5, 5, 5, 1], 25), ([1, 1], 5), ([3, 1, 1, 1, 1, 1], 7)] {
            let boxes = EmbeddedGenerator.timeBoxes(weights: weights, total: total)
            #expect(boxes.reduce(0, +) == total, "\(weights) over \(total): \(boxes)")
            #expect(boxes.allSatisfy { $0 >= 1 })
        }
        #expect(EmbeddedGenerator.timeBoxes(weights: [1, 4], total: 50) == [10, 40])
    }

    @Test("the embedded generator uses every input: the answers, each context item, the unanswered questions")
    func generatorUsesEverything() async throws {
        let meeting = classification(minutes: 45).meeting
        let materials = try await EmbeddedGenerator().generate(
            MaterialsInput(
                meeting: meeting, meetingType: "staff_meeting", prepQuestions: ["Goal?", "Topics?", "Anything else?"],
                context: [
                    ContextResult(
                        kind: .budget, items: [ContextItem(summary: "Compute: +$45K over plan", owner: "Dana")],
                        unavailableReason: nil,
                        attempts: 1, durationMilliseconds: 3),
                    ContextResult(
                        kind: .incidents, items: [], unavailableReason: "timeout", attempts: 2, durationMilliseconds: 10),
                ],
                answers: [
                    OwnerAnswer(question: "Goal?", answer: "Agree the freeze window", skipped: false),
                    OwnerAnswer(question: "Topics?", answer: "Holiday on-call", skipped: false),
                    OwnerAnswer(question: "Anything else?", answer: nil, skipped: true),
                ],
                withoutOwnerBecause: nil))
        #expect(materials.minutes == 45)
        #expect(
            materials.agenda.map(\.title) == [
                "Welcome and goals", "Budget review", "Incidents and follow-ups", "Owner's topics", "Open discussion",
                "Decisions and action items",
            ])
        #expect(materials.agenda[0].points.contains("Goal: Agree the freeze window"))
        #expect(materials.agenda[0].points.contains("From the invitation: Weekly sync of the platform team."))
        #expect(materials.agenda[1].points == ["Compute: +$45K over plan (Dana)"])
        #expect(materials.agenda[2].points[0].contains("timeout"))
        #expect(materials.agenda[3].points == ["Topics? — Holiday on-call"])
        let questions = materials.questionGroups.flatMap(\.questions)
        #expect(questions.contains { $0.contains("Compute: +$45K over plan") && $0.contains("back to plan") })
        #expect(
            questions.contains("Dana: what is the latest on “Compute: +$45K over plan”, and what do you need from this group?"))
        #expect(questions.contains("Anything else?"), "a skipped question is left for the owner")
        #expect(materials.caveats == ["Incidents context was unavailable: timeout."])
    }
}
