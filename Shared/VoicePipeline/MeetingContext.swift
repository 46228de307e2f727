import Foundation
import LanguageModel

/// What the agent knows about the meeting it sits in, given to the model as `Label: value`
/// lines, one fact per line, so that any model (and the local responder) can find them.
public struct MeetingContext: Sendable, Equatable {
    public var title: String
    public var startsAt: Date?
    public var participants: [String]
    public var agenda: [String]
    /// Prep material: "label: text" notes from the preparation workflow.
    public var notes: [String]

    public init(title: String, startsAt: Date? = nil, participants: [String] = [], agenda: [String] = [], notes: [String] = []) {
        self.title = title
        self.startsAt = startsAt
        self.participants = participants
        self.agenda = agenda
        self.notes = notes
    }

    public func systemPrompt(agentName: String, company: String) -> String {
        let instructions = [
            "You are \(agentName), an assistant from \(company), speaking in a live meeting.",
            "Answer in one to three short spoken sentences, from the facts below. Say so when you do not know.",
        ]
        return (instructions + factLines).joined(separator: "\n")
    }

    /// The facts the model is given, one `Label: value` line each (kept with the call, so that
    /// its review knows what the agent knew).
    public var factLines: [String] {
        var lines = ["Meeting: \(title)"]
        if let startsAt { lines.append("Time: \(startsAt.formatted(.iso8601))") }
        if !participants.isEmpty { lines.append("Participants: \(participants.joined(separator: ", "))") }
        if !agenda.isEmpty { lines.append("Agenda: \(agenda.joined(separator: ", then "))") }
        return lines + notes
    }
}
