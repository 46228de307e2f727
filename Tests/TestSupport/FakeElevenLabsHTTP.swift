import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A local stand-in for ElevenLabs' HTTP streaming text-to-speech with timing,
/// `POST /v1/text-to-speech/{voice_id}/stream/with-timestamps`, following its documented contract:
///
/// - The key comes in `xi-api-key`: missing or wrong, the answer is 401 with ElevenLabs' error
///   JSON, `{"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}`.
/// - The body is JSON with the `text` (required: 422 with a validation `detail` list without
///   it), `model_id` and `voice_settings`; `output_format` is a query parameter, and this fake
///   speaks `pcm_16000` only (422 otherwise). A voice outside `voices` answers 400 `voice_not_found`.
/// - Beyond `concurrencyLimit` requests streaming at once, the answer is 429 with
///   `too_many_concurrent_requests`.
/// - The answer streams one JSON object a line: `audio_base64` (PCM 16 kHz 16-bit little
///   endian) and `alignment`/`normalized_alignment` (`characters`,
///   `character_start_times_seconds`, `character_end_times_seconds`, counted from the start of
///   the whole generation), null for a line whose audio starts no character.
///
/// Its speech is `FakeElevenLabs`' tone, so a test knows every sample. Each line carries
/// `chunkDuration` of audio and one byte more, so samples are split across lines; each line's
/// last bytes go out only with the next line, so lines are split across the body's chunks. The
/// first line goes out after `firstChunkLatency`, the next ones `chunkInterval` apart. With a
/// `hold`, the answer stops after that many lines until the test opens the gate (never, for an
/// answer that only the client can end).
///
/// It records every request, and how its answer ended: the whole body sent, or the client gone
/// before (noticed at once, even while the fake waits to send).
public final class FakeElevenLabsHTTP: Sendable {
    public struct Configuration: Sendable {
        public var apiKey = "fake-elevenlabs-key"
        public var firstChunkLatency: Duration = .zero
        public var chunkInterval: Duration = .milliseconds(20)
        public var chunkDuration: Duration = .milliseconds(100)
        public var concurrencyLimit: Int?
        /// The account's voices; nil accepts any.
        public var voices: Set<String>?
        public var hold: Hold?
        public init() {}
    }

    /// After `afterLines` lines have begun, the next waits for `gate`.
    public struct Hold: Sendable {
        public var afterLines: Int
        public var gate: Gate

        public init(afterLines: Int, gate: Gate) {
            self.afterLines = afterLines
            self.gate = gate
        }
    }

    public struct VoiceSettings: Sendable, Decodable, Equatable {
        public var stability: Double?
        public var similarityBoost: Double?
        public var speed: Double?

        public init(stability: Double? = nil, similarityBoost: Double? = nil, speed: Double? = nil) {
            self.stability = stability
            self.similarityBoost = similarityBoost
            self.speed = speed
        }
    }

    /// One request and how it was answered.
    public struct Exchange: Sendable {
        public var voiceID: String
        public var query: [String: String]
        public var apiKey: String?
        public var contentType: String?
        public var text: String?
        public var modelID: String?
        public var voiceSettings: VoiceSettings?
        public var status = 200
        /// Lines begun: the last bytes of each go out with the next one.
        public var linesSent = 0
        public var firstLineSentAt: ContinuousClock.Instant?
        public var lastLineSentAt: ContinuousClock.Instant?
        /// Whether the client went away before the whole body was sent.
        public var clientWentAway = false
        public var endedAt = ContinuousClock.now
    }

    private struct Body: Decodable {
        var text: String?
        var modelId: String?
        var voiceSettings: VoiceSettings?
    }

    public let configuration: Configuration
    public let exchanges = SessionLog<Exchange>()
    private let server: FakeServer

