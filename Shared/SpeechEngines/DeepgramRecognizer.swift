import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import VoicePipeline

/// Deepgram live streaming (`/v1/listen` over a WebSocket): linear16 audio in, Results out.
/// The vocabulary of `TranscriptEvent` is Deepgram's own, so the mapping is one to one.
public struct DeepgramRecognizer: SpeechToText {
    /// Printing it shows everything but the key.
    public struct Configuration: Sendable, CustomStringConvertible {
        public var baseURL = "wss://api.deepgram.com"
        public var apiKey: String
        public var model = "nova-3"
        /// Silence that closes an utterance with `speech_final` (Deepgram's `endpointing`).
        public var endpointing: Duration = .milliseconds(300)
        /// Gap without words that sends `UtteranceEnd` (`utterance_end_ms`; Deepgram's minimum is 1000).
        public var utteranceEnd: Duration = .milliseconds(1000)
        /// Deepgram closes a stream that got neither audio nor KeepAlive for about 10 s.
        public var keepAliveInterval: Duration = .seconds(5)
        /// How long `close()` waits for the last results and the server's close.
        public var closeTimeout: Duration = .seconds(5)

        public init(apiKey: String) {
            self.apiKey = apiKey
        }

        public var description: String {
            "Deepgram(\(baseURL), model \(model), endpointing \(endpointing), utterance end \(utteranceEnd), key redacted)"
        }
    }

