import CallAnalysis
import Foundation
import Shared
import Testing

@Suite("Embedded analyser")
struct EmbeddedAnalyserTests {
    static let analyser = EmbeddedAnalyser()

    static func verdict(_ turns: [[String]], context: [String]? = Calls.budgetContext) -> SessionVerdict {
        analyser.verdict(for: Calls.call(turns, context: context))
    }

    static func only(_ verdict: SessionVerdict) throws -> IntentFulfilment {
        #expect(verdict.fulfilments.count == 1, "\(verdict.fulfilments)")
        return try #require(verdict.fulfilments.first)
    }

    @Test("an answer carrying the context's fact passes, with the question and the reply quoted")
    func answered() throws {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "What's the budget for Q3?"],
            ["agent", "Here is what I have for budget: 1.2 million for Q3. Would you like more detail on that?"],
        ])
        #expect(verdict.status == .pass)
        #expect(verdict.analyser == "embedded")
        #expect(verdict.model == nil && verdict.promptVersion == nil)
        let intent = try #require(verdict.intents.first)
        #expect(intent.type == .askFact && intent.subject == "budget" && intent.turns == [1])
        #expect(intent.confidence >= 0.5 && intent.confidence <= 1)
        let fulfilment = try Self.only(verdict)
        #expect(fulfilment.status == .pass && fulfilment.failureKind == nil)
        #expect(fulfilment.evidence.map(\.index) == [1, 2])
        #expect(fulfilment.evidence.first?.speaker == "Ada Lovelace")
        #expect(fulfilment.evidence.last?.role == "agent")
        #expect(verdict.summary.hasPrefix("pass: 1 of 1 request fulfilled"))
    }

    @Test("a reply cut off before the answer fails as cut_off; cut off halfway through it is partial")
    func cutOff() throws {
        let before = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "What is on the agenda?"], ["agent~", "Sure, so today we"],
            ["Alan Turing", "Let's just start."],
        ])
        #expect(before.status == .fail)
        #expect(try Self.only(before).failureKind == .cutOff)

        let halfway = Self.verdict(
            [
                Calls.greeting, ["Ada Lovelace", "How are the hiring plans going?"], ["agent~", "Two backend engineers"],
                ["Ada Lovelace", "Right, thanks."],
            ], context: ["Staffing: two backend engineers start on 5 January and three SRE roles remain open until March"])
        #expect(halfway.status == .partial)
        #expect(try Self.only(halfway).failureKind == .cutOff)
    }

    @Test("\"I don't know\" while the context holds the answer is unjustified_unknown, and quotes the fact")
    func unjustifiedUnknown() throws {
        let verdict = Self.verdict([
            Calls.greeting, ["Alan Turing", "How much budget do we have for Q3?"],
            ["agent", "I do not have that in my notes for this meeting. I will note the question for the follow-up."],
        ])
        #expect(verdict.status == .fail)
        let fulfilment = try Self.only(verdict)
        #expect(fulfilment.failureKind == .unjustifiedUnknown)
        #expect(fulfilment.reason.contains("Budget: 1.2 million for Q3"))
    }

    @Test("\"I don't know\" when nothing in the context covers it is missing_context, a partial fulfilment")
    func missingContext() throws {
        let verdict = Self.verdict(
            [Calls.greeting, ["Alan Turing", "Any incidents this week?"], ["agent", "I don't have any incident information."]])
        #expect(verdict.status == .partial)
        #expect(try Self.only(verdict).failureKind == .missingContext)
    }

    @Test("a figure that contradicts the context is wrong_fact; the same figure with its scale left out is not")
    func wrongFact() throws {
        let wrong = Self.verdict([Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent", "It is 1.5 million."]])
        #expect(wrong.status == .fail)
        let fulfilment = try Self.only(wrong)
        #expect(fulfilment.failureKind == .wrongFact)
        #expect(fulfilment.reason.contains("1.5 million"))

        let rounded = Self.verdict([Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent", "It's 1.2 for Q3."]])
        #expect(rounded.status == .pass)
    }

    @Test("naming someone other than the context names for a \"who\" question is wrong_fact")
    func wrongPerson() throws {
        let verdict = Self.verdict(
            [Calls.greeting, ["Ada Lovelace", "Who owns the hiring plan?"], ["agent", "Alan Turing owns the hiring plan."]],
            context: ["Participants: Ada Lovelace, Alan Turing, Grace Hopper", "Staffing: the hiring plan is owned by Grace"])
        #expect(try Self.only(verdict).failureKind == .wrongFact)
    }

    @Test("a reply about another fact is off_topic, even when that fact's figures are right")
    func offTopic() throws {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "How's the Q3 budget looking?"],
            ["agent", "Here is what I have for staffing: two backend engineers start on 5 January."],
        ])
        #expect(verdict.status == .fail)
        let fulfilment = try Self.only(verdict)
        #expect(fulfilment.failureKind == .offTopic)
        #expect(fulfilment.reason.contains("Staffing"))
    }

    @Test("a request no agent turn answered is no_reply, with the turns that came instead")
    func noReply() throws {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "Please add an action item for Alan to send the deck."],
            ["Alan Turing", "I'll do it today."], ["Ada Lovelace", "Good."], ["Alan Turing", "Next topic."],
        ])
        #expect(verdict.status == .fail)
        let fulfilment = try Self.only(verdict)
        #expect(fulfilment.failureKind == .noReply)
        #expect(fulfilment.evidence.map(\.index) == [1, 2, 3])
    }

    @Test("the agent saying it cannot do what was asked is declined; offering something instead is partial")
    func declined() throws {
        let flat = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "Can you reschedule this to Friday?"], ["agent", "I can't change calendars."],
        ])
        #expect(flat.status == .fail)
        #expect(try Self.only(flat).failureKind == .declined)
        let offered = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "Can you reschedule this to Friday?"],
            ["agent", "I can't change calendars, but I'll ask the organiser."],
        ])
        #expect(offered.status == .partial)
        #expect(try Self.only(offered).failureKind == .declined)
    }

    @Test("requests pass when taken on, and a recap passes when it repeats what was said")
    func requests() {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "We move the launch to March and Alan owns the migration plan."],
            ["Grace Hopper", "Please follow up with finance about the launch costs."],
            ["agent", "I'll follow up with finance about the launch costs."],
            ["Alan Turing", "Can you recap what we decided?"],
            ["agent", "The launch moves to March and Alan owns the migration plan."],
        ])
        #expect(verdict.status == .pass, "\(verdict.summary)")
        #expect(Set(verdict.intentTypes) == [.requestFollowUp, .requestSummary])
    }

    @Test("a call nobody spoke in is skipped, and so is one in which nothing was asked of the agent")
    func skipped() throws {
        let silent = Self.verdict([Calls.greeting])
        #expect(silent.status == .skipped && silent.intents.isEmpty && silent.fulfilments.isEmpty)
        #expect(silent.summary == "skipped: no participant spoke")

        let chat = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "Hi all, thanks for coming."], ["Alan Turing", "Good morning."],
        ])
        #expect(chat.status == .skipped)
        #expect(chat.intentTypes == [.smalltalk])
        #expect(chat.summary.contains("only smalltalk"))

        let talk = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "The numbers look fine to me."], ["Alan Turing", "Agreed, let's keep going."],
        ])
        #expect(talk.status == .skipped)
        let none = try #require(talk.intents.last)
        #expect(none.type == .none && none.turns == [1, 2] && none.confidence >= 0.5)
    }

    @Test("a question put to a colleague by name is not the agent's to answer")
    func addressedToColleague() {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "Alan, can you send me the hiring numbers after this?"],
            ["Alan Turing", "Sure, this afternoon."],
        ])
        #expect(verdict.status == .skipped)
    }

    @Test("several intents in one turn are each judged; one failed of two makes the session partial")
    func partialSession() throws {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "What's on the agenda, and how much is the Q3 budget?"],
            ["agent", "Budget, then hiring. The Q3 budget is 2 million."],
        ])
        #expect(Set(verdict.intentTypes) == [.askAgenda, .askFact])
        #expect(verdict.status == .partial)
        #expect(verdict.fulfilments.first { $0.intent == .askAgenda }?.status == .pass)
        #expect(verdict.fulfilments.first { $0.intent == .askFact }?.failureKind == .wrongFact)
        #expect(verdict.summary.hasPrefix("partial: 1 of 2 requests fulfilled; ask_fact (budget) fail, wrong_fact"))
    }

    @Test("asked again after a cut-off and answered: the intent passes")
    func askedAgain() {
        let verdict = Self.verdict([
            Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent~", "Here is"], ["Alan Turing", "Hold on."],
            ["Alan Turing", "Okay."], ["Ada Lovelace", "Sorry, what is the Q3 budget?"], ["agent", "1.2 million for Q3."],
        ])
        #expect(verdict.status == .pass)
        #expect(verdict.intents.first?.turns == [1, 5])
    }

    @Test("the status rule: all pass is pass, all fail is fail, anything between is partial, nothing to fulfil is skipped")
    func statusRule() {
        func fulfilment(_ intent: IntentType, _ status: FulfilmentStatus) -> IntentFulfilment {
            IntentFulfilment(
                intent: intent, status: status, failureKind: status == .pass ? nil : .offTopic, evidence: [], reason: "")
        }
        let asked = [
            DetectedIntent(type: .askAgenda, turns: [1], confidence: 0.9),
            DetectedIntent(type: .requestSummary, turns: [3], confidence: 0.7),
            DetectedIntent(type: .smalltalk, turns: [0], confidence: 0.9),
            DetectedIntent(type: .askFact, subject: "budget", turns: [5], confidence: 0.4),
        ]
        let counts = { IntentTaxonomy.bundledDefault.counts($0) }
        func status(_ first: FulfilmentStatus, _ second: FulfilmentStatus) -> SessionStatus {
            SessionVerdict.status(
                participantTurns: 4, intents: asked,
                fulfilments: [fulfilment(.askAgenda, first), fulfilment(.requestSummary, second)], counts: counts)
        }
        #expect(status(.pass, .pass) == .pass)
        #expect(status(.fail, .fail) == .fail)
        #expect(status(.pass, .fail) == .partial)
        #expect(status(.partial, .fail) == .partial)
        #expect(status(.partial, .partial) == .partial)
        // An intent to fulfil that has no fulfilment counts as failed.
        #expect(SessionVerdict.status(participantTurns: 4, intents: asked, fulfilments: [], counts: counts) == .fail)
        #expect(SessionVerdict.status(participantTurns: 0, intents: asked, fulfilments: [], counts: counts) == .skipped)
        #expect(
            SessionVerdict.status(participantTurns: 4, intents: Array(asked.suffix(2)), fulfilments: [], counts: counts)
                == .skipped)
    }

    @Test("the same call gives the same verdict, and its JSON has snake_case keys")
    func deterministicAndStable() throws {
        let call = Calls.call(
            [
                Calls.greeting, ["Ada Lovelace", "What's the Q3 budget?"], ["agent~", "I'm not sure"], ["Ada Lovelace", "Okay."],
            ],
            context: Calls.budgetContext)
        let first = Self.analyser.verdict(for: call)
        #expect(Self.analyser.verdict(for: call) == first)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(first), as: UTF8.self)
        #expect(json.contains("\"prompt_version\"") == false)  // nil for the embedded analyser, left out
        #expect(json.contains("\"failure_kind\":\"unjustified_unknown\""))
        #expect(json.contains("\"intents\":[{\"confidence\":"))
        #expect(try JSONDecoder().decode(SessionVerdict.self, from: Data(json.utf8)) == first)
    }

    @Test("a call from an older sender, without context, still gets a verdict")
    func withoutContext() throws {
        let verdict = Self.verdict(
            [Calls.greeting, ["Ada Lovelace", "What's the budget?"], ["agent", "I don't have the budget."]], context: nil)
        #expect(verdict.status == .partial)
        #expect(try Self.only(verdict).reason.contains("did not say what the agent was given"))
    }
}
