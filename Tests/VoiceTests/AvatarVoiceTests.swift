import Logging
import TestSupport
import Testing

@testable import VoicePipeline

/// An avatar that goes on saying a sentence until it is interrupted, and never tells how long
/// it takes: the case where only an interrupt stops it.
private actor EndlessAvatarSession: AvatarSession {
    private(set) var interruptions = 0
    private var speaking: CheckedContinuation<Void, Never>?
    var isSpeaking: Bool { speaking != nil }

    var room: AvatarRoom { AvatarRoom(sessionID: "s-1", url: "wss://livekit.invalid", accessToken: "viewer") }
    nonisolated let rotations = AsyncStream<AvatarRoom> { $0.finish() }

    func speak(_ text: String) async throws -> Duration? {
        await withCheckedContinuation { speaking = $0 }
        return nil
    }

    func interrupt() async throws {
        interruptions += 1
        speaking?.resume()
        speaking = nil
    }

    func close() async {
        speaking?.resume()
        speaking = nil
    }
}

@Suite("Avatar voice", .timeLimit(.minutes(5)))
struct AvatarVoiceTests {
    @Test("a sentence the avatar is still saying past its estimated length is interrupted when the reply is cut")
    func cutPastTheEstimate() async throws {
        let session = EndlessAvatarSession()
        let voice = AvatarVoice(
            session: session, problem: ProblemReport(events: AsyncStream.makeStream().continuation),
            logger: Logger(label: "avatar-voice-test"))
        await voice.begin(clock: nil)
        let sentences = BoundedChannel<String>(capacity: 1)
        let saying = Task { await voice.say(sentences, clock: nil) }
        _ = await sentences.send("Hello.")
        sentences.finish()
        try await eventually("the avatar speaking") { await session.isSpeaking }
        // One word is reckoned at 400 ms; the avatar is still at it well after (a slow machine
        // only makes it later).
        try await Task.sleep(for: .milliseconds(700))
        saying.cancel()
        let heard = await voice.cut()
        try await saying.value("the reply to end")

        #expect(await session.interruptions == 1)
        #expect(heard.wasCut && heard.text == "Hello.")
        await voice.shutdown()
    }
}
