import Foundation
import HTTPTypes
import Logging
import Synchronization
import VoicePipeline

/// ElevenLabs text-to-speech over its WebSocket input streaming (`/stream-input`), asking for
/// 16 kHz PCM so that no resampling is needed. A reply (`openReply`) keeps one socket for all
/// its sentences: it is opened when the reply begins, while the model is still thinking, so
/// no sentence waits for a handshake, and each sentence is sent with `flush`, which makes
/// ElevenLabs speak it at once in the context of the ones before. A cut reply closes its
/// socket; the next reply opens a new one. `synthesize` (one text alone) opens a socket of its own.
public struct ElevenLabsSynthesizer: TextToSpeech {
    /// Printing it shows everything but the key.
    public struct Configuration: Sendable, CustomStringConvertible {
        public var baseURL = "wss://api.elevenlabs.io"
        public var apiKey: String
        public var voiceID: String
        public var modelID = "eleven_flash_v2_5"
        public var stability = 0.5
        public var similarityBoost = 0.8
        public var speed = 1.0

        public init(apiKey: String, voiceID: String) {
            self.apiKey = apiKey
            self.voiceID = voiceID
        }

        public var description: String {
            "ElevenLabs(\(baseURL), voice \(voiceID), model \(modelID), key redacted)"
        }
    }

    public let name = "elevenlabs"
    public let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "elevenlabs")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Chunks come out as ElevenLabs sends them. Cancelling the consuming task closes the socket.
    public func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
        .produced { [configuration, logger] output in
            try await Self.run(text, configuration: configuration, logger: logger, into: output)
        }
    }

    public func openReply() -> (any ReplySpeech)? {
        ElevenLabsReplySpeech(configuration: configuration, logger: logger)
    }

    static func streamURL(_ configuration: Configuration) -> String {
        "\(configuration.baseURL)/v1/text-to-speech/\(configuration.voiceID)/stream-input"
            + "?model_id=\(configuration.modelID)&output_format=pcm_\(PCM.sampleRate)"
    }

    // A valid header name, so the initializer cannot fail.
    private static let apiKeyHeader = HTTPField.Name("xi-api-key")!

    private static func run(
        _ text: String, configuration: Configuration, logger: Logger,
        into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation
    ) async throws {
        let (sentences, input) = AsyncStream<String>.makeStream()
        input.yield(text)
        input.finish()
        try await speak(sentences, configuration: configuration, logger: logger, into: output)
    }

    /// Opens a socket and says `sentences` over it, each flushed as it comes, until they end.
    static func speak(
        _ sentences: AsyncStream<String>, configuration: Configuration, logger: Logger,
        into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation
    ) async throws {
        let url = streamURL(configuration)
        let connection: WebSocketConnection
        do {
            connection = try await WebSocketConnection.open(
                url: url, headers: [apiKeyHeader: configuration.apiKey], logger: logger)
        } catch .refused {
            let status = await HandshakeDiagnosis.status(of: url, headers: [("xi-api-key", configuration.apiKey)], logger: logger)
            throw ElevenLabsError.handshakeRefused(status: status)
        } catch let .unreachable(reason) {
            throw ElevenLabsError.unreachable(baseURL: configuration.baseURL, reason: reason)
        } catch {
            throw CancellationError()
        }
        return try await withTaskCancellationHandler {
            try await converse(sentences, over: connection, configuration: configuration, into: output)
        } onCancel: {
            connection.cancel()
        }
    }

    private static func converse(
        _ sentences: AsyncStream<String>, over connection: WebSocketConnection, configuration: Configuration,
        into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation
    ) async throws {
        // The words sent so far, for the assembler to complete a word cut by a message boundary.
        let assembler = SharedChunkAssembler()
        let sending = Task {
            do {
                try await connection.send(text: ElevenLabsMessages.initial(configuration))
                for await sentence in sentences {
                    assembler.state.withLock { $0.append(text: sentence) }
                    try await connection.send(text: ElevenLabsMessages.text(sentence, flush: true))
                }
                try await connection.send(text: ElevenLabsMessages.endOfInput)
            } catch {
                // The server may already have closed (a refused key): its close code says more.
            }
        }
        defer { sending.cancel() }
        var serverError: ElevenLabsMessages.ServerError?
        for await message in connection.messages {
            guard case let .text(json) = message else { continue }
            switch ElevenLabsMessages.parse(json) {
            case let .audio(samples, alignment)?:
                output.yield(assembler.state.withLock { $0.chunk(samples: samples, alignment: alignment) })
            case .final?:
                await connection.close()
                return
            case let .error(error)?:
                // ElevenLabs closes after an error; closing too keeps a stalled server from holding the call.
                serverError = error
                await connection.close()
            case nil:
                continue
            }
        }
        try Task.checkCancellation()
        let ending = await connection.ending
        // A normal close without isFinal still ends a complete generation.
        if WebSocketConnection.isNormal(ending), serverError == nil { return }
        throw ElevenLabsError(ending, serverError: serverError)
    }
}

/// One reply's sentences over one ElevenLabs socket (see `ElevenLabsSynthesizer`). The socket
/// opens when this is made, and closes after the last sentence's audio, or when the reader
/// of `chunks` goes away.
final class ElevenLabsReplySpeech: ReplySpeech {
    let chunks: AsyncThrowingStream<SpeechChunk, any Error>
    private let sentences: AsyncStream<String>.Continuation

    init(configuration: ElevenLabsSynthesizer.Configuration, logger: Logger) {
        let (stream, input) = AsyncStream<String>.makeStream()
        sentences = input
        chunks = .produced { output in
            try await ElevenLabsSynthesizer.speak(stream, configuration: configuration, logger: logger, into: output)
        }
    }

    func say(_ sentence: String) { sentences.yield(sentence) }
    func finish() { sentences.finish() }
}

/// The assembler of a reply whose sentences are sent by one task while another reads their audio.
private final class SharedChunkAssembler: Sendable {
    let state = Mutex(ElevenLabsChunkAssembler(text: ""))
}
