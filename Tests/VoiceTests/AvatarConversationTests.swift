import Foundation
import LanguageModel
import SpeechEngines
import TestSupport
import Testing
import VoicePipeline

/// Conversations whose agent is a HeyGen avatar (a local fake of HeyGen's Streaming API): the
/// avatar is handed the text and speaks it in its own room; our speech and playout step aside.
@Suite("Voice conversation with a cloud avatar", .serialized)
struct AvatarConversationTests {
    static let question = "what is on the agenda today"

    static var fullAnswer: String {
        LocalResponder.answer(
            to: ChatRequest(messages: [
                ChatMessage(.system, OfflineConversation.context.systemPrompt(agentName: "Attaché", company: "Attaché")),
                ChatMessage(.user, question),
            ]))
    }

    @Test(
        "the avatar is handed the greeting and each sentence of the answer, the page is told its room, and no audio of ours goes out"
    )
    func avatarSpeaks() async throws {
        let heyGen = try await HeyGenAvatarTests.fake { $0.syncTaskDuration = .milliseconds(200) }
        defer { heyGen.stop() }
        let call = try await withConversation(
            // An answer of three sentences, to see them handed over one by one.
            try await OfflineConversation(
                greets: true, chatModel: FixedAnswer(text: BargeInTests.answer), avatar: HeyGenAvatarTests.avatar(heyGen))
        ) { call in
            // The question comes after the greeting, not over it (which would cut it short).
            await call.participant.listen(for: .seconds(60)) { !call.log.said.isEmpty }
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { call.log.said.count >= 2 }
            return call
        }

        #expect(call.log.heard == [Self.question])
        #expect(call.log.said.map(\.text) == ["Hi, this is Attaché joining from Attaché.", BargeInTests.answer])
        #expect(call.log.said.allSatisfy { !$0.interrupted })
        #expect(heyGen.tasks.map(\.text).joined(separator: " ") == call.log.said.map(\.text).joined(separator: " "))
        #expect(heyGen.tasks.count > 2, "the answer goes sentence by sentence, not whole")
        let session = try #require(heyGen.sessions.first)
        #expect(call.sink.avatarRooms == [AvatarRoom(sessionID: session.id, url: session.url, accessToken: session.accessToken)])
        #expect(call.sink.audioFrameTimes.isEmpty && call.sink.visemes.isEmpty, "HeyGen speaks; our voice stays silent")
        #expect(session.stopped, "the session ends with the call")
    }

    @Test("a participant who talks over the avatar interrupts it, and history keeps what it had said by then")
    func bargeIn() async throws {
        // HeyGen says each sentence until it is interrupted, so the participant cuts into the first one.
        let heyGen = try await HeyGenAvatarTests.fake { $0.speaksUntilTold = true }
        defer { heyGen.stop() }
        let call = try await withConversation(try await OfflineConversation(avatar: HeyGenAvatarTests.avatar(heyGen))) { call in
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { !heyGen.tasks.isEmpty }
            // Some words into the sentence by the pipeline's reckoning (a slow machine, more words).
            await call.participant.listen(for: .milliseconds(600))
            try await call.participant.say("Wait a moment.")
            await call.participant.listen(for: .seconds(60)) { call.log.heard.count >= 2 && !call.log.said.isEmpty }
            return call
        }

        let cut = try #require(call.log.said.first)
        #expect(cut.interrupted)
        #expect(!cut.text.isEmpty && Self.fullAnswer.hasPrefix(cut.text) && cut.text.count < Self.fullAnswer.count)
        #expect(heyGen.sessions.first?.interruptions ?? 0 >= 1, "HeyGen is told to stop talking")
        let firstSentence = try #require(heyGen.tasks.first?.text)
        #expect(
            !heyGen.tasks.dropFirst().contains { Self.fullAnswer.contains($0.text) && $0.text != firstSentence },
            "nothing more of the cut reply is handed over")
        let history = await call.pipeline.history
        #expect(
            history.prefix(3) == [
                ChatMessage(.user, Self.question), ChatMessage(.assistant, cut.text), ChatMessage(.user, "wait a moment"),
            ])
    }

    @Test("when HeyGen's session is rotated, the page is told the new room")
    func rotation() async throws {
        let heyGen = try await HeyGenAvatarTests.fake()
        defer { heyGen.stop() }
        let avatar = HeyGenAvatarTests.avatar(heyGen) {
            $0.maximumSessionDuration = .seconds(1)
            $0.rotationMargin = .milliseconds(300)
        }
        let call = try await withConversation(try await OfflineConversation(avatar: avatar)) { call in
            let sink = call.sink
            try await eventually("a rotation") { sink.avatarRooms.count >= 2 }
            return call
        }

        let sessions = heyGen.sessions.prefix(2).map { AvatarRoom(sessionID: $0.id, url: $0.url, accessToken: $0.accessToken) }
        #expect(Array(call.sink.avatarRooms.prefix(2)) == sessions)
    }

    @Test("an avatar that cannot be opened is logged, and the agent answers with its own voice")
    func avatarUnavailable() async throws {
        let heyGen = try await HeyGenAvatarTests.fake()
        defer { heyGen.stop() }
        let logs = CapturedLogs()
        let call = try await withConversation(
            try await OfflineConversation(
                avatar: HeyGenAvatarTests.avatar(heyGen, key: "wrong-key"), logger: logs.logger)
        ) { call in
            try await call.participant.say("What is on the agenda today?")
            await call.participant.listen(for: .seconds(60)) { !call.log.said.isEmpty }
            return call
        }

        #expect(logs.all.contains("the avatar could not be opened; the agent speaks with its own voice"))
        #expect(call.log.problems.map(\.kind) == [.engineFallback], "kept for the post-call diagnosis")
        #expect(!call.log.problems.contains { $0.detail.contains("wrong-key") })
        #expect(call.log.said.first?.text == Self.fullAnswer)
        #expect(call.sink.audioFrameTimes.count > 100 && call.sink.avatarRooms.isEmpty)
        #expect(!logs.all.contains("wrong-key"))
    }
}
