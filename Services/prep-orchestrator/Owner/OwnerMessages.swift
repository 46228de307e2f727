import Foundation

/// What the workflow tells a meeting's owner, as channel-neutral messages.
enum OwnerMessages {
    static func prepRequest(_ workflow: WorkflowRecord, context: [ContextResult], deadline: Date, link: String) -> OwnerMessage {
        let questions = workflow.prepQuestions.count
        return OwnerMessage(
            kind: .prepRequest, recipient: workflow.owner, tenant: workflow.tenantID,
            reference: workflow.id.uuidString.lowercased(),
            headline: "Time to prepare “\(workflow.meeting.title)” (\(typeName(workflow))), \(when(workflow.meeting.start)).",
            lines: context.map(contextLine)
                + ["\(questions) question\(questions == 1 ? "" : "s") for you, until \(when(deadline)); skip any you like."],
            links: [.init(label: "Start prep", url: link)])
    }

    static func materials(_ workflow: WorkflowRecord, materials: Materials, links: [MaterialLink], isReminder: Bool)
        -> OwnerMessage
    {
        OwnerMessage(
            kind: .materials, recipient: workflow.owner, tenant: workflow.tenantID,
            headline: (isReminder ? "Starting soon: " : "Your materials for ")
                + "“\(workflow.meeting.title)”, \(when(workflow.meeting.start)).",
            lines: materials.caveats + ["Agenda:"]
                + materials.agenda.prefix(4).map { "• \($0.title) (\($0.minutes) min)" },
            links: labelled(links))
    }

    static func reminder(_ workflow: WorkflowRecord, materials: Materials, links: [MaterialLink]) -> OwnerMessage {
        OwnerMessage(
            kind: .reminder, recipient: workflow.owner, tenant: workflow.tenantID,
            headline: "Starting soon: “\(workflow.meeting.title)”, \(when(workflow.meeting.start)).",
            lines: ["Fresh links to your materials (the earlier ones expire after 24 hours):"], links: labelled(links))
    }

    static func cancellation(_ workflow: WorkflowRecord) -> OwnerMessage {
        OwnerMessage(
            kind: .cancellation, recipient: workflow.owner, tenant: workflow.tenantID,
            headline: "“\(workflow.meeting.title)” (\(when(workflow.meeting.start))) was cancelled; its preparation has stopped.",
            lines: ["The prep link you were sent no longer works."])
    }

    /// What went wrong with the meeting's bot, as bot-gateway explained it.
    static func botProblem(_ workflow: WorkflowRecord, explanations: [String]) -> OwnerMessage {
        OwnerMessage(
            kind: .botProblem, recipient: workflow.owner, tenant: workflow.tenantID,
            headline: "The meeting bot for “\(workflow.meeting.title)” (\(when(workflow.meeting.start))) needs your attention.",
            lines: explanations)
    }

    static func callReview(_ workflow: WorkflowRecord, summaries: [String]) -> OwnerMessage {
        OwnerMessage(
            kind: .callReview, recipient: workflow.owner, tenant: workflow.tenantID,
            headline:
                "In “\(workflow.meeting.title)” (\(when(workflow.meeting.start))) the agent did not give people what they asked for.",
            lines: summaries)
    }

    static func contextLine(_ result: ContextResult) -> String {
        guard result.isAvailable else { return "\(result.kind.title): unavailable" }
        return "\(result.kind.title): "
            + (result.items.isEmpty ? "nothing new" : result.items.map(\.summary).joined(separator: "; "))
    }

    private static func labelled(_ links: [MaterialLink]) -> [OwnerMessage.Link] {
        let labels = ["agenda.html": "Agenda", "questions.md": "Question bank", "notes.md": "Notes template"]
        return links.map { OwnerMessage.Link(label: labels[$0.file] ?? $0.file, url: $0.url) }
    }

    static func typeName(_ workflow: WorkflowRecord) -> String { workflow.meetingType.replacingOccurrences(of: "_", with: " ") }

    static func when(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false)) + " UTC"
    }
}
