import Foundation
import SpeechEngines
import TestSupport
import Testing
import VoicePipeline

@Suite("HeyGen avatar, against a local fake of HeyGen's Streaming API v1", .timeLimit(.minutes(1)))
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
        let fake = try await Self.fake { $0.syncTaskDuration = .seconds(3) }
        defer { fake.stop() }
        let session = try await Self.avatar(fake).open()
        let speaking = Task { try await session.speak("A long answer that the participant cuts short.") }
        try await eventually("the task", within: .seconds(5)) { fake.tasks.count == 1 }
        let interrupted = ContinuousClock.now
        try await session.interrupt()
        _ = try await speaking.value
        #expect(ContinuousClock.now - interrupted < .seconds(2))
        let room = await session.room
        #expect(fake.calls(.interrupt).map(\.sessionID) == [room.sessionID])
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
        // Seconds of slack around each step: the full test suite loads this machine's cores.
        let fake = try await Self.fake { $0.sessionDurationLimit = .seconds(3) }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(3)
            $0.rotationMargin = .milliseconds(1500)
        }.open()
        var rotations = session.rotations.makeAsyncIterator()
        let first = await session.room
        try await session.speak("Before the rotation.")
        try await eventually("the old session stopped", within: .seconds(5)) { !fake.calls(.stop).isEmpty }

        let second = await session.room
        let announced = await rotations.next()
        #expect(announced == second)
        #expect(second.sessionID != first.sessionID)
        let created = fake.sessions
        try #require(created.count == 2)
        #expect(second == AvatarRoom(sessionID: created[1].id, url: created[1].url, accessToken: created[1].accessToken))
        #expect(created[1].createdAt - created[0].createdAt < .seconds(3))
        let newStarted = try #require(fake.calls(.start).last)
        let oldStopped = try #require(fake.calls(.stop).first)
        #expect(newStarted.sessionID == second.sessionID && oldStopped.sessionID == first.sessionID)
        #expect(newStarted.answeredAt <= oldStopped.receivedAt)

        try await session.speak("After the rotation.")
        // Past the first session's limit, the call still has its avatar.
        try await Task.sleep(until: created[0].createdAt + .milliseconds(3200), clock: .continuous)
        try await session.speak("Long after.")
        let sessionIDs = fake.tasks.map(\.sessionID)
        #expect(sessionIDs.count == 3 && sessionIDs[0] == first.sessionID && sessionIDs[1] == second.sessionID)
        #expect(sessionIDs[2] != first.sessionID)
        await session.close()
        #expect(fake.sessions.allSatisfy { $0.stopped })
    }

    @Test("a sentence in flight at the rotation is said to the end on the old session, which is stopped after it")
    func sentenceInFlightAtRotation() async throws {
        let fake = try await Self.fake {
            $0.sessionDurationLimit = .seconds(2)
            $0.syncTaskDuration = .milliseconds(800)
        }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(1)
            $0.rotationMargin = .milliseconds(600)
        }.open()
        let first = await session.room
        try await session.speak("A sentence that is still being said when the rotation comes.")
        try await eventually("the old session stopped", within: .seconds(5)) { !fake.calls(.stop).isEmpty }
        let task = try #require(fake.calls(.task).first)
        let newStarted = try #require(fake.calls(.start).last)
        let oldStopped = try #require(fake.calls(.stop).first)
        #expect(task.sessionID == first.sessionID && oldStopped.sessionID == first.sessionID)
        // (Whether the new session was ready before the sentence ended depends on the
        // machine's load; what must hold either way is below.)
        #expect(newStarted.sessionID != first.sessionID)
        #expect(oldStopped.receivedAt >= task.answeredAt)
        try await session.speak("The next one.")
        #expect(fake.tasks.last?.sessionID == newStarted.sessionID)
        await session.close()
    }

    @Test("with no free session for the rotation, the old session goes on and the rotation is retried until one is free")
    func rotationAtConcurrencyLimit() async throws {
        let fake = try await Self.fake {
            $0.sessionDurationLimit = .seconds(2)
            $0.maxConcurrentSessions = 1
        }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) {
            $0.maximumSessionDuration = .seconds(2)
            $0.rotationMargin = .milliseconds(600)
            $0.rotationRetryInterval = .milliseconds(100)
        }.open()
        var rotations = session.rotations.makeAsyncIterator()
        let first = await session.room
        let announced = try #require(await rotations.next())
        // The slot frees when HeyGen ends the old session at its limit.
        let created = fake.sessions
        #expect(created.count == 2 && created[1].createdAt - created[0].createdAt >= .seconds(2))
        #expect(fake.refusals.filter { $0 == 400 }.count >= 2)
        #expect(announced.sessionID == created[1].id && announced != first)
        try await session.speak("Back again.")
        #expect(fake.tasks.map(\.sessionID) == [announced.sessionID])
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
        let fake = try await Self.fake { $0.syncTaskDuration = .milliseconds(700) }
        defer { fake.stop() }
        let session = try await Self.avatar(fake) { $0.keepAliveInterval = .milliseconds(200) }.open()
        try await session.speak("Speaking for longer than the keep-alive interval.")
        #expect(fake.calls(.keepAlive).isEmpty)
        try await eventually("two keep-alives", within: .seconds(5)) { fake.calls(.keepAlive).count >= 2 }
        let keepAlives = fake.calls(.keepAlive)
        #expect(keepAlives.count >= 2)
        #expect(keepAlives.allSatisfy { $0.sessionID == fake.sessions.first?.id })
        await session.close()
    }
}
