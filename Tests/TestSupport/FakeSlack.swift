import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A local stand-in for Slack's Web API (https://api.slack.com/web), following its documented
/// contract closely enough to catch a client that does not. Configure a client with `baseURL`
/// (`<server>/api`); methods are `POST` (or `GET`) `/api/<method>`.
///
/// - Every answer is HTTP 200 with the envelope `{"ok": true, …}` or `{"ok": false, "error": …}`,
///   as Slack answers, failures included. Arguments come as a query string, a form body
///   (`application/x-www-form-urlencoded`) or a JSON body; a JSON body whose `Content-Type` names
///   no charset is answered with Slack's `missing_charset` warning.
/// - The token is read from `Authorization: Bearer` (or a form's `token`, which Slack also
///   takes; never from JSON): none answers `not_authed`, another than the bot's `invalid_auth`.
/// - `auth.test`: the bot's identity (team, user, bot ID).
/// - `users.lookupByEmail` (`email`): users added with `addUser(email:)`, or `users_not_found`.
/// - `conversations.open` (`users`, one user): the same `D…` channel each time for a user, or
///   `user_not_found`, `users_list_not_supplied`.
/// - `chat.postMessage` (`channel`, `text`, `blocks`): only in a channel opened here, else
///   `channel_not_found`; neither text nor blocks is `no_text`, blocks that are not a JSON array
///   `invalid_blocks`. Records the message and answers its `ts`.
/// - `chat.update` (`channel`, `ts`, `text`, `blocks`): changes a recorded message, or answers
///   `channel_not_found`, `message_not_found`. Blocks left out are kept, `[]` removes them.
/// - `rateLimitNext(_:)`: the next calls, whatever they are, answer HTTP 429 with `Retry-After: 1`
///   and `{"ok": false, "error": "ratelimited"}`, as Slack does past a method's rate.
/// - Any other method answers `unknown_method`.
///
/// It records every call in order with how it was answered, and the messages as they stand.
public final class FakeSlack: Sendable {
    public struct Configuration: Sendable {
        public var botToken = "xoxb-1234567890-0987654321-fakeBotTokenSecret"
        public var team = "Attaché Test"
        public var teamID = "T0FAKE0001"
        public var botUser = "attache"
        public var botUserID = "U0FAKEBOT1"
        public var botID = "B0FAKEBOT1"
        public init() {}
    }

    /// A call as it reached the fake, and how it was answered.
    public struct Call: Sendable, Equatable {
        public var method: String
        public var status: Int
        /// Slack's `error` code when the answer was `ok: false`.
        public var error: String?
        public var contentType: String?
    }

    /// A posted message as it now stands.
    public struct Message: Sendable, Equatable {
        public var channel: String
        public var ts: String
        public var text: String?
        /// The `blocks` as JSON with sorted keys, to compare with what a test expects; nil
        /// when the message has none.
        public var blocks: String?
        /// How many times `chat.update` changed it.
        public var updates: Int
    }

    private struct State {
        /// E-mail address, in lower case, to user ID.
        var users: [String: String] = [:]
        /// User ID to direct-message channel ID.
        var directMessages: [String: String] = [:]
        var messages: [Message] = []
        var calls: [Call] = []
        var rateLimited = 0
        var nextNumber = 0
    }

    /// What the route handlers work on, made before them (and so before the fake).
    private final class Workspace: Sendable {
        let configuration: Configuration
        let state = Mutex(State())
        init(_ configuration: Configuration) { self.configuration = configuration }
    }

    private let workspace: Workspace
    private let server: FakeServer

