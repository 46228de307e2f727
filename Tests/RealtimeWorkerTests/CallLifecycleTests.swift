import CallAccess
import Crypto
import Delivery
import Foundation
import HTTPClient
import Hummingbird
import HummingbirdWSClient
import LanguageModel
import Logging
import Runtime
import Shared
import SpeechEngines
import Store
import Synchronization
import TestSupport
import Testing
import VoicePipeline

@testable import RealtimeWorker

/// The realtime worker's calls, in process against a real PostgreSQL: a pipeline per call on
/// `in_call_recording`, reached through the media WebSocket, closed and reported on `call_ended`.
@Suite("Call lifecycle", .serialized)
struct CallLifecycleTests {
    @Test("a call opens a voice pipeline that the media connection reaches; its end reports the whole conversation")
    func callWithTheAgent() async throws {
        try await withWorld { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            #expect(await world.calls.call(forMeeting: world.meeting) != nil)

            let owner = try await world.ownerLookup()
            #expect(owner.status == 200)
            #expect(owner.body.contains("\"owner\":\"replica-a\""))

            let heard = Mutex<(frames: Int, texts: [String])>((0, []))
            let repliesSaid = Counter()
            let participant = try ESpeakSynthesizer(voice: "en-us+klatt", wordsPerMinute: 160)
            var question: [Int16] = []
            for try await chunk in participant.synthesize("What is on the agenda today?") { question += chunk.samples }
            let questionFrames = PCM.frames(question)
            _ = try await WebSocketClient.connect(
                url: world.mediaURL(), logger: TestStack.logger
            ) {
                inbound, outbound, _ in
                // In real time, as a meeting would: the question once the greeting has been said,
                // then silence until the answer has been said; then hang up. The agent turns
                // neutral each time it has finished saying something.
                let speaking = Task {
                    var pacer = FramePacer()
                    func send(_ frame: AudioFrame) async throws {
                        try await outbound.write(.binary(ByteBuffer(bytes: frame.littleEndianBytes)))
                        try await pacer.wait()
                    }
                    while repliesSaid.value < 1 { try await send(.silence) }
                    for frame in questionFrames { try await send(frame) }
                    while repliesSaid.value < 2 { try await send(.silence) }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    switch message {
                    case .binary: heard.withLock { $0.frames += 1 }
                    case let .text(text):
                        heard.withLock { $0.texts.append(text) }
                        if text.contains(#""reaction":"neutral""#) { repliesSaid.increment() }
                    }
                }
                try await speaking.value
            }
            #expect(heard.withLock { $0.frames } > 150, "the greeting and the answer were heard through the media connection")
            #expect(heard.withLock { $0.texts }.contains { $0.contains("\"type\":\"visemes\"") })

            try await world.deliver(.callEnded)
            #expect(await world.calls.call(forMeeting: world.meeting) == nil)
            let completed = try #require(try await world.callCompleted())
            try #require(completed.turns.map(\.role) == [.agent, .participant, .agent])
            #expect(completed.turns[0].text == "Hi, this is Attaché joining from Attaché.")
            #expect(completed.turns[1].text == "what is on the agenda today")
            #expect(completed.turns[2].text.contains("budget review"), "answered from the meeting's description")
            let latency = try #require(completed.turns[2].latency)
            #expect((latency.firstAudioOut ?? 0) > 0)
            #expect(completed.turns[2].interrupted == false)
            #expect(completed.context?.first == "Meeting: Quarterly budget review", "what the agent knew, for its review")
            #expect(completed.context?.contains("Description: Agenda: budget review, then the hiring plan") == true)
            #expect(completed.problems == [])
        }
    }

    @Test(
        "a cloud engine without credentials: no pipeline, a log line naming the setting, the call still reported",
        arguments: [
            ("ATTACHE_LLM", "openai", "ATTACHE_LLM_API_KEY"), ("ATTACHE_STT", "deepgram", "ATTACHE_DEEPGRAM_API_KEY"),
            ("ATTACHE_TTS", "elevenlabs", "ATTACHE_ELEVENLABS_API_KEY"), ("ATTACHE_AVATAR", "heygen", "ATTACHE_HEYGEN_API_KEY"),
        ])
    func missingCredentials(setting: String, engine: String, key: String) async throws {
        let logs = CapturedLogs()
        try await withWorld(environment: [setting: engine], logger: logs.logger) { world in
            try await world.deliver(.inCallRecording)
            #expect(await world.calls.call(forMeeting: world.meeting) == nil)
            #expect(logs.all.contains("call pipeline not created"))
            #expect(logs.all.contains(key))
            #expect(try await world.ownerLookup().status == 404)
            try await world.deliver(.callEnded)
            let completed = try #require(try await world.callCompleted())
            #expect(completed.turns == [])
            let problem = try #require(completed.problems?.first)
            #expect(problem.kind == .greetingFailed && problem.detail.contains(key), "the review learns why: \(problem)")
        }
    }

    @Test("ElevenLabs over either transport speaks the greeting into the media connection", arguments: ["websocket", "http"])
    func elevenLabsGreeting(transport: String) async throws {
        let webSocketFake = await FakeElevenLabs()
        let httpFake = try await FakeElevenLabsHTTP()
        defer {
            webSocketFake.stop()
            httpFake.stop()
        }
        let baseURL = transport == "http" ? httpFake.baseURL : webSocketFake.baseURL
        try await withWorld(environment: [
            "ATTACHE_TTS": "elevenlabs", "ATTACHE_ELEVENLABS_TRANSPORT": transport, "ATTACHE_ELEVENLABS_URL": baseURL,
            "ATTACHE_ELEVENLABS_API_KEY": httpFake.configuration.apiKey,
        ]) { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            let frames = Mutex(0)
            _ = try await WebSocketClient.connect(
                url: world.mediaURL(), logger: TestStack.logger
            ) {
                inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .binary = message else { continue }
                    // Half a second of the greeting is enough to know it is being heard.
                    if frames.withLock({
                        $0 += 1
                        return $0
                    }) >= 25 {
                        break
                    }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            let greeting = "Hi, this is Attaché joining from Attaché."
            // Each fake records a request once it has answered it whole.
            let spoken =
                transport == "http"
                ? await httpFake.exchanges.waitFor(1).compactMap(\.text)
                : await webSocketFake.sessions.waitFor(1).flatMap(\.texts).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
            #expect(spoken == [greeting])
            #expect(frames.withLock { $0 } >= 25)
        }
    }

    @Test("with the HeyGen avatar, the page is told the avatar's room and the avatar greets the call")
    func heyGenAvatar() async throws {
        let heyGen = try await FakeHeyGen()
        defer { heyGen.stop() }
        try await withWorld(environment: [
            "ATTACHE_AVATAR": "heygen", "ATTACHE_HEYGEN_URL": heyGen.baseURL,
            "ATTACHE_HEYGEN_API_KEY": heyGen.configuration.apiKey,
        ]) { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            let announced = Mutex<String?>(nil)
            _ = try await WebSocketClient.connect(
                url: world.mediaURL(), logger: TestStack.logger
            ) {
                inbound, outbound, _ in
                // The room first; then, once the avatar has said the greeting, the agent turns neutral.
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case let .text(text) = message else { continue }
                    if text.contains("\"type\":\"avatar_room\"") { announced.withLock { $0 = text } }
                    if text.contains(#""reaction":"neutral""#) { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            let session = try #require(heyGen.sessions.first)
            let room =
                try JSONSerialization.jsonObject(with: Data(try #require(announced.withLock { $0 }).utf8)) as? [String: String]
            #expect(room == ["type": "avatar_room", "url": session.url, "token": session.accessToken])
            #expect(heyGen.tasks.map(\.text) == ["Hi, this is Attaché joining from Attaché."])

            try await world.deliver(.callEnded)
            #expect(heyGen.sessions.first?.stopped == true, "the avatar session ends with the call")
            let completed = try #require(try await world.callCompleted())
            #expect(completed.turns.map(\.text) == ["Hi, this is Attaché joining from Attaché."])
        }
    }

    @Test("prep materials join the meeting's context for the agent; an older generation does not replace a newer one")
    func prepMaterialsInContext() async throws {
        try await withWorld { world in
            try await world.classify()
            let newer = PrepMaterialsReady(
                workflowID: UUID(), meetingID: world.meeting, generatedAt: world.started.addingTimeInterval(-3600),
                agenda: ["last quarter's numbers", "the hiring plan"], questionBank: ["Who owns the hiring plan?"],
                notes: [PrepMaterialsReady.Note(label: "Goal", text: "agree the hiring plan")])
            var older = newer
            older.generatedAt = world.started.addingTimeInterval(-7200)
            older.agenda = ["an agenda since replaced"]
            try await world.prepare(newer)
            try await world.prepare(older)

            let context = try await world.pool.withConnection { db in try CallHandlers.meetingContext(world.meeting, on: db) }
            #expect(context.title == "Quarterly budget review")
            #expect(context.agenda == ["last quarter's numbers", "the hiring plan"])
            #expect(
                context.notes == [
                    "Description: Agenda: budget review, then the hiring plan", "Questions to raise: Who owns the hiring plan?",
                    "Goal: agree the hiring plan",
                ])
            let prompt = context.systemPrompt(agentName: "Attaché", company: "Acme")
            #expect(prompt.contains("Agenda: last quarter's numbers, then the hiring plan"))
            #expect(
                LocalResponder.answer(
                    to: ChatRequest(messages: [
                        ChatMessage(.system, prompt), ChatMessage(.user, "what is our goal"),
                    ])
                ).contains("agree the hiring plan"))
        }
    }

    @Test("a call whose end arrives before its start is reported once, and the late start does not reopen it")
    func endBeforeStart() async throws {
        try await withWorld { world in
            try await world.deliver(.callEnded, at: world.started.addingTimeInterval(1800))
            try await world.deliver(.inCallRecording)  // a retry that lost the race
            try await world.deliver(.callEnded, at: world.started.addingTimeInterval(1800))  // the provider resending
            #expect(try await world.outboxTypes() == ["call.completed.v1"])
            #expect(await world.calls.call(forMeeting: world.meeting) == nil, "no pipeline for a call that has ended")
        }
    }

    @Test("the end of a call owned by another replica waits until that replica has closed it")
    func endOfAnotherReplicasCall() async throws {
        try await withWorld { world in
            _ = try await world.pool.withConnection { db in
                try db.execute(
                    "INSERT INTO realtime.sessions (id, meeting_id, bot_id, started_at, owner, media_url) VALUES ($1, $2, 'bot-1', $3, 'replica-b', 'http://b')",
                    [UUID(), world.meeting, world.started])
            }
            await #expect(throws: OwnerStillClosing.self) { try await world.deliver(.callEnded) }
            #expect(try await world.outboxTypes() == [])
            _ = try await world.pool.withConnection { db in
                try db.execute("UPDATE realtime.sessions SET pipeline_closed_at = now() WHERE meeting_id = $1", [world.meeting])
            }
            try await world.deliver(.callEnded)  // the retry
            #expect(try await world.outboxTypes() == ["call.completed.v1"])
        }
    }

    @Test("shutdown closes every live call and leaves nothing running")
    func shutdownClosesEverything() async throws {
        try await withWorld { world in
            try await world.deliver(.inCallRecording)
            let call = try #require(await world.calls.call(forMeeting: world.meeting))
            let (_, media) = call.media.connect()
            await world.calls.closeAll()
            #expect(await world.calls.liveMeetings.isEmpty)
            // The pipeline has stopped: both loops below end (they would wait forever otherwise).
            for await _ in media {}
            for await _ in call.pipeline.events {}
            let counted = Mutex(0)
            let (_, after) = call.media.connect()
            let listening = Task { for await _ in after { counted.withLock { $0 += 1 } } }
            try await Task.sleep(for: .milliseconds(300))
            listening.cancel()
            #expect(counted.withLock { $0 } == 0, "no audio after shutdown")
        }
    }
}

/// Runs `body` with a world of its own, closed (calls, server, database) when it ends.
func withWorld<T>(
    environment: [String: String] = [:], logger: Logger = TestStack.logger, _ body: (World) async throws -> T
) async throws -> T {
    try await using(try await World(environment: environment, logger: logger), tearDown: { await $0.finish() }, body)
}

/// One meeting's worth of realtime worker: database, handlers, media server.
struct World {
    let databaseURL: String
    let pool: PostgresPool
    let calls = LiveCalls()
    let handlers: CallHandlers
    let outbox: Outbox
    let meeting = UUID()
    let started = Date(timeIntervalSince1970: 1_796_896_800)
    let port: Int
    let server: Task<Void, any Error>
    let logger: Logger
    let phrases: URL
    /// The key bot-gateway would mint the camera tokens with.
    let cameraKey = SymmetricKey(size: .bits256)

    init(environment: [String: String] = [:], logger: Logger = TestStack.logger) async throws {
        databaseURL = try await TestDatabase.create()
        pool = PostgresPool(url: databaseURL, size: 2)
        self.logger = logger
        try await Migrator.migrate(
            pool, schema: SessionsSchema.name, migrations: DeliveryMigrations.all + SessionsSchema.migrations, logger: logger)
        phrases = FileManager.default.temporaryDirectory.appendingPathComponent("phrases-\(UUID()).txt")
        try "what is on the agenda today\n".write(to: phrases, atomically: true, encoding: .utf8)
        let configuration = try RealtimeConfiguration(
            Environment(
                ["ATTACHE_STT_PHRASES_FILE": phrases.path, "ATTACHE_INSTANCE_ID": "replica-a"].merging(environment) { $1 }))
        outbox = try Outbox(schema: SessionsSchema.name)
        let media = MediaRoutes(
            calls: calls, pool: pool, gate: CameraGate(key: cameraKey, logger: logger),
            page: CameraPage(
                agentName: configuration.voiceSettings.agentName, company: configuration.voiceSettings.company,
                loadsLiveKit: configuration.avatar == .heygen), logger: logger)
        let router = Router()
        media.register(on: router)
        let (ports, portFound) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, server: media.server(),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portFound.yield($0.localAddress?.port ?? 0) }, logger: TestStack.fakeServerLogger)
        server = Task { try await app.runService() }
        var found = ports.makeAsyncIterator()
        port = await found.next() ?? 0
        handlers = CallHandlers(
            calls: calls, engines: try VoiceEngines(configuration), companies: configuration.companies,
            recorder: TurnRecorder(pool: pool, agentName: "Attaché", logger: logger), instanceID: "replica-a",
            mediaURL: "http://127.0.0.1:\(port)")
    }

    func context(for envelopeID: UUID, _ type: MessageType) throws -> HandlerContext {
        try HandlerContext(messageID: envelopeID, messageType: type, pool: pool, outbox: outbox, logger: logger)
    }

    func classify() async throws {
        let snapshot = MeetingSnapshot(
            meetingID: meeting, revision: 1, source: "ics", externalID: "qbr-1", title: "Quarterly budget review",
            description: "Agenda: budget review, then the hiring plan", start: started, end: started.addingTimeInterval(3600),
            organizer: Participant(email: "dana@example.com", name: "Dana"), attendees: [], conferenceURL: nil)
        let envelope = Envelope(
            tenantID: "acme", correlationID: meeting,
            payload: MeetingClassified(
                meeting: snapshot, meetingType: "qbr", rule: "qbr", matchedKeywords: ["quarterly"], prepTriggerAt: started,
                reminderAt: started, botJoinAt: started, prepQuestions: []))
        try await handlers.meetingClassified(envelope, try context(for: envelope.id, MeetingClassified.messageType))
    }

    func prepare(_ materials: PrepMaterialsReady) async throws {
        let envelope = Envelope(tenantID: "acme", correlationID: meeting, payload: materials)
        try await handlers.prepMaterialsReady(envelope, try context(for: envelope.id, PrepMaterialsReady.messageType))
    }

    func deliver(_ status: BotStatus, at date: Date? = nil) async throws {
        let envelope = Envelope(
            tenantID: "acme", correlationID: meeting,
            payload: BotStatusChanged(
                meetingID: meeting, botID: "bot-1", provider: "simulated", status: status, subCode: nil,
                changedAt: date ?? started))
        try await handlers.statusChanged(envelope, try context(for: envelope.id, BotStatusChanged.messageType))
    }

    /// A token for this world's meeting (or `meeting`), as bot-gateway mints it.
    func token(for meeting: UUID? = nil, expiresAt: Date = Date().addingTimeInterval(3600)) -> String {
        CameraToken.mint(meeting: meeting ?? self.meeting, expiresAt: expiresAt, key: cameraKey)
    }

    /// The media WebSocket's address, with this meeting's token unless another query is given.
    func mediaURL(meeting: UUID? = nil, query: String? = nil) -> String {
        let meeting = meeting ?? self.meeting
        return "ws://127.0.0.1:\(port)/media/\(meeting.uuidString.lowercased())" + (query ?? "?token=\(token(for: meeting))")
    }

    func ownerLookup(query: String? = nil) async throws -> (status: Int, body: String) {
        try await get("/media/\(meeting)/owner" + (query ?? "?token=\(token())"))
    }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient(retry: .none, logger: logger).send(
            OutboundRequest(url: "http://127.0.0.1:\(port)" + path))
        return (response.status, response.text)
    }

    func outboxTypes() async throws -> [String] {
        try await pool.withConnection { db in
            try db.query("SELECT message_type FROM realtime.outbox ORDER BY position").map { try $0.string("message_type") }
        }
    }

    func callCompleted() async throws -> CallCompleted? {
        try await pool.withConnection { db in
            try db.queryOne("SELECT body FROM realtime.outbox WHERE message_type = 'call.completed.v1'")
        }.map { row in try MessageCoding.decode(Envelope<CallCompleted>.self, from: Array(try row.string("body").utf8)).payload }
    }

    func finish() async {
        await calls.closeAll()
        server.cancel()
        _ = await server.result
        try? FileManager.default.removeItem(at: phrases)
        try? await TestDatabase.drop(databaseURL)
    }
}

@Suite("Realtime configuration")
struct RealtimeConfigurationTests {
    @Test("replicas scaled from one definition each publish their own address for the media connection")
    func publicURLPerReplica() throws {
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let configuration = try RealtimeConfiguration(
            Environment(["ATTACHE_REALTIME_PUBLIC_URL": "http://{hostname}:8080", "ATTACHE_CAMERA_TOKEN_KEY": key]))
        #expect(configuration.publicURL == "http://\(ProcessInfo.processInfo.hostName):8080")
        #expect(try RealtimeConfiguration(Environment([:])).publicURL == "http://127.0.0.1:8085")
    }

