import Foundation
import HTTPClient
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import PrepOrchestrator

/// The context service over HTTP, against a local fake: a JSON endpoint per kind with a bearer
/// token, some of them slow, failing or malformed.
@Suite("Context over HTTP")
struct HTTPContextProviderTests {
    static let token = "ctx-secret-token"

    /// What the fake saw of each request.
    final class Seen: Sendable {
        let queries = Mutex<[String: [String: String]]>([:])
    }

    static func fakeContextService(_ seen: Seen) async throws -> FakeServer {
        try await FakeServer { router, _ in
            router.get("/{kind}") { request, context -> Response in
                let kind = try context.parameters.require("kind")
                seen.queries.withLock {
                    $0[kind] = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { $1 }
                }
                guard request.headers[.authorization] == "Bearer \(token)" else {
                    return Response(status: .unauthorized)
                }
                let body: String
                switch kind {
                case "budget": body = #"{"items": [{"summary": "Compute: +$45K over plan", "owner": "Dana"}]}"#
                case "big_rocks": return Response(status: .serviceUnavailable)
                case "incidents":
                    try await Task.sleep(for: .seconds(3600))
                    body = #"{"items": []}"#
                case "staffing": body = "<html>maintenance</html>"
                default: body = #"{"items": [{"title": "no summary here"}]}"#
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
            }
        }
    }

    @Test(
        "each kind asked with the tenant, owner and meeting start; a failing, slow or malformed answer makes only that kind unavailable"
    )
    func partialAnswers() async throws {
        let seen = Seen()
        let fake = try await Self.fakeContextService(seen)
        defer { fake.stop() }
        let provider = HTTPContextProvider(
            baseURL: fake.url, token: Self.token, http: HTTPClient(retry: .none, logger: TestStack.logger),
            // The slow endpoint never answers: only this bound ends its request.
            requestTimeout: .seconds(15))
        let gatherer = ContextGatherer(provider: provider, timeout: .seconds(30), attempts: 1)
        let start = Date(timeIntervalSince1970: 1_796_896_800)
        let results = await gatherer.gather(
            ContextKind.allCases, tenant: "acme", owner: "alex@example.com", meetingStart: start)

        #expect(results.map(\.kind) == ContextKind.allCases)
        #expect(results[0].items == [ContextItem(summary: "Compute: +$45K over plan", owner: "Dana")])
        #expect(results[1].unavailableReason == "context service: big_rocks: HTTP 503")
        #expect(results[2].unavailableReason?.hasPrefix("context service: ") == true, "the slow one times out")
        #expect(results[3].unavailableReason?.contains("staffing: the answer is not a list of items") == true)
        #expect(results[4].unavailableReason?.contains("missing items.0.summary") == true, "\(results[4])")
        #expect(
            seen.queries.withLock { $0["budget"] }
                == ["tenant": "acme", "owner": "alex@example.com", "meeting_start": "2026-12-10T10:00:00Z"])
    }

    @Test("a wrong token is refused by the service, and said so")
    func wrongToken() async throws {
        let fake = try await Self.fakeContextService(Seen())
        defer { fake.stop() }
        let provider = HTTPContextProvider(
            baseURL: fake.url, token: "wrong", http: HTTPClient(retry: .none, logger: TestStack.logger))
        await #expect(throws: ContextUnavailable.self) {
            try await provider.items(
                for: ContextQuery(kind: .budget, tenant: "acme", owner: "alex@example.com", meetingStart: Date()))
        }
    }
}