    public init(configuration: Configuration = Configuration()) async throws {
        let workspace = Workspace(configuration)
        server = try await FakeServer { router, _ in
            @Sendable func handle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
                let method = context.parameters.get("method") ?? ""
                let body = try await request.body.collect(upTo: 1 << 20)
                let answer = Self.answer(method, request, body: Array(body.readableBytesView), workspace)
                workspace.state.withLock {
                    $0.calls.append(
                        Call(
                            method: method, status: answer.status, error: answer.body["error"] as? String,
                            contentType: request.headers[.contentType]))
                }
                return answer.response
            }
            router.post("/api/:method", use: handle)
            router.get("/api/:method", use: handle)
        }
        self.workspace = workspace
    }

    public var configuration: Configuration { workspace.configuration }

    /// The Web API root to configure a client with.
    public var baseURL: String { server.url + "/api" }
    /// Every call, in the order they came.
    public var calls: [Call] { workspace.state.withLock { $0.calls } }
    public func calls(to method: String) -> [Call] { calls.filter { $0.method == method } }
    /// Every posted message, in the order they were posted.
    public var messages: [Message] { workspace.state.withLock { $0.messages } }
    public func messages(in channel: String) -> [Message] { messages.filter { $0.channel == channel } }

    public func stop() { server.stop() }

    /// Adds a workspace member with this address and returns their user ID.
    @discardableResult
    public func addUser(email: String) -> String {
        workspace.state.withLock { state in
            if let id = state.users[email.lowercased()] { return id }
            state.nextNumber += 1
            let id = String(format: "U%08d", state.nextNumber)
            state.users[email.lowercased()] = id
            return id
        }
    }

    /// The direct-message channel `conversations.open` gave for `user`, if it did.
    public func directMessage(with user: String) -> String? { workspace.state.withLock { $0.directMessages[user] } }

    /// The next `count` calls answer HTTP 429 with `Retry-After: 1`.
    public func rateLimitNext(_ count: Int) {
        workspace.state.withLock { $0.rateLimited += count }
    }

    private struct Answer {
        var status = 200
        var body: [String: Any]
        var headers: HTTPFields = [:]

        static func failure(_ error: String) -> Answer { Answer(body: ["ok": false, "error": error]) }
        static func success(_ fields: [String: Any]) -> Answer { Answer(body: fields.merging(["ok": true]) { $1 }) }

        var response: Response {
            var headers = headers
            headers[.contentType] = "application/json; charset=utf-8"
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Response(
                status: HTTPResponse.Status(code: status), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    private static func answer(
        _ method: String, _ request: Request, body: [UInt8], _ workspace: Workspace
    ) -> Answer {
        let configuration = workspace.configuration
        if workspace.state.withLock({ state in
            guard state.rateLimited > 0 else { return false }
            state.rateLimited -= 1
            return true
        }) {
            var answer = Answer.failure("ratelimited")
            answer.status = 429
            answer.headers[.retryAfter] = "1"
            return answer
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isJSON = contentType.hasPrefix("application/json")
        var arguments: [String: Any] = [:]
        for (name, value) in request.uri.queryParameters { arguments[String(name)] = String(value) }
        if isJSON {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
                return .failure("invalid_json")
            }
            arguments.merge(object) { $1 }
        } else if contentType.hasPrefix("application/x-www-form-urlencoded") {
            for (name, value) in formFields(String(decoding: body, as: UTF8.self)) { arguments[name] = value }
        }
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let token = bearer ?? (isJSON ? nil : arguments["token"] as? String), !token.isEmpty else {
            return .failure("not_authed")
        }
        guard token == configuration.botToken else { return .failure("invalid_auth") }
        // Assigned inside, not returned: the answer holds JSON objects, which are not Sendable.
        var answer = Answer.failure("internal_error")
        workspace.state.withLock { state in answer = call(method, arguments, configuration, &state) }
        if isJSON, !contentType.contains("charset=") {
            answer.body["warning"] = "missing_charset"
            answer.body["response_metadata"] = ["warnings": ["missing_charset"]]
        }
        return answer
    }

    private static func call(_ method: String, _ arguments: [String: Any], _ configuration: Configuration, _ state: inout State)
        -> Answer
    {
        switch method {
        case "auth.test":
            return .success([
                "url": "https://attache-test.slack.com/", "team": configuration.team, "user": configuration.botUser,
                "team_id": configuration.teamID, "user_id": configuration.botUserID, "bot_id": configuration.botID,
                "is_enterprise_install": false,
            ])
        case "users.lookupByEmail":
            guard let email = arguments["email"] as? String, !email.isEmpty else { return .failure("invalid_arguments") }
            guard let id = state.users[email.lowercased()] else { return .failure("users_not_found") }
            return .success([
                "user": ["id": id, "team_id": configuration.teamID, "deleted": false, "profile": ["email": email]]
            ])
        case "conversations.open":
            guard let user = arguments["users"] as? String, !user.isEmpty else { return .failure("users_list_not_supplied") }
            guard state.users.values.contains(user) else { return .failure("user_not_found") }
            let channel = state.directMessages[user] ?? "D" + user.dropFirst()
            state.directMessages[user] = channel
            return .success(["channel": ["id": channel]])
        case "chat.postMessage":
            guard let channel = arguments["channel"] as? String, state.directMessages.values.contains(channel) else {
                return .failure("channel_not_found")
            }
            let text = arguments["text"] as? String
            guard case .given(let blocks) = Blocks(arguments["blocks"]) ?? .given(nil) else { return .failure("invalid_blocks") }
            guard text?.isEmpty == false || blocks != nil else { return .failure("no_text") }
            state.nextNumber += 1
            let ts = String(format: "%d.%06d", Int(Date().timeIntervalSince1970), state.nextNumber)
            state.messages.append(Message(channel: channel, ts: ts, text: text, blocks: blocks, updates: 0))
            return .success([
                "channel": channel, "ts": ts,
                "message": ["type": "message", "text": text ?? "", "ts": ts, "bot_id": configuration.botID],
            ])
        case "chat.update":
            guard let channel = arguments["channel"] as? String, state.directMessages.values.contains(channel) else {
                return .failure("channel_not_found")
            }
            guard let ts = arguments["ts"] as? String,
                let index = state.messages.firstIndex(where: { $0.channel == channel && $0.ts == ts })
            else { return .failure("message_not_found") }
            let blocks = Blocks(arguments["blocks"])
            if case .invalid = blocks { return .failure("invalid_blocks") }
            if let text = arguments["text"] as? String { state.messages[index].text = text }
            if case .given(let json) = blocks { state.messages[index].blocks = json }
            state.messages[index].updates += 1
            return .success(["channel": channel, "ts": ts, "text": state.messages[index].text ?? ""])
        default:
            return .failure("unknown_method")
        }
    }

    /// The `blocks` argument: a JSON array, or (in a form) a string holding one.
    private enum Blocks {
        /// As JSON with sorted keys; nil for an empty array.
        case given(String?)
        case invalid

        /// Nil when the argument is absent.
        init?(_ argument: Any?) {
            guard let argument else { return nil }
            let parsed = (argument as? String).map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) ?? "" } ?? argument
            guard let blocks = parsed as? [Any],
                let data = try? JSONSerialization.data(withJSONObject: blocks, options: [.sortedKeys])
            else {
                self = .invalid
                return
            }
            self = .given(blocks.isEmpty ? nil : String(decoding: data, as: UTF8.self))
        }
    }
}
