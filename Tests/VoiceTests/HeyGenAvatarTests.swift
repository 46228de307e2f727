import Foundation
import SpeechEngines
import TestSupport
import Testing
import VoicePipeline

@Suite("HeyGen avatar, against a local fake of HeyGen's Streaming API v1", .timeLimit(.minutes(5)))
struct HeyGenAvatarTests {
    static func avatar(
        _ fake: FakeHeyGen, key: String? = nil, logs: CapturedLogs? = nil,
        _ configure: (inout HeyGenAvatar.Configuration) -> Void = { _ in }
    ) -> HeyGenAvatar {
        var configuration = HeyGenAvatar.Configuration(apiKey: key ?? fake.configuration.apiKey, avatarID: "avatar-1")
        configuration.baseURL = fake.baseURL
        configure(&configuration)
        return HeyGenAvatar(configuration: configuration, logger: logs?.logger ?? TestStack.logger)
    }

    static func fake(_ configure: (inout FakeHeyGen.Configuration) -> Void = { _ in }) async throws -> FakeHeyGen {
        var configuration = FakeHeyGen.Configuration()
        configure(&configuration)
        return try await FakeHeyGen(configuration: configuration)
    }

    @Test("speak sends repeat tasks with our exact text, in order, to the session it started, and tells how long each is said")
    func speak() async throws {
        let fake = try await Self.fake { $0.syncTaskDuration = .milliseconds(30) }
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let sentences = ["Good morning everyone.", "  Shall we look at the budget first? ", "Zoë’s “draft” — 3 × 4 & <done> 👍"]
        var durations: [Duration?] = []
        for sentence in sentences { durations.append(try await session.speak(sentence)) }
        let room = await session.room
        #expect(fake.tasks.map(\.text) == sentences)
        #expect(durations == Array(repeating: .milliseconds(30), count: sentences.count))
        #expect(fake.tasks.allSatisfy { $0.taskType == "repeat" && $0.taskMode == "sync" && $0.sessionID == room.sessionID })
        let created = try #require(fake.sessions.first)
        #expect(fake.sessions.count == 1 && created.started && !created.stopped)
        #expect(room == AvatarRoom(sessionID: created.id, url: created.url, accessToken: created.accessToken))
        #expect(created.request["version"] == "v2" && created.request["avatar_id"] == "avatar-1")
        #expect(created.request["video_encoding"] == "H264" && created.request["activity_idle_timeout"] == "120")
        #expect(fake.calls.map(\.endpoint) == [.new, .start, .task, .task, .task])
        #expect(!room.description.contains(room.accessToken))
        await session.close()
    }

    @Test("interrupt reaches HeyGen for the speaking session, and the sentence being said ends there")
    func interrupt() async throws {
        // The avatar speaks until told: only the interrupt can end the sentence.
        let fake = try await Self.fake { $0.speaksUntilTold = true }
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let speaking = Task { try await session.speak("A long answer that the participant cuts short.") }
        try await eventually("the task") { fake.tasks.count == 1 }
        try await session.interrupt()
        _ = try await speaking.value("the sentence to end")
        let room = await session.room
        #expect(fake.calls(.interrupt).map(\.sessionID) == [room.sessionID])
        let task = try #require(fake.calls(.task).first)
        let interrupt = try #require(fake.calls(.interrupt).first)
        #expect(task.answeredAt >= interrupt.receivedAt, "the sentence ended at the interrupt")
        await session.close()
    }

    @Test("close stops the session once; a closed session refuses to speak")
    func close() async throws {
        let fake = try await Self.fake()
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let sessionID = await session.room.sessionID
        await session.close()
        #expect(fake.calls(.stop).map(\.sessionID) == [sessionID])
        #expect(fake.sessions.first?.stopped == true)
        await #expect(throws: HeyGenError.closed) { try await session.speak("Anyone there?") }
        await session.close()
        #expect(fake.calls(.stop).count == 1)
        var rotations = session.rotations.makeAsyncIterator()
        let announced = await rotations.next()
        #expect(announced == nil)
    }

