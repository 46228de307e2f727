import LanguageModel
import Testing

@Suite("Local responder")
struct LocalResponderTests {
    /// A meeting's facts as `MeetingContext` writes them: title, time, participants, the
    /// agenda from the prep materials, the description, prep notes.
    static let facts = """
        You are Attaché, an assistant from Attaché, speaking in a live meeting.
        Meeting: Weekly staff meeting
        Time: 2025-03-03T15:00:00Z
        Participants: Dana, Lee
        Agenda: budget review, then the hiring plan, then next steps
        Description: Weekly sync for the platform team.
        Budget: spending is four percent under plan
        Hiring plan: owned by Lee, three roles open
        Next review: the first week of next quarter
        Risks: vendor costs and a delayed launch
        """

    static func answer(_ question: String, facts: String = facts) -> String {
        LocalResponder.answer(to: ChatRequest(messages: [ChatMessage(.system, facts), ChatMessage(.user, question)]))
    }

    @Test("answers what is on the agenda from the system message, streamed word by word")
    func streamed() async throws {
        let request = ChatRequest(messages: [ChatMessage(.system, Self.facts), ChatMessage(.user, "What is on the agenda?")])
        var words: [String] = []
        for try await word in LocalResponder().stream(request) { words.append(word) }
        #expect(words.count > 1)
        #expect(words.joined() == LocalResponder.answer(to: request))
    }

    @Test(
        "each question is answered with the fact it asks for, never with the meeting's title",
        arguments: [
            ("what is on the agenda for this meeting", "budget review, then the hiring plan, then next steps"),
            ("what are we discussing today", "budget review, then the hiring plan, then next steps"),
            ("when is the next review", "the first week of next quarter"),
            ("when does the meeting start", "Monday 3 March at 15:00 UTC"),
            ("who owns the hiring plan", "owned by Lee"),
            ("who is in this meeting", "Dana and Lee"),
            ("how is the budget looking", "four percent under plan"),
            ("how many roles are open", "three roles open"),
            ("what are the risks", "vendor costs and a delayed launch"),
        ])
    func answersTheQuestion(question: String, fact: String) {
        let answer = Self.answer(question)
        #expect(answer.contains(fact), "\(question) → \(answer)")
        #expect(!answer.contains("Weekly staff meeting"), "\(question) → \(answer)")
    }

    @Test("without prep materials, the agenda comes from the description that holds it")
    func agendaFromDescription() {
        let facts = "Meeting: Weekly staff meeting\nDescription: Agenda: budget review, then the hiring plan"
        #expect(
            Self.answer("what is on the agenda for this meeting", facts: facts)
                == "On the agenda: budget review, then the hiring plan.")
    }

    @Test(
        "what it does not know, it says plainly, rather than answer with something else",
        arguments: [
            ("what is on the agenda for this meeting", "I do not have an agenda for this meeting."),
            ("when is the launch", "I do not know that; it is not in my notes for this meeting."),
            ("who is the vendor", "I do not know that; it is not in my notes for this meeting."),
            ("what is the weather like", "I do not know that; it is not in my notes for this meeting."),
        ])
    func saysWhenItDoesNotKnow(question: String, answer: String) {
        #expect(Self.answer(question, facts: "Meeting: Weekly staff meeting\nParticipants: Dana, Lee") == answer)
    }

    @Test(
        "a request is taken on, and what is only said to the room is acknowledged, not answered",
        arguments: [
            (
                "can the assistant capture the action items and send them after the call",
                "Yes, I will capture the action items and send them after the call."
            ),
            ("could you please send the notes to everyone", "Yes, I will send the notes to everyone."),
            ("please note that the launch moved", "Yes, I will note that the launch moved."),
            ("the budget review is done and we are on track for the quarter", "Noted."),
            ("one more thing the incident retro is scheduled for thursday", "Noted."),
        ])
    func requestsAndStatements(said: String, reply: String) {
        #expect(Self.answer(said) == reply)
    }

    @Test("\"can you tell me…\" is still a question")
    func canYouTellMe() {
        #expect(Self.answer("can you tell me what is on the agenda").contains("budget review"))
    }
}
