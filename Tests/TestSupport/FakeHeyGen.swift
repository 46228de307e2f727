import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A local stand-in for HeyGen's Streaming API v1, following its documented contract: every
/// endpoint is a POST with a JSON body, under `/v1/streaming.*`.
///
/// - `X-Api-Key` is checked: missing or wrong, the answer is 401 with HeyGen's error JSON
///   (`{"code": 400112, "message": "Unauthorized"}`, UNAUTHORIZED in HeyGen's error table).
/// - `streaming.new` answers `{"code": 100, "message": "success", "data": {...}}` with a
///   `session_id`, a LiveKit `url` and `access_token` of the session's own, and
///   `session_duration_limit` in seconds. With `maxConcurrentSessions`, a session beyond the
///   limit is refused with 400 and the message HeyGen gives ("Concurrent limit reached, …";
///   HeyGen documents no code for it, the fake sends 10004).
/// - `streaming.start`, `.task`, `.interrupt`, `.keep_alive` and `.stop` take a `session_id`;
///   an unknown session answers 400 "Session not found", one not in the state for the call
///   (not started, stopped, or past its duration limit) 400 "Session is not in correct state",
///   the code HeyGen users report with it (400006).
/// - A `sync` task (HeyGen's default mode) is answered after `syncTaskDuration`, the avatar
///   speaking, or sooner when an interrupt or a stop cuts the speech; an `async` one at once. Both answer `task_id` and `duration_ms`.
///   With `speaksUntilTold`, the avatar speaks until the test calls `finishSpeaking()` (or the
///   speech is cut), however long that takes.
/// - `latency` delays every answer. With `newSessionsHeldAfter`, the `streaming.new` calls
///   beyond that many wait until the test calls `releaseNewSessions()`.
///
/// It records every call in order, with the session it was for and when it came.
public final class FakeHeyGen: Sendable {
    public struct Configuration: Sendable {
        public var apiKey = "fake-heygen-key"
        public var maxConcurrentSessions: Int?
        public var latency: Duration = .zero
        public var syncTaskDuration: Duration = .zero
        /// Reported by `streaming.new`, and enforced: a session older than this is closed.
        public var sessionDurationLimit: Duration = .seconds(600)
        /// Sync tasks are answered when the test says (`finishSpeaking()`), not after `syncTaskDuration`.
        public var speaksUntilTold = false
        /// `streaming.new` calls beyond this many wait for `releaseNewSessions()`.
        public var newSessionsHeldAfter: Int?
        public init() {}
    }

    public enum Endpoint: String, Sendable {
        case new = "streaming.new"
        case start = "streaming.start"
        case task = "streaming.task"
        case interrupt = "streaming.interrupt"
        case keepAlive = "streaming.keep_alive"
        case stop = "streaming.stop"
    }

    /// A call that was answered with success.
    public struct Call: Sendable {
        public var endpoint: Endpoint
        public var sessionID: String
        public var receivedAt: ContinuousClock.Instant
        public var answeredAt: ContinuousClock.Instant
    }

    public struct ReceivedTask: Sendable {
        public var sessionID: String
        public var text: String
        public var taskType: String?
        public var taskMode: String?
    }

    public struct Session: Sendable {
        public var id: String
        public var url: String
        public var accessToken: String
        /// The body of `streaming.new`, as received.
        public var request: [String: String]
        public var createdAt: ContinuousClock.Instant
        public var started = false
        public var stopped = false
        public var interruptions = 0
    }

    private struct State {
        var sessions: [Session] = []
        var calls: [Call] = []
        var tasks: [ReceivedTask] = []
        var refusals: [Int] = []
        var newCalls = 0
        /// How many times the test ended the speech in progress.
        var speechesFinished = 0
    }

    /// Shared with the route handlers, which exist before the fake does.
    private final class Store: Sendable {
        let state = Mutex(State())
        let newSessions = Gate()
    }

    public let configuration: Configuration
    private let store = Store()
    private let server: FakeServer

    public init(configuration: Configuration = Configuration()) async throws {
        let store = store
        server = try await FakeServer { router, _ in
            for endpoint in [Endpoint.new, .start, .task, .interrupt, .keepAlive, .stop] {
                router.post(RouterPath("/v1/\(endpoint.rawValue)")) { request, _ -> Response in
                    var request = request
                    let received = ContinuousClock.now
                    try await Task.sleep(for: configuration.latency)
                    if endpoint == .new, let held = configuration.newSessionsHeldAfter,
                        store.state.withLock({ state in
                            state.newCalls += 1
                            return state.newCalls > held
                        })
                    {
                        try await store.newSessions.wait()
                    }
                    let body = try await request.collectBody(upTo: 1 << 20)
                    let answer = await Self.answer(
                        endpoint, key: request.headers[Self.apiKeyHeader], body: Data(body.readableBytesView),
                        configuration: configuration, store: store)
                    if answer.status == 200, let sessionID = answer.sessionID {
                        store.state.withLock {
                            $0.calls.append(
                                Call(endpoint: endpoint, sessionID: sessionID, receivedAt: received, answeredAt: .now))
                        }
                    } else {
                        store.state.withLock { $0.refusals.append(answer.status) }
                    }
                    return Self.json(answer.status, answer.body)
                }
            }
        }
        self.configuration = configuration
    }

    public var baseURL: String { server.url }
    public var sessions: [Session] { store.state.withLock { $0.sessions } }
    /// Successful calls, in the order they were answered.
    public var calls: [Call] { store.state.withLock { $0.calls } }
    public var tasks: [ReceivedTask] { store.state.withLock { $0.tasks } }
    /// The statuses of refused calls.
    public var refusals: [Int] { store.state.withLock { $0.refusals } }

