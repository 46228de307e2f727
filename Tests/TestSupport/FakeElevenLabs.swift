import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// A local stand-in for ElevenLabs' text-to-speech WebSocket (`/stream-input`), following its
/// documented messages: the first message's text is a single space; text accumulates until a
/// `flush` or the closing empty text, which make it speak what it has; `isFinal` follows the
/// closing empty text, and then the server closes.
///
/// Its "speech" is a deterministic tone, `millisecondsPerCharacter` per character of the text
/// (trimmed), so a test knows exactly how many samples to expect and what they are. Audio goes
/// out as base64 PCM 16 kHz in messages of `chunkDuration`, each with its `normalizedAlignment`
/// (times relative to the message's own audio, as ElevenLabs documents them): the first after
/// `firstChunkLatency`, the next ones `chunkInterval` apart. With a `hold`, the audio stops
/// after that many messages until the test opens the gate (never, for speech that only the
/// client can end).
///
/// A wrong or missing `xi-api-key` is accepted at the upgrade and answered with an error
/// message and close code 1008, which is what ElevenLabs does with a bad key (its upgrade
/// does not check the key, since the key may also come in the first message).
public final class FakeElevenLabs: Sendable {
    public struct Configuration: Sendable {
        public var apiKey = "fake-elevenlabs-key"
        public var firstChunkLatency: Duration = .zero
        public var chunkInterval: Duration = .milliseconds(20)
        public var chunkDuration: Duration = .milliseconds(100)
        public var hold: Hold?
        public init() {}
    }

    /// After `afterMessages` audio messages, the next waits for `gate`.
    public struct Hold: Sendable {
        public var afterMessages: Int
        public var gate: Gate

        public init(afterMessages: Int, gate: Gate) {
            self.afterMessages = afterMessages
            self.gate = gate
        }
    }

    /// How one connection went.
    public struct Session: Sendable {
        public var voiceID: String
        public var query: [String: String]
        /// The text messages received after the initial one.
        public var texts: [String] = []
        public var audioMessagesSent = 0
        public var lastAudioSentAt: ContinuousClock.Instant?
        /// Whether the client went away before `isFinal` was sent.
        public var closedByClientEarly = false
        /// The close code the fake sent, if it closed first with an error.
        public var closeCode: Int?
    }

    public static let millisecondsPerCharacter = 60
    public static let sampleRate = 16_000

    public let configuration: Configuration
    public let sessions = SessionLog<Session>()
    private let server: FakeWebSocketServer

    public init(configuration: Configuration = Configuration()) async {
        self.configuration = configuration
        let sessions = sessions
        let router = Router()
        router.get("/v1/text-to-speech/:voice/stream-input") { request, _ -> Response in
            let status: HTTPResponse.Status =
                request.headers[Self.apiKeyHeader] == configuration.apiKey ? .upgradeRequired : .unauthorized
            return Response(status: status)
        }
        server = await FakeWebSocketServer(router: router) { request in
            let path = request.path?.split(separator: "?").first ?? ""
            let parts = path.split(separator: "/")
            guard parts.count == 4, parts[0] == "v1", parts[1] == "text-to-speech", parts[3] == "stream-input" else {
                return .dontUpgrade
            }
            let query = FakeWebSocketServer.query(of: request)
            guard query["output_format"] == "pcm_16000", query["model_id"] != nil else { return .dontUpgrade }
            let session = Session(voiceID: String(parts[2]), query: query)
            let headerKey = request.headerFields[Self.apiKeyHeader]
            return .upgrade([:]) { inbound, outbound, _ in
                sessions.record(
                    await Self.converse(
                        session, headerKey: headerKey, inbound: inbound, outbound: outbound, configuration: configuration))
            }
        }
    }

    public var baseURL: String { server.baseURL }

    public func stop() { server.stop() }

    /// The fake's speech for `text`: a 440 Hz tone, `millisecondsPerCharacter` per character.
    public static func speech(for text: String) -> [Int16] {
        let count = sampleCount(for: text)
        return (0..<count).map { index in
            Int16((8000 * sin(2 * Double.pi * 440 * Double(index) / Double(sampleRate))).rounded())
        }
    }

    public static func sampleCount(for text: String) -> Int {
        spoken(text).count * millisecondsPerCharacter * sampleRate / 1000
    }