    public let name = "deepgram"
    public let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "deepgram")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func openStream() async throws -> any TranscriptionStream {
        try await openDeepgramStream()
    }

    /// `openStream`, typed: the stream also offers `finalize()`.
    public func openDeepgramStream() async throws(DeepgramError) -> DeepgramStream {
        let url = listenURL
        let authorization = ("Authorization", "Token \(configuration.apiKey)")
        do {
            let connection = try await WebSocketConnection.open(
                url: url, headers: [.authorization: authorization.1], logger: logger)
            return DeepgramStream(connection: connection, configuration: configuration)
        } catch .refused {
            let status = await HandshakeDiagnosis.status(of: url, headers: [authorization], logger: logger)
            throw .handshakeRefused(status: status)
        } catch let .unreachable(reason) {
            throw .unreachable(baseURL: configuration.baseURL, reason: reason)
        } catch {
            throw .cancelled
        }
    }

    var listenURL: String {
        let query = [
            ("model", configuration.model), ("encoding", "linear16"), ("sample_rate", "\(PCM.sampleRate)"), ("channels", "1"),
            ("interim_results", "true"), ("endpointing", "\(Self.milliseconds(configuration.endpointing))"),
            ("utterance_end_ms", "\(Self.milliseconds(configuration.utteranceEnd))"), ("vad_events", "true"),
        ]
        return configuration.baseURL + "/v1/listen?" + query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// One live transcription: audio frames go out as binary messages, Deepgram's messages come back
/// as events. A keep-alive task sends `KeepAlive` whenever no audio went out for the interval.
public final class DeepgramStream: TranscriptionStream {
    public let events: AsyncThrowingStream<TranscriptEvent, any Error>
    private let connection: WebSocketConnection
    private let closeTimeout: Duration
    private let lastSent = LastSent()
    private let tasks: [Task<Void, Never>]

    init(connection: WebSocketConnection, configuration: DeepgramRecognizer.Configuration) {
        self.connection = connection
        closeTimeout = configuration.closeTimeout
        let (events, output) = AsyncThrowingStream<TranscriptEvent, any Error>.makeStream()
        self.events = events
        let lastSent = lastSent
        let reader = Task {
            for await message in connection.messages {
                guard case let .text(json) = message, let event = DeepgramMessage.event(from: json) else { continue }
                output.yield(event)
            }
            let ending = await connection.ending
            if WebSocketConnection.isNormal(ending) {
                output.finish()
            } else {
                output.finish(throwing: DeepgramError(ending))
            }
        }
        let interval = configuration.keepAliveInterval
        let keepAlive = Task {
            while !Task.isCancelled {
                let due = lastSent.instant + interval
                if ContinuousClock.now >= due {
                    do { try await connection.send(text: #"{"type":"KeepAlive"}"#) } catch { return }
                    lastSent.touch()
                } else {
                    try? await Task.sleep(until: due)
                }
            }
        }
        tasks = [reader, keepAlive]
    }

    deinit {
        tasks.last?.cancel()
        connection.cancel()
    }

    public func send(_ frame: AudioFrame) async throws {
        var buffer = ByteBufferAllocator().buffer(capacity: frame.samples.count * 2)
        for sample in frame.samples { buffer.writeInteger(sample, endianness: .little) }
        do {
            try await connection.send(binary: buffer)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw streamEndedError
        }
        lastSent.touch()
    }

    /// Why sending failed: how the connection ended, if it did so abnormally.
    private var streamEndedError: DeepgramError {
        guard let ending = connection.endedAs, !WebSocketConnection.isNormal(ending) else { return .streamEnded }
        return DeepgramError(ending)
    }

    /// Asks Deepgram to finish what it heard so far now (a final with `from_finalize`), without
    /// waiting for endpointing.
    public func finalize() async throws {
        do { try await connection.send(text: #"{"type":"Finalize"}"#) } catch { throw streamEndedError }
    }

    /// Sends CloseStream: Deepgram delivers what is pending, then closes. If it has not closed
    /// within the timeout, the connection is dropped.
    public func close() async {
        tasks.last?.cancel()
        try? await connection.send(text: #"{"type":"CloseStream"}"#)
        if await connection.ending(within: closeTimeout) == nil {
            connection.cancel()
        }
        await tasks.first?.value
    }
}

/// When audio (or a KeepAlive) last went out; the keep-alive task shares it with `send`.
private final class LastSent: Sendable {
    private let value = Mutex(ContinuousClock.now)
    var instant: ContinuousClock.Instant { value.withLock { $0 } }
    func touch() { value.withLock { $0 = .now } }
}

/// Deepgram's server messages, as far as the pipeline needs them.
enum DeepgramMessage {
    private struct Envelope: Decodable { var type: String }

    // Only Results has an object `channel`; SpeechStarted and UtteranceEnd have an array there.
    private struct Results: Decodable {
        struct Channel: Decodable {
            struct Alternative: Decodable { var transcript: String }
            var alternatives: [Alternative]
        }
        var isFinal: Bool?
        var speechFinal: Bool?
        var channel: Channel?
    }

    static func event(from json: String) -> TranscriptEvent? {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = Data(json.utf8)
        switch (try? decoder.decode(Envelope.self, from: data))?.type {
        case "Results":
            guard let results = try? decoder.decode(Results.self, from: data) else { return nil }
            let transcript = results.channel?.alternatives.first?.transcript ?? ""
            let speechFinal = results.speechFinal ?? false
            guard results.isFinal ?? false else { return transcript.isEmpty ? nil : .interim(transcript) }
            // An empty final still matters when it is speech_final: it closes the turn whose
            // words came in earlier finals.
            if transcript.isEmpty, !speechFinal { return nil }
            return .final(transcript, endOfSpeech: speechFinal)
        case "UtteranceEnd": return .utteranceEnd
        case "SpeechStarted": return .speechStarted
        default: return nil  // Metadata, and whatever Deepgram adds later.
        }
    }
}

/// What went wrong talking to Deepgram. Descriptions say what to check; they never contain the key.
public enum DeepgramError: Error, Equatable, CustomStringConvertible {
    /// The WebSocket upgrade was refused; `status` is the HTTP status Deepgram gives these credentials.
    case handshakeRefused(status: Int?)
    case unreachable(baseURL: String, reason: String)
    /// Deepgram closed the stream with an error close code.
    case closedByServer(code: Int, reason: String)
    case connectionLost(String)
    /// Audio or a control message was sent after the stream ended.
    case streamEnded
    case cancelled

    init(_ ending: WebSocketConnection.Ending) {
        switch ending {
        case let .closed(code, reason): self = .closedByServer(code: code, reason: reason)
        case let .dropped(reason): self = .connectionLost(reason)
        }
    }

    public var description: String {
        switch self {
        case .handshakeRefused(status: 401?):
            "Deepgram rejected the API key (HTTP 401): check that the configured key is current and has not been revoked"
        case .handshakeRefused(status: 402?):
            "Deepgram refused the stream (HTTP 402): the project's balance is exhausted; add credit or use another project's key"
        case .handshakeRefused(status: 403?):
            "Deepgram refused the stream (HTTP 403): the API key lacks permission for live transcription or for this model"
        case let .handshakeRefused(status: status?):
            "Deepgram refused the WebSocket upgrade (HTTP \(status)): check the model name and the streaming parameters"
        case .handshakeRefused(status: nil):
            "Deepgram refused the WebSocket upgrade and did not say why: check the API key, the model name and the base URL"
        case let .unreachable(baseURL, reason):
            "could not reach Deepgram at \(baseURL): \(reason); check the network and the base URL"
        case let .closedByServer(1008, reason):
            "Deepgram closed the stream with code 1008 (\(reason)): it could not decode the audio; it must be 16 kHz mono linear16"
        case let .closedByServer(1011, reason):
            "Deepgram closed the stream with code 1011 (\(reason)): no audio or KeepAlive arrived for about 10 seconds, or Deepgram failed; open a new stream"
        case let .closedByServer(code, reason):
            "Deepgram closed the stream with code \(code) (\(reason))"
        case let .connectionLost(reason):
            "the connection to Deepgram was lost: \(reason)"
        case .streamEnded:
            "the Deepgram stream has already ended; open a new one"
        case .cancelled:
            "opening the Deepgram stream was cancelled"
        }
    }
}
