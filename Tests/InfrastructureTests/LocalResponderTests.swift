import LanguageModel
import Testing

@Suite("Local responder")
struct LocalResponderTests {
    @Test("answers what is on the agenda from the system message, streamed word by word")
    func agenda() async throws {
        let request = ChatRequest(messages: [
            ChatMessage(.system, "Meeting: Weekly staff meeting\nAgenda: budget review, then the hiring plan"),
            ChatMessage(.user, "What is on the agenda?"),
        ])
        var words: [String] = []
        for try await word in LocalResponder().stream(request) { words.append(word) }
        #expect(words.count > 1)
        #expect(words.joined() == LocalResponder.answer(to: request))
        #expect(LocalResponder.answer(to: request).contains("budget review, then the hiring plan"))
    }
}