    public init(configuration: Configuration = Configuration()) async throws {
        let exchanges = exchanges
        let streaming = Admission()
        server = try await FakeServer { router, _ in
            router.post("/v1/text-to-speech/:voice/stream/with-timestamps") { request, context -> Response in
                var request = request
                let bytes = try await request.collectBody(upTo: 1 << 20)
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                let body = try? decoder.decode(Body.self, from: Data(bytes.readableBytesView))
                var exchange = Exchange(
                    voiceID: context.parameters.get("voice") ?? "", query: FakeWebSocketServer.query(of: request.head),
                    apiKey: request.headers[Self.apiKeyHeader], contentType: request.headers[.contentType], text: body?.text,
                    modelID: body?.modelId, voiceSettings: body?.voiceSettings)
                if let (status, detail) = Self.refusal(of: exchange, configuration: configuration, streaming: streaming) {
                    exchange.status = status
                    exchanges.record(exchange)
                    return Self.error(status, detail)
                }
                let lines = Self.lines(speaking: body?.text ?? "", configuration: configuration)
                let inbound = request.body
                let admitted = exchange
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody { writer in
                        var exchange = admitted
                        defer {
                            streaming.leave()
                            exchange.endedAt = .now
                            exchanges.record(exchange)
                        }
                        do {
                            try await inbound.consumeWithCancellationOnInboundClose { _ in
                                var heldBack: [UInt8] = []
                                for line in lines {
                                    if let hold = configuration.hold, exchange.linesSent == hold.afterLines {
                                        try await hold.gate.wait()
                                    }
                                    let wait =
                                        exchange.linesSent == 0 ? configuration.firstChunkLatency : configuration.chunkInterval
                                    try await Task.sleep(for: wait)
                                    let cut = line.count - 7
                                    try await writer.write(ByteBuffer(bytes: heldBack + line[..<cut]))
                                    heldBack = Array(line[cut...])
                                    exchange.linesSent += 1
                                    exchange.lastLineSentAt = .now
                                    if exchange.firstLineSentAt == nil { exchange.firstLineSentAt = exchange.lastLineSentAt }
                                }
                                try await Task.sleep(for: configuration.chunkInterval)
                                try await writer.write(ByteBuffer(bytes: heldBack))
                            }
                            try await writer.finish(nil)
                        } catch {
                            exchange.clientWentAway = true
                            throw error
                        }
                    })
            }
        }
        self.configuration = configuration
    }

    public var baseURL: String { server.url }

    public func stop() { server.stop() }

    // A valid header name, so the initializer cannot fail.
    private static let apiKeyHeader = HTTPField.Name("xi-api-key")!

    /// Why ElevenLabs would refuse the request, as status and `detail`; nil when it streams,
    /// counted against the concurrency limit until the answer ends.
    private static func refusal(of exchange: Exchange, configuration: Configuration, streaming: Admission) -> (Int, Any)? {
        guard exchange.apiKey == configuration.apiKey else {
            return (401, ["status": "invalid_api_key", "message": "Invalid API key"])
        }
        guard let text = exchange.text, !text.isEmpty else {
            let error: [String: Any] = ["loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"]
            return (422, [error])
        }
        guard exchange.query["output_format"] == "pcm_16000" else {
            let error: [String: Any] = [
                "loc": ["query", "output_format"], "msg": "this fake speaks pcm_16000 only", "type": "value_error",
            ]
            return (422, [error])
        }
        if let voices = configuration.voices, !voices.contains(exchange.voiceID) {
            return (400, ["status": "voice_not_found", "message": "A voice with voice_id \(exchange.voiceID) was not found."])
        }
        guard streaming.enter(limit: configuration.concurrencyLimit) else {
            return (
                429,
                [
                    "status": "too_many_concurrent_requests",
                    "message":
                        "Too many concurrent requests: this account may have \(configuration.concurrencyLimit ?? 0) at once.",
                ]
            )
        }
        return nil
    }

    private static func error(_ status: Int, _ detail: Any) -> Response {
        let json = (try? JSONSerialization.data(withJSONObject: ["detail": detail])) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// The answer's lines, each ending with a newline.
    static func lines(speaking text: String, configuration: Configuration) -> [[UInt8]] {
        let spoken = Array(FakeElevenLabs.spoken(text))
        let pcm = FakeElevenLabs.speech(for: text).flatMap { sample in
            let bits = UInt16(bitPattern: sample)
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        let milliseconds = Int(configuration.chunkDuration / .milliseconds(1))
        let bytesPerLine = milliseconds * FakeElevenLabs.sampleRate / 1000 * 2 + 1
        let bytesPerCharacter = FakeElevenLabs.millisecondsPerCharacter * FakeElevenLabs.sampleRate / 1000 * 2
        return stride(from: 0, to: pcm.count, by: bytesPerLine).map { start in
            let end = min(start + bytesPerLine, pcm.count)
            let characters = spoken.indices.filter { (start..<end).contains($0 * bytesPerCharacter) }
            var alignment: Any = NSNull()
            if !characters.isEmpty {
                let seconds = { (index: Int) in Double(index * FakeElevenLabs.millisecondsPerCharacter) / 1000 }
                alignment =
                    [
                        "characters": characters.map { String(spoken[$0]) },
                        "character_start_times_seconds": characters.map(seconds),
                        "character_end_times_seconds": characters.map { seconds($0 + 1) },
                    ] as [String: Any]
            }
            let object: [String: Any] = [
                "audio_base64": Data(pcm[start..<end]).base64EncodedString(), "alignment": alignment,
                "normalized_alignment": alignment,
            ]
            return Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) + [UInt8(ascii: "\n")]
        }
    }

    /// Requests streaming now, against the concurrency limit.
    private final class Admission: Sendable {
        private let streaming = Mutex(0)

        func enter(limit: Int?) -> Bool {
            streaming.withLock { count in
                guard count < limit ?? .max else { return false }
                count += 1
                return true
            }
        }

        func leave() { streaming.withLock { $0 -= 1 } }
    }
}
