import Foundation
import Hummingbird
import Synchronization

/// A local OpenAI chat-completions endpoint, `POST /v1/chat/completions`, following OpenAI's
/// documented streaming contract, with the latencies a test or benchmark sets:
///
/// - `Authorization: Bearer KEY` is checked: a missing or wrong key answers 401 with OpenAI's
///   error JSON (type `invalid_request_error`, code `invalid_api_key`), the key masked as
///   OpenAI masks it.
/// - The body must be JSON with a `model`, some `messages` and `"stream": true`, else 400.
/// - The answer streams as `text/event-stream`, each event `data: {json}\n\n` written and
///   flushed on its own: a chunk with the assistant role and empty content at once, then one
///   chunk per token (`choices[0].delta.content`) paced by `Pace`, then a chunk with an empty
///   delta and `finish_reason: "stop"`, then `data: [DONE]`.
/// - Failures on demand: `failNext` queues error statuses (429 with `Retry-After`, 500…) that
///   the next requests answer, in order.
/// - A `Hold` keeps a token back until the test opens its gate, so that a test can see what
///   the client does before the rest is sent (or, with a gate never opened, while the server
///   stays silent for good).
///
/// It records every request and how every stream ended: completed, or the client went away
/// (noticed when a write fails) after some tokens.
public final class FakeChatCompletions: Sendable {
    /// When tokens are sent: the first `firstToken` after the request, then one per `betweenTokens`.
    public struct Pace: Sendable {
        public var firstToken: Duration
        public var betweenTokens: Duration

        public init(firstToken: Duration = .zero, betweenTokens: Duration = .zero) {
            self.firstToken = firstToken
            self.betweenTokens = betweenTokens
        }

        public init(firstTokenAfter firstToken: Duration, tokensPerSecond: Double) {
            self.init(firstToken: firstToken, betweenTokens: .nanoseconds(Int64(1_000_000_000 / max(tokensPerSecond, 0.001))))
        }
    }

    /// Token number `beforeToken` (0 for the first) is sent only once `gate` is open.
    public struct Hold: Sendable {
        public var beforeToken: Int
        public var gate: Gate

        public init(beforeToken: Int, gate: Gate) {
            self.beforeToken = beforeToken
            self.gate = gate
        }
    }

    /// An error answer, in OpenAI's shape.
    public struct Failure: Sendable {
        public var status: Int
        public var message: String
        public var type: String
        public var code: String?
        /// Seconds, sent as `Retry-After`.
        public var retryAfter: Int?

        public init(status: Int, message: String, type: String, code: String? = nil, retryAfter: Int? = nil) {
            self.status = status
            self.message = message
            self.type = type
            self.code = code
            self.retryAfter = retryAfter
        }

        public static func rateLimited(retryAfter: Int? = nil) -> Failure {
            Failure(
                status: 429, message: "Rate limit reached for requests. Please try again in 20ms.", type: "requests",
                code: "rate_limit_exceeded", retryAfter: retryAfter)
        }

        public static let serverError = Failure(
            status: 500, message: "The server had an error while processing your request. Sorry about that!", type: "server_error"
        )
    }

    public struct Message: Sendable, Equatable, Decodable {
        public var role: String
        public var content: String
    }

    /// What a request asked for, as received (fields the client left out are nil).
    public struct ReceivedRequest: Sendable, Decodable {
        public var model: String?
        public var messages: [Message]?
        public var stream: Bool?
        public var maxTokens: Int?
        public var temperature: Double?
        public var responseFormat: ResponseFormat?

        /// `response_format` as asked for: its type, and a JSON schema's name and strictness.
        public struct ResponseFormat: Sendable, Decodable {
            public struct Schema: Sendable, Decodable {
                public var name: String?
                public var strict: Bool?
            }
            public var type: String
            public var jsonSchema: Schema?

            enum CodingKeys: String, CodingKey {
                case type
                case jsonSchema = "json_schema"
            }
        }

        enum CodingKeys: String, CodingKey {
            case model, messages, stream, temperature
            case maxTokens = "max_tokens"
            case responseFormat = "response_format"
        }
    }

    /// How one streamed answer ended.
    public struct StreamEnd: Sendable {
        public var tokensSent: Int
        /// False when the client went away before `[DONE]`.
        public var completed: Bool
        public var at: ContinuousClock.Instant
    }

    private final class Record: Sendable {
        let requests = Mutex<[ReceivedRequest]>([])
        let failures = Mutex<[Failure]>([])
        let answers = Mutex<[String]>([])
        let ends = Mutex<[StreamEnd]>([])
    }

    public let apiKey: String
    public let tokens: [String]
    public let pace: Pace
    private let record: Record
    private let server: FakeServer

    public init(apiKey: String = "sk-fake-0123456789abcdef", tokens: [String], pace: Pace = Pace(), hold: Hold? = nil)
        async throws
    {
        let record = Record()
        server = try await FakeServer { router, _ in
            router.post("/v1/chat/completions") { request, _ -> Response in
                try await Self.answer(request, apiKey: apiKey, tokens: tokens, pace: pace, hold: hold, record: record)
            }
        }
        self.apiKey = apiKey
        self.tokens = tokens
        self.pace = pace
        self.record = record
    }