    public func calls(_ endpoint: Endpoint) -> [Call] { calls.filter { $0.endpoint == endpoint } }

    public func stop() {
        store.newSessions.open()
        server.stop()
    }

    /// Ends the speech of every sync task in progress, as if the avatar had said it all.
    public func finishSpeaking() {
        store.state.withLock { $0.speechesFinished += 1 }
    }

    /// Lets the held `streaming.new` calls, and all later ones, through.
    public func releaseNewSessions() {
        store.newSessions.open()
    }

    /// `streaming.new` calls waiting for `releaseNewSessions()`.
    public var newSessionsWaiting: Int { store.newSessions.waiting }

    /// Ends a session on HeyGen's side, as its duration limit or idle timeout would.
    public func end(session id: String) {
        store.state.withLock { state in
            if let index = state.sessions.firstIndex(where: { $0.id == id }) { state.sessions[index].stopped = true }
        }
    }

    // A valid header name, so the initializer cannot fail.
    private static let apiKeyHeader = HTTPField.Name("X-Api-Key")!

    private struct Answer {
        var status: Int
        var body: [String: Any]
        var sessionID: String?
    }

    private static func answer(
        _ endpoint: Endpoint, key: String?, body: Data, configuration: Configuration, store: Store
    ) async -> Answer {
        guard key == configuration.apiKey else { return error(401, 400112, "Unauthorized") }
        guard let fields = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return error(400, 40001, "Missing required input parameters")
        }
        if endpoint == .new { return newSession(fields, configuration: configuration, store: store) }
        guard let sessionID = fields["session_id"] as? String else {
            return error(400, 40001, "Missing required input parameters")
        }
        let refusal: Answer? = store.state.withLock { state in
            guard let index = state.sessions.firstIndex(where: { $0.id == sessionID }) else {
                return error(400, 400006, "Session not found")
            }
            let session = state.sessions[index]
            let expired = ContinuousClock.now - session.createdAt > configuration.sessionDurationLimit
            let ready = endpoint == .start ? !session.started : session.started
            guard ready, !session.stopped, !expired else { return error(400, 400006, "Session is not in correct state") }
            switch endpoint {
            case .start: state.sessions[index].started = true
            case .stop: state.sessions[index].stopped = true
            case .task:
                guard let text = fields["text"] as? String, !text.isEmpty else {
                    return error(400, 40001, "Missing required input parameters")
                }
                state.tasks.append(
                    ReceivedTask(
                        sessionID: sessionID, text: text, taskType: fields["task_type"] as? String,
                        taskMode: fields["task_mode"] as? String))
            case .interrupt: state.sessions[index].interruptions += 1
            case .new, .keepAlive: break
            }
            return nil
        }
        if let refusal { return refusal }
        guard endpoint == .task else { return Answer(status: 200, body: success(nil), sessionID: sessionID) }
        let durationMs =
            Double(configuration.syncTaskDuration.components.seconds) * 1000
            + Double(configuration.syncTaskDuration.components.attoseconds) / 1e15
        if fields["task_mode"] as? String ?? "sync" == "sync" {
            await speaking(in: sessionID, for: configuration.speaksUntilTold ? nil : configuration.syncTaskDuration, store: store)
        }
        return Answer(
            status: 200, body: success(["task_id": UUID().uuidString, "duration_ms": durationMs]), sessionID: sessionID)
    }

    /// Until the speech is over (after `duration`, or when the test says if nil), or cut short
    /// by an interrupt or a stop.
    private static func speaking(in sessionID: String, for duration: Duration?, store: Store) async {
        func cut() -> (interruptions: Int, stopped: Bool, finished: Int) {
            store.state.withLock { state in
                let session = state.sessions.first { $0.id == sessionID }
                return (session?.interruptions ?? 0, session?.stopped ?? true, state.speechesFinished)
            }
        }
        let before = cut()
        let end = duration.map { ContinuousClock.now + $0 }
        while end.map({ ContinuousClock.now < $0 }) ?? true, !Task.isCancelled {
            let now = cut()
            if now.stopped || now.interruptions != before.interruptions || now.finished != before.finished { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private static func newSession(_ fields: [String: Any], configuration: Configuration, store: Store) -> Answer {
        store.state.withLock { state in
            let now = ContinuousClock.now
            let open = state.sessions.filter { !$0.stopped && now - $0.createdAt <= configuration.sessionDurationLimit }
            if let limit = configuration.maxConcurrentSessions, open.count >= limit {
                return error(
                    400, 10004,
                    "Concurrent limit reached, please make sure you have closed other testing sessions under the same account")
            }
            let number = state.sessions.count + 1
            let session = Session(
                id: UUID().uuidString.lowercased(), url: "wss://fake-heygen-\(number).livekit.invalid",
                accessToken: "livekit-client-token-\(number)", request: fields.mapValues { "\($0)" }, createdAt: now)
            state.sessions.append(session)
            let limit = Double(configuration.sessionDurationLimit.components.seconds)
            return Answer(
                status: 200,
                body: success([
                    "session_id": session.id, "url": session.url, "access_token": session.accessToken,
                    "session_duration_limit": limit, "is_paid": true, "sdp": NSNull(), "ice_servers": NSNull(),
                ]),
                sessionID: session.id)
        }
    }

    private static func success(_ data: [String: Any]?) -> [String: Any] {
        ["code": 100, "message": "success", "data": data ?? NSNull()]
    }

    private static func error(_ status: Int, _ code: Int, _ message: String) -> Answer {
        Answer(status: status, body: ["code": code, "message": message], sessionID: nil)
    }

    private static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
