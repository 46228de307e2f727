import Foundation
import HTTPClient
import Hummingbird
import LanguageModel
import Logging
import Synchronization
import TestSupport
import Testing

@Suite("OpenAI-compatible chat model")
struct OpenAIChatModelTests {
    static let question = ChatRequest(
        messages: [ChatMessage(.system, "You are a terse meeting assistant."), ChatMessage(.user, "What comes first?")],
        maxTokens: 50, temperature: 0.2)

    static func model(
        _ fake: FakeChatCompletions, firstToken: Duration = .seconds(120), idle: Duration = .seconds(120),
        client: HTTPClient? = nil
    ) -> OpenAIChatModel {
        OpenAIChatModel(
            configuration: .init(
                baseURL: fake.baseURL, apiKey: fake.apiKey, model: "gpt-4o-mini", firstTokenTimeout: firstToken, idleTimeout: idle
            ),
            client: client, logger: TestStack.logger)
    }

    /// The deltas received, and the error that ended the stream if one did.
    static func consume(_ stream: AsyncThrowingStream<String, any Error>) async -> (deltas: [String], error: (any Error)?) {
        var deltas: [String] = []
        do {
            for try await delta in stream { deltas.append(delta) }
            return (deltas, nil)
        } catch {
            return (deltas, error)
        }
    }

    /// A fake with far more tokens than a test reads, which sends `count` of them and then holds
    /// the rest for good: the stream can only end by the client going away.
    static func answerHeldAfter(_ count: Int) async throws -> FakeChatCompletions {
        try await FakeChatCompletions(
            tokens: Array(repeating: " word", count: 500), hold: .init(beforeToken: count, gate: Gate()))
    }

    /// How the fake's one stream ended, which must be the client going away before the end.
    /// The fake holds its answer open, so only the client leaving ends it; the limit only keeps
    /// a broken client from hanging the suite.
    static func clientLeft(_ fake: FakeChatCompletions) async throws -> FakeChatCompletions.StreamEnd {
        try await eventually("the fake to see the client go") { !fake.streamEnds.isEmpty }
        let end = try #require(fake.streamEnds.first)
        #expect(!end.completed, "the client read the whole answer")
        return end
    }

    @Test("deltas arrive in order and make up the whole answer; the request follows the API")
    func streamsInOrder() async throws {
        let answer = "The budget review comes first, then the hiring plan."
        let fake = try await FakeChatCompletions(tokens: FakeChatCompletions.tokens(of: answer))
        defer { fake.stop() }
        let received = try await within("the answer") { await Self.consume(Self.model(fake).stream(Self.question)) }
        #expect(received.error == nil)
        #expect(received.deltas == FakeChatCompletions.tokens(of: answer))
        #expect(received.deltas.joined() == answer)
        let sent = try #require(fake.requests.first)
        #expect(sent.model == "gpt-4o-mini")
        #expect(sent.stream == true)
        #expect(sent.maxTokens == 50)
        #expect(sent.temperature == 0.2)
        #expect(sent.messages?.map(\.role) == ["system", "user"])
        #expect(sent.messages?.last?.content == "What comes first?")
        try await eventually("the fake to finish its stream") { !fake.streamEnds.isEmpty }
        #expect(fake.streamEnds.first?.completed == true)
    }

    @Test("the first delta reaches the consumer before the server sends the second, not with the rest")
    func firstDeltaAtOnce() async throws {
        // The fake sends the second token only once the consumer has the first: a client that
        // held deltas back until more came (or until the end) would never get there.
        let second = Gate()
        let fake = try await FakeChatCompletions(tokens: ["Hello", " there"], hold: .init(beforeToken: 1, gate: second))
        defer { fake.stop() }
        let deltas = try await within("the first delta, then the rest") {
            var deltas: [String] = []
            for try await delta in Self.model(fake).stream(Self.question) {
                deltas.append(delta)
                #expect(second.isOpen == (deltas.count > 1), "a delta arrived that the fake had not yet sent")
                second.open()
            }
            return deltas
        }
        #expect(deltas == ["Hello", " there"])
    }

    @Test("a wrong key is unauthorised, and the key is neither in the error nor in the logs")
    func wrongKey() async throws {
        let fake = try await FakeChatCompletions(tokens: ["Hi"])
        defer { fake.stop() }
        let wrongKey = "sk-wrong-5ecret-key-0042"
        let logs = CapturedLogs()
        let model = OpenAIChatModel(
            configuration: .init(baseURL: fake.baseURL, apiKey: wrongKey, model: "gpt-4o-mini"), logger: logs.logger)
        let error = await #expect(throws: ChatModelError.self) { _ = try await model.complete(Self.question) }
        #expect(error == .unauthorised(endpoint: redactedURL(fake.baseURL), status: 401))
        #expect(error.map { !"\($0)".contains(wrongKey) } == true)
        #expect(!"\(model.configuration)".contains(wrongKey))
        #expect(!logs.all.isEmpty, "the client should log its requests")
        #expect(!logs.all.contains(wrongKey))
        #expect(fake.streamEnds.isEmpty)
    }