    @Test("a wrong key fails the opening with a clear error, without the key in it or in the logs")
    func wrongKey() async throws {
        let fake = try await Self.fake()
        defer { fake.stop() }
        let logs = CapturedLogs()
        let secret = "heygen-secret-that-must-not-leak"
        let error = await #expect(throws: HeyGenError.self) { try await Self.avatar(fake, key: secret, logs: logs).open() }
        #expect(error == .unauthorized(status: 401, code: 400112, message: "Unauthorized"))
        let description = String(describing: try #require(error))
        #expect(description.contains("API key") && description.contains("401"))
        #expect(!description.contains(secret) && !logs.all.contains(secret))
        #expect(fake.sessions.isEmpty && fake.refusals == [401])
    }

    @Test("a session is rotated before its maximum duration: the next starts before the old stops, and takes the next tasks")
    func rotation() async throws {
        // Sessions last 8 s at most by the avatar's settings; the rotation is due 4 s before that
        // (the margin, at most half the limit). The fake does not end them itself: on a loaded
        // machine its clock would race the rotation, and `stop` is what the test follows.
        let fake = try await Self.fake()
        defer { fake.stop() }
        let beforeOpening = ContinuousClock.now
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(8)
            $0.rotationMargin = .seconds(6)
        }.open()
        var rotations = session.rotations.makeAsyncIterator()
        let first = await session.room
        try await session.speak("Before the rotation.")
        let announced = try #require(await rotations.next())
        try await eventually("the old session stopped") {
            fake.calls(.stop).contains { $0.sessionID == first.sessionID }
        }

        let created = fake.sessions
        try #require(created.count >= 2)
        #expect(created[0].id == first.sessionID)
        #expect(announced == AvatarRoom(sessionID: created[1].id, url: created[1].url, accessToken: created[1].accessToken))
        // Not before its time: the limit less the margin, counted from before the first opened.
        #expect(created[1].createdAt - beforeOpening >= .seconds(2))
        // Make before break: the new session had started when the old one was told to stop.
        let newStarted = try #require(fake.calls(.start).first { $0.sessionID == announced.sessionID })
        let oldStopped = try #require(fake.calls(.stop).first { $0.sessionID == first.sessionID })
        #expect(newStarted.answeredAt <= oldStopped.receivedAt)

        try await session.speak("After the rotation.")
        try await session.speak("Long after.")
        let sessionIDs = fake.tasks.map(\.sessionID)
        #expect(sessionIDs.count == 3 && sessionIDs[0] == first.sessionID && sessionIDs[1] != first.sessionID)
        #expect(sessionIDs[2] != first.sessionID)
        await session.close()
        #expect(fake.sessions.allSatisfy { $0.stopped })
    }

    @Test("a sentence in flight at the rotation is said to the end on the old session, which is stopped after it")
    func sentenceInFlightAtRotation() async throws {
        // The sentence lasts until the test ends it, and the rotation's new session waits until
        // the sentence has reached HeyGen: the rotation comes while it is being said.
        let fake = try await Self.fake {
            $0.speaksUntilTold = true
            $0.newSessionsHeldAfter = 1
        }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(1)
            $0.rotationMargin = .milliseconds(600)
        }.open()
        var rotations = session.rotations.makeAsyncIterator()
        let first = await session.room
        let speaking = Task { try await session.speak("A sentence that is still being said when the rotation comes.") }
        try await eventually("the sentence at HeyGen") { fake.tasks.count == 1 }
        fake.releaseNewSessions()
        let announced = try #require(await rotations.next())
        #expect(announced.sessionID != first.sessionID)
        #expect(fake.tasks.first?.sessionID == first.sessionID)
        // The sentence goes on as long as the test lets it: a rotation that stopped the old
        // session without waiting for it would do so now. (Only a stop that does not come
        // proves anything here, so a slow machine cannot fail this.)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!fake.calls(.stop).contains { $0.sessionID == first.sessionID }, "the old session was stopped mid-sentence")