    /// `answer` cut into word tokens (" word" after the first), as models stream them.
    public static func tokens(of answer: String) -> [String] {
        answer.split(separator: " ").enumerated().map { $0.offset == 0 ? String($0.element) : " " + $0.element }
    }

    /// The API root to configure a client with.
    public var baseURL: String { server.url + "/v1" }
    public var requests: [ReceivedRequest] { record.requests.withLock { $0 } }
    public var streamEnds: [StreamEnd] { record.ends.withLock { $0 } }

    /// The next requests with a valid key answer these, one each, before any streams again.
    public func failNext(_ failures: Failure...) {
        record.failures.withLock { $0 += failures }
    }

    /// The next requests answer these texts, one each (as word tokens), before `tokens` again.
    public func answerNext(_ answers: String...) {
        record.answers.withLock { $0 += answers }
    }

    public func stop() { server.stop() }

    private static func answer(
        _ request: Request, apiKey: String, tokens: [String], pace: Pace, hold: Hold?, record: Record
    ) async throws -> Response {
        var request = request
        guard request.headers[.authorization] == "Bearer \(apiKey)" else {
            let given = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? ""
            return error(
                Failure(
                    status: 401,
                    message: "Incorrect API key provided: \(masked(given)). "
                        + "You can find your API key at https://platform.openai.com/account/api-keys.",
                    type: "invalid_request_error", code: "invalid_api_key"))
        }
        let bytes = try await request.collectBody(upTo: 1 << 20)
        guard let received = try? JSONDecoder().decode(ReceivedRequest.self, from: Data(bytes.readableBytesView)) else {
            return error(
                Failure(status: 400, message: "We could not parse the JSON body of your request.", type: "invalid_request_error"))
        }
        record.requests.withLock { $0.append(received) }
        guard let model = received.model, received.messages?.isEmpty == false, received.stream == true else {
            return error(
                Failure(
                    status: 400,
                    message: "This fake serves streamed completions only: send a model, messages and \"stream\": true.",
                    type: "invalid_request_error"))
        }
        if let failure = record.failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return error(failure) }
        let tokens = record.answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }.map(Self.tokens(of:)) ?? tokens
        let inbound = request.body
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var sent = 0
                do {
                    // Cancelled when the client closes the connection, even while waiting to
                    // send: a silent server still sees the client go at once.
                    try await inbound.consumeWithCancellationOnInboundClose { _ in
                        try await writer.write(event(Chunk(model: model, delta: Delta(role: "assistant", content: ""))))
                        for token in tokens {
                            let wait = sent == 0 ? pace.firstToken : pace.betweenTokens
                            if wait > .zero { try await Task.sleep(for: wait) }
                            if let hold, hold.beforeToken == sent { try await hold.gate.wait() }
                            try await writer.write(event(Chunk(model: model, delta: Delta(content: token))))
                            sent += 1
                        }
                        try await writer.write(event(Chunk(model: model, delta: Delta(), finishReason: "stop")))
                        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    }
                    try await writer.finish(nil)
                    record.ends.withLock { $0.append(StreamEnd(tokensSent: sent, completed: true, at: .now)) }
                } catch {
                    record.ends.withLock { $0.append(StreamEnd(tokensSent: sent, completed: false, at: .now)) }
                    throw error
                }
            })
    }

    /// OpenAI shows the first three and last four characters of a key it refuses.
    private static func masked(_ key: String) -> String {
        key.count > 8 ? "\(key.prefix(3))***\(key.suffix(4))" : "***"
    }

    private static func error(_ failure: Failure) -> Response {
        let detail: [String: Any] = [
            "message": failure.message, "type": failure.type, "param": NSNull(),
            "code": failure.code.map { $0 as Any } ?? NSNull(),
        ]
        let json = (try? JSONSerialization.data(withJSONObject: ["error": detail])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        if let seconds = failure.retryAfter { headers[.retryAfter] = "\(seconds)" }
        return Response(
            status: HTTPResponse.Status(code: failure.status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }

    private struct Delta: Encodable {
        var role: String?
        var content: String?
    }

    /// A `chat.completion.chunk`, with `finish_reason` null until the last, as OpenAI sends it.
    private struct Chunk: Encodable {
        var model: String
        var delta: Delta
        var finishReason: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode("chatcmpl-fake", forKey: .id)
            try container.encode("chat.completion.chunk", forKey: .object)
            try container.encode(Int(Date().timeIntervalSince1970), forKey: .created)
            try container.encode(model, forKey: .model)
            try container.encode([Choice(delta: delta, finishReason: finishReason)], forKey: .choices)
        }

        private struct Choice: Encodable {
            var delta: Delta
            var finishReason: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(0, forKey: .index)
                try container.encode(delta, forKey: .delta)
                try container.encode(finishReason, forKey: .finishReason)  // null, not left out
            }
        }

        private enum Key: String, CodingKey {
            case id, object, created, model, choices, index, delta
            case finishReason = "finish_reason"
        }
    }

    private static func event(_ chunk: Chunk) -> ByteBuffer {
        let json = (try? JSONEncoder().encode(chunk)) ?? Data()
        return ByteBuffer(string: "data: \(String(decoding: json, as: UTF8.self))\n\n")
    }
}
