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
        _ fake: FakeChatCompletions, firstToken: Duration = .seconds(5), idle: Duration = .seconds(5), client: HTTPClient? = nil
    ) -> OpenAIChatModel {
        OpenAIChatModel(
            configuration: .init(
                baseURL: fake.baseURL, apiKey: fake.apiKey, model: "gpt-4o-mini", firstTokenTimeout: firstToken, idleTimeout: idle),
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

    /// A fake that streams 500 tokens 10 ms apart: far more than a test reads.
    static func longAnswer() async throws -> FakeChatCompletions {
        try await FakeChatCompletions(
            tokens: Array(repeating: " word", count: 500), pace: .init(firstToken: .zero, betweenTokens: .milliseconds(10)))
    }

    /// How the fake's one stream ended, which must be the client going away before the end.
    static func clientLeft(_ fake: FakeChatCompletions) async throws -> FakeChatCompletions.StreamEnd {
        try await eventually("the fake to see the client go", within: .seconds(5)) { !fake.streamEnds.isEmpty }
        let end = try #require(fake.streamEnds.first)
        #expect(!end.completed, "the client read the whole answer")
        return end
    }

    @Test("deltas arrive in order and make up the whole answer; the request follows the API")
    func streamsInOrder() async throws {
        let answer = "The budget review comes first, then the hiring plan."
        let fake = try await FakeChatCompletions(tokens: FakeChatCompletions.tokens(of: answer))
        defer { fake.stop() }
        let received = try await within(.seconds(10), "the answer") { await Self.consume(Self.model(fake).stream(Self.question)) }
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
        try await eventually("the fake to finish its stream", within: .seconds(5)) { !fake.streamEnds.isEmpty }
        #expect(fake.streamEnds.first?.completed == true)
    }

    @Test("the first delta reaches the consumer as soon as it is sent, not with the rest")
    func firstDeltaAtOnce() async throws {
        let fake = try await FakeChatCompletions(
            tokens: ["Hello", " there"], pace: .init(firstToken: .zero, betweenTokens: .seconds(3)))
        defer { fake.stop() }
        let started = ContinuousClock.now
        let arrivals = try await within(.seconds(10), "the answer") {
            var arrivals: [Duration] = []
            for try await _ in Self.model(fake).stream(Self.question) { arrivals.append(ContinuousClock.now - started) }
            return arrivals
        }
        try #require(arrivals.count == 2)
        // Margins as wide as the gap allows: the test suite loads this machine's two cores.
        #expect(arrivals[0] < .milliseconds(1500), "the first token waited for the second")
        #expect(arrivals[1] >= .milliseconds(2900))
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
        let serverError = ChatModelError.rejected(endpoint: endpoint, status: 500, message: FakeChatCompletions.Failure.serverError.message)
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
            throws: ChatModelError.rejected(endpoint: endpoint, status: 429, message: FakeChatCompletions.Failure.rateLimited().message)
        ) {
            _ = try await withoutRetries.complete(Self.question)
        }
    }

    @Test("no token within the first-token timeout: timed out, and the silent connection is closed at once")
    func firstTokenTimeout() async throws {
        let fake = try await FakeChatCompletions(
            tokens: ["Too", " late"], pace: .init(firstToken: .seconds(5), betweenTokens: .milliseconds(10)))
        defer { fake.stop() }
        // Long enough for the fake to be answering (its handler running) when the client gives up,
        // even on a loaded machine: a fake that starts after the client left cannot see it leave.
        let received = await Self.consume(Self.model(fake, firstToken: .milliseconds(800)).stream(Self.question))
        let timedOut = ContinuousClock.now
        #expect(received.deltas.isEmpty, "the role chunk is not a token")
        #expect(received.error as? ChatModelError == .timedOut(endpoint: redactedURL(fake.baseURL), after: .milliseconds(800)))
        let end = try await Self.clientLeft(fake)
        // The fake is silent until the first token, so only the client's abort can close the connection now.
        #expect(end.at - timedOut < .seconds(2), "the connection outlived the timeout by \(end.at - timedOut)")
    }

    @Test("a gap between tokens longer than the idle timeout: timed out after the tokens so far")
    func idleTimeout() async throws {
        let fake = try await FakeChatCompletions(
            tokens: ["Hello", " and", " then"], pace: .init(firstToken: .zero, betweenTokens: .seconds(1)))
        defer { fake.stop() }
        let received = await Self.consume(Self.model(fake, idle: .milliseconds(150)).stream(Self.question))
        #expect(received.deltas == ["Hello"])
        #expect(received.error as? ChatModelError == .timedOut(endpoint: redactedURL(fake.baseURL), after: .milliseconds(150)))
    }

    @Test("cancelling the consuming task closes the connection at once")
    func cancellation() async throws {
        let fake = try await Self.longAnswer()
        defer { fake.stop() }
        let model = Self.model(fake)
        let deltas = Counter()
        let consumer = Task {
            for try await _ in model.stream(Self.question) { deltas.increment() }
        }
        try await eventually("three deltas", within: .seconds(5)) { deltas.value >= 3 }
        let cancelled = ContinuousClock.now
        consumer.cancel()
        _ = try await within(.seconds(2), "the consumer to stop") { await consumer.result }
        #expect(ContinuousClock.now - cancelled < .milliseconds(1500))
        let end = try await Self.clientLeft(fake)
        #expect(end.tokensSent < 500)
        #expect(end.at - cancelled < .milliseconds(1500), "the connection outlived the cancellation by \(end.at - cancelled)")
    }

    @Test("leaving the loop early drops the stream, which closes the connection")
    func leavingEarly() async throws {
        let fake = try await Self.longAnswer()
        defer { fake.stop() }
        let left = try await within(.seconds(5), "two deltas") {
            var count = 0
            for try await _ in Self.model(fake).stream(Self.question) {
                count += 1
                if count == 2 { break }
            }
            return ContinuousClock.now
        }
        let end = try await Self.clientLeft(fake)
        #expect(end.at - left < .milliseconds(1500), "the connection outlived the stream by \(end.at - left)")
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
                    Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: ByteBuffer(string: body)))
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