        fake.finishSpeaking()
        _ = try await speaking.value("the sentence to end")
        try await eventually("the old session stopped") {
            fake.calls(.stop).contains { $0.sessionID == first.sessionID }
        }
        let task = try #require(fake.calls(.task).first)
        let oldStopped = try #require(fake.calls(.stop).first { $0.sessionID == first.sessionID })
        #expect(task.sessionID == first.sessionID)
        #expect(oldStopped.receivedAt >= task.answeredAt)
        let next = Task { try await session.speak("The next one.") }
        try await eventually("the next sentence at HeyGen") { fake.tasks.count == 2 }
        fake.finishSpeaking()
        _ = try await next.value("the next sentence to end")
        #expect(fake.tasks.last?.sessionID != first.sessionID)
        await session.close()
    }

    @Test("with no free session for the rotation, the old session goes on and the rotation is retried until one is free")
    func rotationAtConcurrencyLimit() async throws {
        let fake = try await Self.fake { $0.maxConcurrentSessions = 1 }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(1)
            $0.rotationMargin = .milliseconds(600)
            $0.rotationRetryInterval = .milliseconds(100)
        }.open()
        var rotations = session.rotations.makeAsyncIterator()
        let first = await session.room
        // The account's one session is the call's own: the rotation is refused, and tried again.
        try await eventually("the rotation refused twice") { fake.refusals.filter { $0 == 400 }.count >= 2 }
        try await session.speak("Still here.")
        #expect(fake.sessions.count == 1 && fake.tasks.map(\.sessionID) == [first.sessionID], "the old session goes on")
        #expect(await session.room == first)

        // The slot frees when HeyGen ends the old session (at its limit, in life).
        fake.end(session: first.sessionID)
        let announced = try #require(await rotations.next())
        let created = fake.sessions
        #expect(created.count == 2 && announced.sessionID == created[1].id && announced != first)
        try await session.speak("Back again.")
        #expect(fake.tasks.map(\.sessionID) == [first.sessionID, announced.sessionID])
        await session.close()
    }

    @Test("a session beyond the account's concurrency limit fails with its own error")
    func concurrencyLimit() async throws {
        let fake = try await Self.fake { $0.maxConcurrentSessions = 1 }
        defer { fake.stop() }
        let avatar = Self.avatar(fake)
        let first = try await avatar.open()
        let error = await #expect(throws: HeyGenError.self) { try await avatar.open() }
        guard case .concurrencyLimit(code: _, let message)? = error else {
            Issue.record("expected concurrencyLimit, got \(String(describing: error))")
            return
        }
        #expect(message.contains("Concurrent limit reached"))
        #expect(String(describing: try #require(error)).contains("as many sessions open as its plan allows"))
        await first.close()
        let second = try await avatar.open()
        await second.close()
    }

    @Test("a session HeyGen ended early is replaced by a new one, which says the sentence and is announced")
    func sessionGone() async throws {
        let fake = try await Self.fake()
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let lost = await session.room.sessionID
        fake.end(session: lost)
        try await session.speak("Still here.")
        var rotations = session.rotations.makeAsyncIterator()
        let announced = try #require(await rotations.next())

        let replacement = try #require(fake.sessions.last)
        #expect(fake.sessions.count == 2 && replacement.id != lost && replacement.started)
        #expect(announced == AvatarRoom(sessionID: replacement.id, url: replacement.url, accessToken: replacement.accessToken))
        #expect(await session.room == announced)
        #expect(fake.tasks.map(\.sessionID) == [replacement.id] && fake.tasks.map(\.text) == ["Still here."])
        await session.close()
        #expect(fake.calls(.stop).map(\.sessionID) == [replacement.id], "the lost session is not stopped again")
    }

    @Test("when no session can replace the one HeyGen ended, the sentence fails with the reason")
    func sessionGoneAtConcurrencyLimit() async throws {
        let fake = try await Self.fake { $0.maxConcurrentSessions = 1 }
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let lost = await session.room.sessionID
        fake.end(session: lost)
        // Another call takes the account's only session meanwhile.
        let other = try await Self.avatar(fake).open()
        let error = await #expect(throws: HeyGenError.self) { try await session.speak("Too late.") }
        guard case .concurrencyLimit? = error else {
            Issue.record("expected concurrencyLimit, got \(String(describing: error))")
            return
        }
        #expect(await session.room.sessionID == lost)
        await session.close()
        await other.close()
    }

    @Test("keep-alives go out while the avatar is idle, and not while it speaks")
    func keepAlive() async throws {
        // The sentence lasts until the test ends it, well past several keep-alive intervals.
        let fake = try await Self.fake { $0.speaksUntilTold = true }
        defer { fake.stop() }
        let interval = Duration.milliseconds(200)
        let session = try await Self.avatar(fake) { $0.keepAliveInterval = interval }.open()
        let speaking = Task { try await session.speak("Speaking for longer than the keep-alive interval.") }
        try await eventually("the sentence at HeyGen") { fake.tasks.count == 1 }
        // At least three intervals of speech; a slow machine only makes it longer.
        try await Task.sleep(for: interval * 3)
        fake.finishSpeaking()
        _ = try await speaking.value("the sentence to end")
        try await eventually("two keep-alives") { fake.calls(.keepAlive).count >= 2 }

        let task = try #require(fake.calls(.task).first)
        let keepAlives = fake.calls(.keepAlive)
        // One sent just before the sentence (a test slow to speak) may reach the fake just after
        // it; one sent while the avatar speaks comes an interval or more after the sentence.
        #expect(
            !keepAlives.contains { $0.receivedAt >= task.receivedAt + interval / 2 && $0.receivedAt <= task.answeredAt },
            "a keep-alive went out while the avatar spoke")
        #expect(keepAlives.allSatisfy { $0.sessionID == fake.sessions.first?.id })
        await session.close()
    }
}
