import Foundation
import HTTPTypes
import Logging
import VoicePipeline

/// ElevenLabs text-to-speech over its WebSocket input streaming (`/stream-input`), asking for
/// 16 kHz PCM so that no resampling is needed. Each `synthesize` call opens its own socket: the
/// pipeline hands over whole sentences, and a socket per sentence keeps a failed or cut
/// sentence from affecting the next, at the cost of a handshake (a few tens of milliseconds)
/// per sentence.
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
            try await converse(text, over: connection, configuration: configuration, into: output)
        } onCancel: {
            connection.cancel()
        }
    }

    private static func converse(
        _ text: String, over connection: WebSocketConnection, configuration: Configuration,
        into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation
    ) async throws {
        do {
            try await connection.send(text: ElevenLabsMessages.initial(configuration))
            try await connection.send(text: ElevenLabsMessages.text(text, flush: true))
            try await connection.send(text: ElevenLabsMessages.endOfInput)
        } catch {
            // The server may already have closed (a refused key): its close code says more.
        }
        var assembler = ElevenLabsChunkAssembler(text: text)
        var serverError: ElevenLabsMessages.ServerError?
        for await message in connection.messages {
            guard case let .text(json) = message else { continue }
            switch ElevenLabsMessages.parse(json) {
            case let .audio(samples, alignment)?:
                output.yield(assembler.chunk(samples: samples, alignment: alignment))
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
