import Foundation
import HTTPClient
import Hummingbird
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Resilience

@Suite("HTTP client over libcurl")
struct HTTPClientTests {
    struct Greeting: Codable, Equatable { var hello: String }

    @Test("a 503 with Retry-After is retried after the time the server asked for")
    func honoursRetryAfter() async throws {
        let server = try await FakeServer { router, recorder in
            router.get("/flaky") { _, _ -> Response in
                if recorder.hit() == 1 {
                    return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"])
                }
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"hello":"again"}"#)))
            }
        }
        let client = HTTPClient(retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(10)), logger: TestStack.logger)
        let greeting = try await client.sendJSON(OutboundRequest(url: server.url + "/flaky"), as: Greeting.self)
        #expect(greeting == Greeting(hello: "again"))
        #expect(server.hits.count == 2)
        // The client waited as asked, not its own 10 ms backoff.
        #expect(server.hits[1] - server.hits[0] >= .milliseconds(900))
        server.stop()
    }

    @Test("a 429 asking for a longer wait than the policy allows is returned, not waited for")
    func refusesLongRetryAfter() async throws {
        let server = try await FakeServer { router, recorder in
            router.get("/limited") { _, _ -> Response in
                _ = recorder.hit()
                return Response(status: .tooManyRequests, headers: [.retryAfter: "3600"])
            }
        }
        let client = HTTPClient(retry: RetryPolicy(maxAttempts: 4, longestRetryAfter: .seconds(60)), logger: TestStack.logger)
        let response = try await client.send(OutboundRequest(url: server.url + "/limited"))
        #expect(response.status == 429)
        #expect(response.headers["retry-after"] == "3600")
        #expect(server.hits.count == 1)
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.sendJSON(OutboundRequest(url: server.url + "/limited"), as: Greeting.self)
        }
        server.stop()
    }

    @Test("a 502 is not retried for a POST, and retried for a GET until the last attempt")
    func givesUp() async throws {
        let server = try await FakeServer { router, recorder in
            router.post("/down") { _, _ -> Response in
                _ = recorder.hit()
                return Response(status: .badGateway)
            }
            router.get("/down") { _, _ -> Response in
                _ = recorder.hit()
                return Response(status: .badGateway)
            }
        }
        let client = HTTPClient(retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(5)), logger: TestStack.logger)
        let posted = try await client.send(try .json(url: server.url + "/down", Greeting(hello: "x")))
        #expect(posted.status == 502)
        #expect(server.hits.count == 1, "after a 502 the origin may have acted on the POST: not retried")
        let fetched = try await client.send(OutboundRequest(url: server.url + "/down"))
        #expect(fetched.status == 502)
        #expect(server.hits.count == 4, "a GET is retried until the last of its 3 attempts")
        server.stop()
    }

    @Test("JSON bodies are sent as given and a slow server times out with a clear error")
    func jsonAndTimeout() async throws {
        // The slow route answers only once the test is over: the client's timeout must end the wait.
        let answer = Gate()
        defer { answer.open() }
        let server = try await FakeServer { router, _ in
            router.post("/echo") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 16)
                return Response(status: .ok, body: .init(byteBuffer: body))
            }
            router.get("/slow") { _, _ -> Response in
                try await answer.wait()
                return Response(status: .ok)
            }
        }
        let client = HTTPClient(retry: .none, logger: TestStack.logger)
        let echoed = try await client.sendJSON(try .json(url: server.url + "/echo", Greeting(hello: "wörld")), as: Greeting.self)
        #expect(echoed == Greeting(hello: "wörld"))
        // A request in flight cannot be cancelled, so a client that ignored its timeout is given
        // up on after a minute (the gate then opens, and the request ends with the test).
        let outcome = Mutex<(done: Bool, error: (any Error)?)>((false, nil))
        Task {
            do {
                _ = try await client.send(OutboundRequest(url: server.url + "/slow", timeout: .milliseconds(300)))
                outcome.withLock { $0 = (true, nil) }
            } catch {
                outcome.withLock { $0 = (true, error) }
            }
        }
        try await eventually("the client's timeout") { outcome.withLock { $0.done } }
        let error = outcome.withLock { $0.error }
        let timedOut = if case .timedOut = error as? HTTPClientError { true } else { false }
        #expect(timedOut, "expected a timeout, got \(String(describing: error))")
        server.stop()
    }

    @Test("connection failures of idempotent requests are retried; other requests fail at once")
    func transportErrors() async throws {
        let url = "http://127.0.0.1:\(try freePort())"  // nothing listens there: connections are refused
        let logs = CapturedLogs()
        let client = HTTPClient(retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(5)), logger: logs.logger)
        await #expect(throws: HTTPClientError.self) { _ = try await client.send(OutboundRequest(url: url + "/x")) }
        let retriesForGet = logs.lines.withLock { $0.filter { $0.contains("retrying") }.count }
        #expect(retriesForGet == 2)
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(OutboundRequest(method: "POST", url: url + "/x", body: [1]))
        }
        #expect(logs.lines.withLock { $0.filter { $0.contains("retrying") }.count } == retriesForGet)
    }

    @Test("credentials in the URL or headers never reach the logs")
    func noSecretsInLogs() async throws {
        let server = try await FakeServer { router, _ in
            router.get("/private-p4ths3cret/basic.ics") { _, _ -> Response in Response(status: .serviceUnavailable) }
        }
        let logs = CapturedLogs()
        let client = HTTPClient(retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(5)), logger: logs.logger)
        let secretURL = "http://user:hunter2@127.0.0.1:\(server.port)/private-p4ths3cret/basic.ics?token=s3cr3t-t0ken"
        _ = try await client.send(OutboundRequest(url: secretURL, headers: [("Authorization", "Bearer sk-live-abcdef")]))
        let all = logs.lines.withLock { $0.joined(separator: "\n") }
        #expect(!all.isEmpty, "the client should log its requests")
        for secret in ["hunter2", "s3cr3t-t0ken", "sk-live-abcdef", "p4ths3cret"] {
            #expect(!all.contains(secret), "\(secret) appeared in the logs")
        }
        #expect(all.contains("127.0.0.1:\(server.port)"))
        server.stop()
    }
}

@Suite("Rate limiter")
struct RateLimiterTests {
    @Test("a burst goes at once, then requests are paced at the rate")
    func pacing() {
        let limiter = RateLimiter(perSecond: 10, burst: 3)
        let start = ContinuousClock.now
        let waits = (0..<6).map { _ in limiter.reserve(now: start) }
        #expect(waits.prefix(3).allSatisfy { $0 == .zero })
        #expect(waits[3] == .milliseconds(100))
        #expect(waits[4] == .milliseconds(200))
        #expect(waits[5] == .milliseconds(300))
        // A second later the debt is paid and seven tokens came back (capped at the burst).
        #expect(limiter.reserve(now: start + .seconds(1)) == .zero)
    }
}