    /// What the fake speaks of a text: the text without surrounding whitespace.
    public static func spoken(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // A valid header name, so the initializer cannot fail.
    private static let apiKeyHeader = HTTPField.Name("xi-api-key")!

    private struct Incoming: Decodable {
        var text: String?
        var flush: Bool?
        var apiKey: String?
        enum CodingKeys: String, CodingKey {
            case text, flush
            case apiKey = "xi_api_key"
        }
    }

    private static func converse(
        _ session: Session, headerKey: String?, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        configuration: Configuration
    ) async -> Session {
        let speaker = Speaker(outbound: outbound, configuration: configuration, session: session)
        let jobs = AsyncStream<Job>.makeStream()
        var buffered = ""
        var isFirst = true
        var hasFailed = false
        func fail(_ code: Int, _ error: String, _ message: String) {
            hasFailed = true
            jobs.continuation.yield(.fail(code, error, message))
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await speaker.run(jobs.stream) }
            do {
                // After a failure the loop goes on reading, until the client answers the close.
                for try await message in inbound.messages(maxSize: 1 << 24) where !hasFailed {
                    guard case let .text(json) = message,
                        let incoming = try? JSONDecoder().decode(Incoming.self, from: Data(json.utf8)), let text = incoming.text
                    else {
                        fail(1008, "invalid_message", "Messages must be JSON objects with a text field.")
                        continue
                    }
                    if isFirst {
                        isFirst = false
                        if (incoming.apiKey ?? headerKey) != configuration.apiKey {
                            fail(1008, "invalid_api_key", "Invalid API key")
                        } else if text != " " {
                            fail(1008, "invalid_message", "The first message's text must be a single space.")
                        }
                        continue
                    }
                    speaker.received(text)
                    if text.isEmpty {
                        if !spoken(buffered).isEmpty { jobs.continuation.yield(.speak(buffered)) }
                        buffered = ""
                        jobs.continuation.yield(.finish)
                        continue
                    }
                    buffered += text
                    if incoming.flush == true {
                        jobs.continuation.yield(.speak(buffered))
                        buffered = ""
                    }
                }
            } catch {}
            // The client went away, or the fake closed: stop speaking if still at it.
            jobs.continuation.finish()
            if !speaker.isDone { group.cancelAll() }
        }
        return speaker.summary
    }

    private enum Job {
        case speak(String)
        case finish
        case fail(Int, String, String)
    }

    /// Sends the audio of each job in order, and records what happened.
    private final class Speaker: Sendable {
        private let outbound: WebSocketOutboundWriter
        private let configuration: Configuration
        private let state: Mutex<(session: Session, done: Bool)>

        init(outbound: WebSocketOutboundWriter, configuration: Configuration, session: Session) {
            self.outbound = outbound
            self.configuration = configuration
            state = Mutex((session, false))
        }

        var isDone: Bool { state.withLock { $0.done } }

        var summary: Session {
            state.withLock { state in
                var session = state.session
                session.closedByClientEarly = !state.done
                return session
            }
        }

        func received(_ text: String) {
            state.withLock { $0.session.texts.append(text) }
        }

        func run(_ jobs: AsyncStream<Job>) async {
            for await job in jobs {
                do {
                    switch job {
                    case let .speak(text): try await speak(FakeElevenLabs.spoken(text))
                    case .finish:
                        try await outbound.write(
                            .text(#"{"audio":null,"isFinal":true,"normalizedAlignment":null,"alignment":null}"#))
                        state.withLock { $0.done = true }
                        try await outbound.close(.normalClosure, reason: nil)
                        return
                    case let .fail(code, error, message):
                        state.withLock {
                            $0.session.closeCode = code
                            $0.done = true
                        }
                        try await outbound.write(.text(#"{"error":"\#(error)","message":"\#(message)","code":\#(code)}"#))
                        try await outbound.close(WebSocketErrorCode(codeNumber: code), reason: message)
                        return
                    }
                } catch {
                    return
                }
            }
        }

        private func speak(_ text: String) async throws {
            let samples = FakeElevenLabs.speech(for: text)
            let characters = Array(text)
            let millisecondsPerChunk =
                Int(configuration.chunkDuration.components.seconds) * 1000
                + Int(configuration.chunkDuration.components.attoseconds / 1_000_000_000_000_000)
            let samplesPerChunk = millisecondsPerChunk * FakeElevenLabs.sampleRate / 1000
            try await Task.sleep(for: configuration.firstChunkLatency)
            for (index, start) in stride(from: 0, to: samples.count, by: samplesPerChunk).enumerated() {
                if index > 0 { try await Task.sleep(for: configuration.chunkInterval) }
                if let hold = configuration.hold, state.withLock({ $0.session.audioMessagesSent }) == hold.afterMessages {
                    try await hold.gate.wait()
                }
                let chunk = samples[start..<min(start + samplesPerChunk, samples.count)]
                let chunkStart = index * millisecondsPerChunk
                let inChunk = characters.indices.filter {
                    (chunkStart..<chunkStart + millisecondsPerChunk).contains($0 * FakeElevenLabs.millisecondsPerCharacter)
                }
                try await outbound.write(
                    .text(
                        message(
                            chunk, characters: inChunk.map { characters[$0] },
                            startsMs: inChunk.map {
                                $0 * FakeElevenLabs.millisecondsPerCharacter - chunkStart
                            })))
                state.withLock {
                    $0.session.audioMessagesSent += 1
                    $0.session.lastAudioSentAt = .now
                }
            }
        }

        private func message(_ samples: ArraySlice<Int16>, characters: [Character], startsMs: [Int]) -> String {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(samples.count * 2)
            for sample in samples {
                let bits = UInt16(bitPattern: sample)
                bytes += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            }
            let chars =
                (try? JSONEncoder().encode(characters.map(String.init))).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            let durations = Array(repeating: FakeElevenLabs.millisecondsPerCharacter, count: characters.count)
            let alignment = #"{"chars":\#(chars),"charStartTimesMs":\#(startsMs),"charDurationsMs":\#(durations)}"#
            return
                #"{"audio":"\#(Data(bytes).base64EncodedString())","isFinal":null,"normalizedAlignment":\#(alignment),"alignment":\#(alignment)}"#
        }
    }
}
