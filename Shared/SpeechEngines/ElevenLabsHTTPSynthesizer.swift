import Foundation
import HTTPClient
import Logging
import VoicePipeline

/// ElevenLabs text-to-speech over HTTP streaming, the other transport beside the WebSocket
/// engine. One POST a sentence to `/stream/with-timestamps`, asking for 16 kHz PCM: its answer
/// is a line of JSON per piece of audio, with the start time of each character, so that words
/// get exact sample offsets as they do over the WebSocket. The plain `/stream` answers bare PCM
/// and would leave the words to be spread evenly over the sound; the timestamps cost the base64
/// (a third more bytes) and the JSON around it.
public struct ElevenLabsHTTPSynthesizer: TextToSpeech {
    public let name = "elevenlabs-http"
    /// The WebSocket engine's: its `wss://` base URL is used as `https://` (and `ws://` as `http://`).
    public let configuration: ElevenLabsSynthesizer.Configuration
    /// ElevenLabs' `optimize_streaming_latency` (0–4, trading quality for latency); nil leaves
    /// the choice to ElevenLabs. ElevenLabs marks it deprecated but still takes it.
    public let optimizeStreamingLatency: Int?
    /// The longest a sentence's request may take, its audio streamed to the end: the HTTP
    /// client's default. (A test that must see a cancellation end the request sets it out of reach.)
    public var requestTimeout: Duration = .seconds(30)
    private let client: HTTPClient

    /// - Parameter client: by default one that retries a 429 once, shortly: a sentence cut by a
    ///   barge-in may still count against the account's concurrency for a moment after the next
    ///   one starts. A longer wait would be silence in the conversation, so it is an error instead.
    public init(
        configuration: ElevenLabsSynthesizer.Configuration, optimizeStreamingLatency: Int? = nil, client: HTTPClient? = nil,
        logger: Logger = Logger(label: "elevenlabs-http")
    ) {
        self.configuration = configuration
        self.optimizeStreamingLatency = optimizeStreamingLatency
        self.client =
            client
            ?? HTTPClient(
                retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(250), longestRetryAfter: .seconds(1)),
                logger: logger)
    }

    /// Chunks come out as ElevenLabs sends them. Cancelling the consuming task aborts the request.
    public func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
        .produced { [self] output in try await run(text, into: output) }
    }

    /// The HTTP form of the configured base URL.
    var baseURL: String {
        var base = configuration.baseURL
        if base.hasSuffix("/") { base.removeLast() }
        for (socket, http) in [("wss://", "https://"), ("ws://", "http://")] where base.lowercased().hasPrefix(socket) {
            return http + base.dropFirst(socket.count)
        }
        return base
    }

    var streamURL: String {
        "\(baseURL)/v1/text-to-speech/\(configuration.voiceID)/stream/with-timestamps?output_format=pcm_\(PCM.sampleRate)"
            + (optimizeStreamingLatency.map { "&optimize_streaming_latency=\($0)" } ?? "")
    }

    private func run(_ text: String, into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation) async throws {
        let request = OutboundRequest(
            method: "POST", url: streamURL,
            headers: [
                ("xi-api-key", configuration.apiKey), ("Content-Type", "application/json"), ("Accept", "application/json"),
            ],
            body: ElevenLabsHTTPMessages.body(text, configuration: configuration), timeout: requestTimeout)
        let response: StreamingResponse
        do {
            response = try await client.stream(request)
        } catch let error as HTTPClientError {
            // The client's errors carry the URL redacted, and never headers.
            throw ElevenLabsError.unreachable(baseURL: redactedURL(baseURL), reason: "\(error)")
        }
        // Aborts the transfer on every way out, cancellation included.
        defer { response.cancel() }
        guard response.isSuccess else {
            let body = (try? await response.collect(upTo: 64 * 1024)) ?? []
            throw ElevenLabsError(status: response.status, body: body, apiKey: configuration.apiKey)
        }
        var lines = JSONLineSplitter()
        var assembler = ElevenLabsChunkAssembler(text: text)
        do {
            for try await bytes in response.body {
                for line in lines.lines(in: bytes) { try Self.deliver(line, through: &assembler, into: output) }
            }
        } catch let error as HTTPClientError {
            throw ElevenLabsError.connectionLost("\(error)")
        }
        // The body also ends when the reading task is cancelled: that is no end of the audio.
        try Task.checkCancellation()
        if let last = lines.remainder() { try Self.deliver(last, through: &assembler, into: output) }
    }

    private static func deliver(
        _ line: [UInt8], through assembler: inout ElevenLabsChunkAssembler,
        into output: AsyncThrowingStream<SpeechChunk, any Error>.Continuation
    ) throws(ElevenLabsError) {
        let message = try ElevenLabsHTTPMessages.parse(line)
        guard let audio = message.audioBase64, !audio.isEmpty else { return }
        guard let bytes = Data(base64Encoded: audio) else { throw .malformedStream("audio_base64 is not base64") }
        let alignment = message.alignment ?? message.normalizedAlignment
        output.yield(
            assembler.chunk(
                samples: Array(bytes), characters: alignment?.characters ?? [],
                startSecondsFromGenerationStart: alignment?.characterStartTimesSeconds ?? []))
    }
}
