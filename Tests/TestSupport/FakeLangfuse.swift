import Foundation
import Hummingbird
import Synchronization

/// A local fake of Langfuse's public scores API as documented: `POST /api/public/scores`, HTTP
/// Basic auth with the project's public key as user and secret key as password (401 otherwise),
/// a JSON body with `name`, `value` and optional `id`, `sessionId`, `traceId`, `dataType`
/// (NUMERIC, CATEGORICAL, BOOLEAN; a value of the wrong type is 400), `comment`; 200 with the
/// score's `id`. A score sent again with the same `id` replaces the first (the documented
/// idempotency key). `failNext` answers the next requests 503.
public final class FakeLangfuse: Sendable {
    public static let publicKey = "pk-lf-fake-0123"
    public static let secretKey = "sk-lf-fake-4567"

    public struct Score: Sendable, Equatable {
        public var id: String
        public var sessionID: String?
        public var name: String
        /// The value as sent: a number's description, or the string.
        public var value: String
        public var dataType: String
        public var comment: String?
    }

    private struct State {
        var scores: [String: Score] = [:]
        var order: [String] = []
        var requests = 0
        var failures = 0
    }

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let server: FakeServer

    public init() async throws {
        let box = box
        server = try await FakeServer { router, _ in
            router.post("/api/public/scores") { request, _ -> Response in
                let expected = "Basic " + Data("\(Self.publicKey):\(Self.secretKey)".utf8).base64EncodedString()
                guard request.headers[.authorization] == expected else {
                    return Self.json(401, ["message": "Invalid credentials. Confirm that you've configured the correct host."])
                }
                let failing = box.state.withLock { state in
                    state.requests += 1
                    guard state.failures > 0 else { return false }
                    state.failures -= 1
                    return true
                }
                if failing { return Self.json(503, ["message": "Service Unavailable"]) }
                let body = try await request.body.collect(upTo: 1 << 20)
                guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                    let name = object["name"] as? String, let value = object["value"]
                else { return Self.json(400, ["message": "Invalid request data: name and value are required"]) }
                let dataType = object["dataType"] as? String ?? (value is String ? "CATEGORICAL" : "NUMERIC")
                let valueText: String
                switch (dataType, value) {
                case ("NUMERIC", let number as NSNumber) where !(value is String): valueText = number.description
                case ("BOOLEAN", let number as NSNumber) where [0, 1].contains(number.doubleValue): valueText = number.description
                case ("CATEGORICAL", let text as String): valueText = text
                default: return Self.json(400, ["message": "Invalid request data: value does not match dataType \(dataType)"])
                }
                let id = object["id"] as? String ?? UUID().uuidString
                let score = Score(
                    id: id, sessionID: object["sessionId"] as? String, name: name, value: valueText, dataType: dataType,
                    comment: object["comment"] as? String)
                box.state.withLock { state in
                    if state.scores[id] == nil { state.order.append(id) }
                    state.scores[id] = score
                }
                return Self.json(200, ["id": id])
            }
        }
    }

    public var url: String { server.url }
    /// The scores kept, each id once, in the order first sent.
    public var scores: [Score] { box.state.withLock { state in state.order.compactMap { state.scores[$0] } } }
    public var requests: Int { box.state.withLock { $0.requests } }
    public func failNext(_ count: Int) { box.state.withLock { $0.failures += count } }
    public func stop() { server.stop() }

    private static func json(_ status: Int, _ object: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