    @Test("a 500 is rejected with OpenAI's message; a 429 is retried before any token, or rejected without retries")
    func errorStatuses() async throws {
        let fake = try await FakeChatCompletions(tokens: ["Hi"])
        defer { fake.stop() }
        let endpoint = redactedURL(fake.baseURL)

        fake.failNext(.serverError)
        let serverError = ChatModelError.rejected(
            endpoint: endpoint, status: 500, message: FakeChatCompletions.Failure.serverError.message)
        await #expect(throws: serverError) {
            _ = try await Self.model(fake).complete(Self.question)
        }
        #expect(fake.requests.count == 1, "a POST answered 500 is not retried")

        fake.failNext(.rateLimited(retryAfter: 0))
        #expect(try await Self.model(fake).complete(Self.question) == "Hi")
        #expect(fake.requests.count == 3, "the 429 was retried once")

        fake.failNext(.rateLimited(retryAfter: 0))
        let withoutRetries = Self.model(fake, client: HTTPClient(retry: .none, logger: TestStack.logger))
        await #expect(
            throws: ChatModelError.rejected(
                endpoint: endpoint, status: 429, message: FakeChatCompletions.Failure.rateLimited().message)
        ) {
            _ = try await withoutRetries.complete(Self.question)
        }
    }

    @Test("no token within the first-token timeout: timed out, and the silent connection is closed")
    func firstTokenTimeout() async throws {
        // The fake never sends a token: only the client's abort can end the exchange.
        let fake = try await FakeChatCompletions(tokens: ["Too", " late"], hold: .init(beforeToken: 0, gate: Gate()))
        defer { fake.stop() }
        // Long enough for the fake's handler to be running when the client gives up, however
        // loaded the machine: a fake that starts after the client left cannot see it leave.
        let received = try await within("the timeout") {
            await Self.consume(Self.model(fake, firstToken: .seconds(2)).stream(Self.question))
        }
        #expect(received.deltas.isEmpty, "the role chunk is not a token")
        #expect(received.error as? ChatModelError == .timedOut(endpoint: redactedURL(fake.baseURL), after: .seconds(2)))
        let end = try await Self.clientLeft(fake)
        #expect(end.tokensSent == 0)
    }

    @Test("a gap between tokens longer than the idle timeout: timed out after the tokens so far")
    func idleTimeout() async throws {
        // The second token never comes: the gap outlasts any idle timeout.
        let fake = try await FakeChatCompletions(tokens: ["Hello", " and", " then"], hold: .init(beforeToken: 1, gate: Gate()))
        defer { fake.stop() }
        let received = try await within("the timeout") {
            await Self.consume(Self.model(fake, idle: .milliseconds(150)).stream(Self.question))
        }
        #expect(received.deltas == ["Hello"])
        #expect(received.error as? ChatModelError == .timedOut(endpoint: redactedURL(fake.baseURL), after: .milliseconds(150)))
        #expect(try await Self.clientLeft(fake).tokensSent == 1)
    }

    @Test("cancelling the consuming task ends it and closes the connection, though the server has more to send")
    func cancellation() async throws {
        let fake = try await Self.answerHeldAfter(3)
        defer { fake.stop() }
        // No token deadline that the test could reach: only the cancellation can end the exchange.
        let model = Self.model(fake, firstToken: .seconds(3600), idle: .seconds(3600))
        let deltas = Counter()
        let ended = Counter()
        let consumer = Task {
            defer { ended.increment() }
            for try await _ in model.stream(Self.question) { deltas.increment() }
        }
        try await eventually("three deltas") { deltas.value >= 3 }
        consumer.cancel()
        // Waiting for a token that the fake holds back: only the cancellation can end it.
        try await eventually("the consumer to stop") { ended.value == 1 }
        let end = try await Self.clientLeft(fake)
        #expect(end.tokensSent == 3)
        #expect(deltas.value == 3)
    }

    @Test("leaving the loop early drops the stream, which closes the connection")
    func leavingEarly() async throws {
        let fake = try await Self.answerHeldAfter(2)
        defer { fake.stop() }
        // No token deadline that the test could reach: only dropping the stream can end the exchange.
        let model = Self.model(fake, firstToken: .seconds(3600), idle: .seconds(3600))
        try await within("two deltas") {
            var count = 0
            for try await _ in model.stream(Self.question) {
                count += 1
                if count == 2 { break }
            }
        }
        #expect(try await Self.clientLeft(fake).tokensSent == 2)
    }

    @Test("an event that is not a chunk, or a stream cut before [DONE], is a malformed stream")
    func malformedStreams() async throws {
        let server = try await FakeServer { router, _ in
            let bodies = [
                ("/bad/chat/completions", "data: {not json}\n\n"),
                ("/cut/chat/completions", #"data: {"choices":[{"delta":{"content":"Hi"}}]}"# + "\n\n"),
            ]
            for (path, body) in bodies {
                router.post(RouterPath(path)) { _, _ -> Response in
                    Response(
                        status: .ok, headers: [.contentType: "text/event-stream"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
                }
            }
        }
        defer { server.stop() }
        for (base, deltas) in [("/bad", [String]()), ("/cut", ["Hi"])] {
            let model = OpenAIChatModel(
                configuration: .init(baseURL: server.url + base, apiKey: "sk-x", model: "m"), logger: TestStack.logger)
            let received = await Self.consume(model.stream(Self.question))
            #expect(received.deltas == deltas)
            let malformed = if case .malformedStream = received.error as? ChatModelError { true } else { false }
            #expect(malformed, "\(base): expected a malformed stream, got \(String(describing: received.error))")
        }
    }
}