    @Test("the camera token key is required with a public address; without one a key of the start's own admits no page")
    func cameraTokenKey() throws {
        #expect(throws: ConfigurationError.self) {
            try RealtimeConfiguration(Environment(["ATTACHE_REALTIME_PUBLIC_URL": "https://rt.example.com"]))
        }
        #expect(throws: ConfigurationError.self) {
            try RealtimeConfiguration(Environment(["ATTACHE_CAMERA_TOKEN_KEY": Data(count: 16).base64EncodedString()]))
        }
        #expect(try RealtimeConfiguration(Environment([:])).cameraTokenKeyIsEphemeral)
        let configured = try RealtimeConfiguration(
            Environment(["ATTACHE_CAMERA_TOKEN_KEY": Data(count: 32).base64EncodedString()]))
        #expect(!configured.cameraTokenKeyIsEphemeral)
    }

    @Test("barge-in settings reach the turn policy; a bad value stops the service naming the setting")
    func bargeInSettings() throws {
        let defaults = try RealtimeConfiguration(Environment([:])).voiceSettings.turns
        #expect(defaults.bargeInMinimumSpeech == TurnPolicy().bargeInMinimumSpeech)
        #expect(defaults.wordlessInterruption == TurnPolicy().wordlessInterruption)
        let configured = try RealtimeConfiguration(
            Environment(["ATTACHE_BARGE_IN_MIN_MS": "80", "ATTACHE_BARGE_IN_WORDLESS_MS": "2500"])
        ).voiceSettings.turns
        #expect(configured.bargeInMinimumSpeech == .milliseconds(80))
        #expect(configured.wordlessInterruption == .milliseconds(2500))
        for (setting, value) in [("ATTACHE_BARGE_IN_WORDLESS_MS", "100"), ("ATTACHE_BARGE_IN_WORDLESS_MS", "soon")] {
            let error = #expect(throws: ConfigurationError.self) { try RealtimeConfiguration(Environment([setting: value])) }
            #expect(error?.setting == setting)
        }
    }
}
