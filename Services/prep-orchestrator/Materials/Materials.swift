import Foundation
import Shared

/// An answer the owner gave (or skipped) to one of the meeting type's prep questions.
struct OwnerAnswer: Codable, Sendable, Equatable {
    var question: String
    var answer: String?
    var skipped: Bool

    /// The answer, when there is one worth using.
    var text: String? {
        guard !skipped, let answer = answer?.trimmingCharacters(in: .whitespacesAndNewlines), !answer.isEmpty else {
            return nil
        }
        return answer
    }
}

/// Everything the materials are made from.
struct MaterialsInput: Sendable {
    var meeting: MeetingSnapshot
    var meetingType: String
    var prepQuestions: [String]
    var context: [ContextResult]
    var answers: [OwnerAnswer]
    /// Why the owner's answers are missing, when they are.
    var withoutOwnerBecause: String?
}

/// A meeting's materials: the agenda with its time boxes, the question bank and what the notes
/// template is filled from; rendered to `agenda.html`, `questions.md` and `notes.md`.
struct Materials: Codable, Sendable, Equatable {
    struct AgendaSection: Codable, Sendable, Equatable {
        var title: String
        var minutes: Int
        var points: [String]
    }

    struct QuestionGroup: Codable, Sendable, Equatable {
        var audience: String
        var questions: [String]
    }

    var meetingTitle: String
    var start: Date
    var end: Date
    var meetingType: String
    var attendees: [String]
    var agenda: [AgendaSection]
    var questionGroups: [QuestionGroup]
    var context: [ContextResult]
    var answers: [OwnerAnswer]
    /// What the reader should know about how these were made (no owner answers, missing
    /// context, a generator that fell back).
    var caveats: [String]
    var generator: String
    var model: String?
    var prompt: String?

    var minutes: Int { agenda.reduce(0) { $0 + $1.minutes } }

    /// The materials as the agent in the call knows them.
    func readyEvent(workflowID: UUID, meetingID: UUID, generatedAt: Date) -> PrepMaterialsReady {
        PrepMaterialsReady(
            workflowID: workflowID, meetingID: meetingID, generatedAt: generatedAt,
            // Sections as the agent says them; what is in them reaches it as notes.
            agenda: agenda.map { "\($0.title) (\($0.minutes) minutes)" },
            questionBank: questionGroups.flatMap(\.questions),
            notes: context.filter(\.isAvailable).flatMap { result in
                result.items.map { PrepMaterialsReady.Note(label: result.kind.title, text: $0.summary) }
            } + answers.compactMap { answer in answer.text.map { PrepMaterialsReady.Note(label: answer.question, text: $0) } })
    }
}

/// Makes materials from their input: the embedded generator, or a language model.
protocol MaterialsGenerator: Sendable {
    func generate(_ input: MaterialsInput) async throws -> Materials
}
