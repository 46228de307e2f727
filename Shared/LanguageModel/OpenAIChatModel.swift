import Foundation
import HTTPClient
import Logging

/// A chat model behind an OpenAI-compatible `POST /chat/completions` endpoint (OpenAI, and the
/// servers that copy its API), its answer streamed as server-sent events and handed on delta by
/// delta as each arrives.
public struct OpenAIChatModel: ChatModel {
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The API root, such as `https://api.openai.com/v1`; `/chat/completions` is appended.
        public var baseURL: String
        public var apiKey: String
        public var model: String
        /// Longest wait from the request to the first token: connection, queueing, any retry
        /// and the model's own time to first token.
        public var firstTokenTimeout: Duration
        /// Longest gap between two tokens.
        public var idleTimeout: Duration
        /// Longest whole exchange, however steadily the tokens come.
        public var requestTimeout: Duration

        public init(
            baseURL: String = "https://api.openai.com/v1", apiKey: String, model: String,
            firstTokenTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(10),
            requestTimeout: Duration = .seconds(120)
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.model = model
            self.firstTokenTimeout = firstTokenTimeout
            self.idleTimeout = idleTimeout
            self.requestTimeout = requestTimeout
        }

        /// Without the key, so that a configuration can be logged.
        public var description: String { "\(model) at \(redactedURL(baseURL))" }
    }

    public let configuration: Configuration
    private let client: HTTPClient
    private let logger: Logger

    public var name: String { "openai:\(configuration.model)" }

    /// - Parameter client: by default one that retries a 429 or 503 (before any token, so
    ///   nothing is duplicated) when the wait the server asks for fits in the first-token timeout.
    public init(configuration: Configuration, client: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.client =
            client
            ?? HTTPClient(retry: RetryPolicy(maxAttempts: 3, longestRetryAfter: configuration.firstTokenTimeout), logger: logger)
        self.logger = logger
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
        let (answer, output) = AsyncThrowingStream<String, any Error>.makeStream()
        let task = Task {
            do {
                try await generate(request, into: output)
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        output.onTermination = { _ in task.cancel() }
        return answer
    }

    private var endpoint: String { redactedURL(configuration.baseURL) }

    /// Relays the answer while a watchdog enforces the token deadlines: whichever ends first
    /// cancels the other, and cancelling the relay aborts the transfer.
    private func generate(_ request: ChatRequest, into output: AsyncThrowingStream<String, any Error>.Continuation) async throws {
        let outbound = try outboundRequest(for: request)
        let deadline = TokenDeadline(firstToken: configuration.firstTokenTimeout, idle: configuration.idleTimeout)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await relay(outbound, deadline: deadline, into: output) } catch { throw translated(error) }
            }
            group.addTask {
                let allowed = try await deadline.expiry()
                throw ChatModelError.timedOut(endpoint: endpoint, after: allowed)
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func relay(
        _ outbound: OutboundRequest, deadline: TokenDeadline, into output: AsyncThrowingStream<String, any Error>.Continuation
    ) async throws {
        let started = ContinuousClock.now
        let response = try await client.stream(outbound)
        // Releases the connection as soon as this returns, [DONE] or error, whatever the server still sends.
        defer { response.cancel() }
        guard response.isSuccess else { throw await rejection(response) }
        if let type = response.headers["content-type"], !type.lowercased().hasPrefix("text/event-stream") {
            throw ChatModelError.malformedStream(endpoint: endpoint, detail: "the response is \(type), not text/event-stream")
        }
        let decoder = JSONDecoder()
        var parser = ServerSentEventParser()
        var firstToken: Duration?
        var deltas = 0
        for try await bytes in response.body {
            // Named events are not chat-completion chunks: OpenAI sends none, other servers may.
            for event in parser.parse(bytes) where event.type == "message" {
                if event.data == "[DONE]" {
                    logger.debug(
                        "chat completion streamed",
                        metadata: [
                            "model": "\(configuration.model)", "url": "\(endpoint)", "deltas": "\(deltas)",
                            "first_token": "\(firstToken.map { "\($0)" } ?? "none")",
                            "elapsed": "\(ContinuousClock.now - started)",
                        ])
                    return
                }
                guard let text = try content(of: event.data, status: response.status, decoder: decoder), !text.isEmpty else {
                    continue
                }
                deadline.tokenArrived()
                if firstToken == nil { firstToken = ContinuousClock.now - started }
                deltas += 1
                output.yield(text)
            }
        }
        try Task.checkCancellation()
        throw ChatModelError.malformedStream(
            endpoint: endpoint, detail: "the stream ended without data: [DONE], so the answer may be cut short")
    }

    private func outboundRequest(for request: ChatRequest) throws -> OutboundRequest {
        let base = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        let body = ChatCompletions.Request(
            model: configuration.model, messages: request.messages, maxTokens: request.maxTokens,
            temperature: request.temperature,
            responseFormat: request.responseFormat.map(ChatCompletions.Format.init))
        var outbound = try OutboundRequest.json(
            url: base + "/chat/completions", body,
            headers: [("Authorization", "Bearer \(configuration.apiKey)"), ("Accept", "text/event-stream")])
        outbound.timeout = configuration.requestTimeout
        return outbound
    }

    /// The delta text of one chunk; nil for chunks without any (the role, the finish reason).
    private func content(of data: String, status: Int, decoder: JSONDecoder) throws -> String? {
        let chunk: ChatCompletions.Chunk
        do {
            chunk = try decoder.decode(ChatCompletions.Chunk.self, from: Data(data.utf8))
        } catch {
            throw ChatModelError.malformedStream(
                endpoint: endpoint, detail: "an event is not a chat-completion chunk: \(data.prefix(200))")
        }
        if let error = chunk.error {
            let message = withoutKey(error.message ?? "an error without a message")
            throw ChatModelError.rejected(endpoint: endpoint, status: status, message: message)
        }
        return chunk.choices?.first?.delta?.content
    }

    private func rejection(_ response: StreamingResponse) async -> ChatModelError {
        if response.status == 401 || response.status == 403 { return .unauthorised(endpoint: endpoint, status: response.status) }
        let body = (try? await response.collect(upTo: 64 * 1024)) ?? []
        let explained = (try? JSONDecoder().decode(ChatCompletions.ErrorBody.self, from: Data(body)))?.error.message
        let message = explained ?? String(decoding: body.prefix(300), as: UTF8.self)
        return .rejected(
            endpoint: endpoint, status: response.status, message: withoutKey(message.isEmpty ? "no error message" : message))
    }

    /// Error messages may quote the request; the key must not reach logs through them.
    private func withoutKey(_ message: String) -> String {
        configuration.apiKey.isEmpty ? message : message.replacingOccurrences(of: configuration.apiKey, with: "[API key]")
    }

    /// The client's own timeout is the request timeout: reported as the chat model's.
    private func translated(_ error: any Error) -> any Error {
        guard case .timedOut = error as? HTTPClientError else { return error }
        return ChatModelError.timedOut(endpoint: endpoint, after: configuration.requestTimeout)
    }
}
