import CallAnalysis
import Foundation
import Shared

/// Calls for tests, written the way the labelled fixtures write them: a turn is
/// `[speaker, text]`, with "agent" for the agent and "agent~" for an agent turn a participant
/// cut short.
enum Calls {
    static let start = Date(timeIntervalSince1970: 1_796_000_000)

    static func call(
        _ turns: [[String]], context: [String]? = [], problems: [CallProblem]? = nil, agent: String = "Attaché",
        latency: [Int: TurnLatency] = [:], startedAt: Date = start
    ) -> CallCompleted {
        var built: [CallTurn] = []
        for (index, turn) in turns.enumerated() {
            let at = startedAt.addingTimeInterval(Double(index) * 5)
            switch turn[0] {
            case "agent", "agent~":
                built.append(
                    CallTurn(
                        role: .agent, speaker: agent, text: turn[1], at: at, interrupted: turn[0] == "agent~" ? true : nil,
                        latency: latency[index]))
            default:
                built.append(CallTurn(role: .participant, speaker: turn[0], text: turn[1], at: at))
            }
        }
        return CallCompleted(
            sessionID: UUID(), meetingID: UUID(), botID: "bot-test", startedAt: startedAt,
            endedAt: startedAt.addingTimeInterval(Double(turns.count) * 5 + 5), turns: built, context: context, problems: problems
        )
    }

    static func problem(_ kind: CallProblem.Kind, after seconds: Double, _ detail: String) -> CallProblem {
        CallProblem(kind: kind, at: start.addingTimeInterval(seconds), detail: detail)
    }

    static let budgetContext = [
        "Meeting: Q3 budget review", "Time: 2026-11-19T15:00:00Z", "Participants: Ada Lovelace, Alan Turing",
        "Agenda: Budget, then Hiring", "Budget: 1.2 million for Q3", "Staffing: two backend engineers start on 5 January",
    ]

    static let greeting = ["agent", "Hi, this is Attaché joining from Acme."]
}

/// The labelled sessions: `Fixtures/labelled-sessions.json`.
struct LabelledSessions: Decodable {
    struct Expectation: Decodable {
        var status: SessionStatus
        var intents: [IntentType]
        var failures: [FailureKind]?
    }

    /// A context by name (from `contexts`), written out, or absent (an older sender).
    enum ContextSpec: Decodable {
        case named(String)
        case lines([String])
        case absent

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .absent
            } else if let name = try? container.decode(String.self) {
                self = .named(name)
            } else {
                self = .lines(try container.decode([String].self))
            }
        }
    }

    /// `[kind, seconds after the start, detail]`.
    struct ProblemSpec: Decodable {
        var kind: String
        var after: Double
        var detail: String

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            kind = try container.decode(String.self)
            after = try container.decode(Double.self)
            detail = try container.decode(String.self)
        }
    }

    struct Session: Decodable {
        var id: String
        var expect: Expectation
        var context: ContextSpec?
        var agent: String?
        var problems: [ProblemSpec]?
        var turns: [[String]]
    }

    var contexts: [String: [String]]
    var sessions: [Session]

    static func load() throws -> LabelledSessions {
        guard let url = Bundle.module.url(forResource: "labelled-sessions", withExtension: "json", subdirectory: "Fixtures")
        else {
            throw FixtureMissing()
        }
        return try JSONDecoder().decode(LabelledSessions.self, from: Data(contentsOf: url))
    }

    struct FixtureMissing: Error {}

    func call(_ session: Session) -> CallCompleted {
        let context: [String]? =
            switch session.context ?? .absent {
            case .absent: nil
            case .lines(let lines): lines
            case .named(let name): contexts[name] ?? []
            }
        let problems = session.problems.map { specs in
            specs.map { Calls.problem(CallProblem.Kind(rawValue: $0.kind), after: $0.after, $0.detail) }
        }
        return Calls.call(session.turns, context: context, problems: problems, agent: session.agent ?? "Attaché")
    }
}
