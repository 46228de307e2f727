import Crypto
import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Synchronization

/// A local fake of Recall.ai's bot API as documented (https://docs.recall.ai/reference):
/// `POST /api/v1/bot/`, `GET` and `DELETE /api/v1/bot/{id}/`, `POST /api/v1/bot/{id}/leave_call/`,
/// trailing slashes and all (404 without); `Authorization: Token <key>` (the prefix is optional,
/// as Recall's docs say; 401 otherwise); field-keyed 400 bodies for a missing or invalid
/// `meeting_url`; `Idempotency-Key` (a repeat gets the first bot); 405 on deleting a bot that was
/// dispatched; failures on demand (the next creates answer 429 with `Retry-After`, 507 or 409).
///
/// A bot's life moves when the test says (`advance`), each step posted to the webhook URL as
/// Recall posts status webhooks (`bot.<code>`, with `data.data` and `data.bot`), signed with the
/// `whsec_` secret in the Standard Webhooks scheme, and sent again on a short Svix-like schedule
/// until the receiver answers 2xx. Once a bot is `done` its transcript and video are served by
/// the fake itself, through `media_shortcuts` download URLs.
public final class FakeRecall: Sendable {
    public static let apiKey = "fake-recall-api-key-0123456789abcdef"
    /// A `whsec_` secret: base64 of 32 fixed bytes.
    public static let webhookSecret = "whsec_" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    /// Svix's own schedule after a failed delivery (https://docs.svix.com/retries): 5 s, 5 min,
    /// 30 min, 2 h, 5 h, 10 h, 10 h. Tests pass a short one.
    public static let svixSchedule: [Duration] = [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000), .seconds(36_000), .seconds(36_000),
    ]

    public struct CreatedBot: Sendable {
        public var id: String
        /// The request body as sent.
        public var body: Data
        public var idempotencyKey: String?
        public var authorization: String?
        /// The body as JSON objects, for assertions.
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    }

    /// What the next creates answer instead of a bot.
    public enum Failure: Sendable {
        case rateLimited(retryAfterSeconds: Int)
        case noBotAvailable
        case conflict
    }

    /// One try at delivering a webhook; `status` nil when the receiver could not be reached.
    public struct WebhookAttempt: Sendable {
        public var id: String
        public var event: String
        public var status: Int?
        public var headers: [String: String]
        public var body: [UInt8]
    }

    public struct Segment: Sendable {
        public var speaker: String
        public var text: String
        public init(speaker: String, text: String) {
            self.speaker = speaker
            self.text = text
        }
    }

    private struct BotState {
        var created: CreatedBot
        var metadata: [String: String]
        var statuses: [(code: String, subCode: String?, at: Date)] = []
        var transcript: [Segment] = FakeRecall.defaultTranscript
        var dispatched: Bool { statuses.contains { $0.code != "ready" } }
        var done: Bool { statuses.contains { $0.code == "done" } }
    }

    private struct State {
        var baseURL = ""
        var webhookURL: String?
        var bots: [String: BotState] = [:]
        var order: [String] = []
        var byIdempotencyKey: [String: String] = [:]
        var failures: [Failure] = []
        var createAttempts = 0
        var leaveCalls: [String] = []
        var deleted: [String] = []
        var webhookAttempts: [WebhookAttempt] = []
    }

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let server: FakeServer
    private let retrySchedule: [Duration]
    private let signingKey = SymmetricKey(data: Data(base64Encoded: String(FakeRecall.webhookSecret.dropFirst(6)))!)

    public static let defaultTranscript = [
        Segment(speaker: "Alex Rivera", text: "Thanks everyone for joining."),
        Segment(speaker: "Jordan Lee", text: "What is on the agenda today?"),
    ]

    /// - Parameters:
    ///   - webhookURL: where status webhooks go (the dashboard's endpoint); settable later.
    ///   - retrySchedule: the waits between delivery attempts after a failure.
    public init(webhookURL: String? = nil, retrySchedule: [Duration] = [.milliseconds(100), .milliseconds(500), .seconds(1)])
        async throws
    {
        self.retrySchedule = retrySchedule
        let box = box
        server = try await FakeServer { router, _ in
            router.post("/api/v1/bot/") { request, _ -> Response in
                guard request.uri.path.hasSuffix("/") else { return Self.notFound() }
                guard Self.authorized(request) else { return Self.unauthorized() }
                let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                let key = request.headers[HTTPField.Name("Idempotency-Key")!]
                return box.state.withLock { state in
                    state.createAttempts += 1
                    if !state.failures.isEmpty {
                        switch state.failures.removeFirst() {
                        case .rateLimited(let seconds):
                            return Self.json(429, ["detail": "Request was throttled."], headers: [.retryAfter: "\(seconds)"])
                        case .noBotAvailable: return Self.json(507, ["detail": "No ad-hoc bots are available right now."])
                        case .conflict: return Self.json(409, ["detail": "A matching request is being processed."])
                        }
                    }
                    if let key, let existing = state.byIdempotencyKey[key], let bot = state.bots[existing] {
                        return Self.json(201, Self.describe(bot, baseURL: state.baseURL))
                    }
                    guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                        return Self.json(400, ["detail": "JSON parse error."])
                    }
                    guard let meetingURL = json["meeting_url"] as? String, !meetingURL.isEmpty else {
                        return Self.json(400, ["meeting_url": ["This field is required."]])
                    }
                    guard let url = URL(string: meetingURL), ["http", "https"].contains(url.scheme ?? ""),
                        let host = url.host, Self.meetingHosts.contains(where: { host == $0 || host.hasSuffix("." + $0) })
                    else {
                        return Self.json(400, ["meeting_url": ["Invalid meeting URL"]])
                    }
                    let id = UUID().uuidString.lowercased()
                    let created = CreatedBot(
                        id: id, body: body, idempotencyKey: key, authorization: request.headers[.authorization])
                    let bot = BotState(created: created, metadata: json["metadata"] as? [String: String] ?? [:])
                    state.bots[id] = bot
                    state.order.append(id)
                    if let key { state.byIdempotencyKey[key] = id }
                    return Self.json(201, Self.describe(bot, baseURL: state.baseURL))
                }
            }
            router.get("/api/v1/bot/{id}/") { request, context -> Response in
                guard request.uri.path.hasSuffix("/") else { return Self.notFound() }
                guard Self.authorized(request) else { return Self.unauthorized() }
                let id = try context.parameters.require("id")
                return box.state.withLock { state in
                    guard let bot = state.bots[id] else { return Self.notFound() }
                    return Self.json(200, Self.describe(bot, baseURL: state.baseURL))
                }
            }
            router.delete("/api/v1/bot/{id}/") { request, context -> Response in
                guard request.uri.path.hasSuffix("/") else { return Self.notFound() }
                guard Self.authorized(request) else { return Self.unauthorized() }
                let id = try context.parameters.require("id")
                return box.state.withLock { state in
                    guard let bot = state.bots[id] else { return Self.notFound() }
                    guard !bot.dispatched else {
                        return Self.json(405, ["detail": "Method \"DELETE\" not allowed: the bot has already been dispatched."])
                    }
                    state.bots[id] = nil
                    state.deleted.append(id)
                    return Response(status: .noContent)
                }
            }
            router.post("/api/v1/bot/{id}/leave_call/") { request, context -> Response in
                guard request.uri.path.hasSuffix("/") else { return Self.notFound() }
                guard Self.authorized(request) else { return Self.unauthorized() }
                let id = try context.parameters.require("id")
                return box.state.withLock { state in
                    guard let bot = state.bots[id] else { return Self.notFound() }
                    state.leaveCalls.append(id)
                    return Self.json(200, Self.describe(bot, baseURL: state.baseURL))
                }
            }
            // Pre-signed storage: no API key.
            router.get("/media/{id}/transcript.json") { _, context -> Response in
                let id = try context.parameters.require("id")
                return box.state.withLock { state in
                    guard let bot = state.bots[id], bot.done else { return Self.notFound() }
                    return Self.jsonArray(Self.transcriptDownload(bot))
                }
            }
            router.get("/media/{id}/video.mp4") { _, context -> Response in
                let id = try context.parameters.require("id")
                return box.state.withLock { state in
                    guard let bot = state.bots[id], bot.done else { return Self.notFound() }
                    return Response(
                        status: .ok, headers: [.contentType: "video/mp4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array("fake mp4 of \(id)".utf8))))
                }
            }
        }
        let url = server.url
        box.state.withLock {
            $0.baseURL = url
            $0.webhookURL = webhookURL
        }
    }

    /// The API root to configure the client with (`…/api/v1`).
    public var apiURL: String { server.url + "/api/v1" }
    public var url: String { server.url }
    public func stop() { server.stop() }

    public var created: [CreatedBot] { box.state.withLock { state in state.order.compactMap { state.bots[$0]?.created } } }
    /// Authenticated create requests, refused or not.
    public var createAttempts: Int { box.state.withLock { $0.createAttempts } }
    public var leaveCalls: [String] { box.state.withLock { $0.leaveCalls } }
    public var deleted: [String] { box.state.withLock { $0.deleted } }
    public var webhookAttempts: [WebhookAttempt] { box.state.withLock { $0.webhookAttempts } }

    /// A bot as if created through the API with this body, for tests without a client.
    public func createDirectly(body: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let id = UUID().uuidString.lowercased()
        let bot = BotState(
            created: CreatedBot(id: id, body: data, idempotencyKey: nil, authorization: "Token \(Self.apiKey)"),
            metadata: body["metadata"] as? [String: String] ?? [:])
        box.state.withLock {
            $0.bots[id] = bot
            $0.order.append(id)
        }
        return id
    }

    public func setWebhookURL(_ url: String) { box.state.withLock { $0.webhookURL = url } }
    /// The next `count` creates answer `failure`, then creates work again.
    public func failNextCreates(_ count: Int, with failure: Failure) {
        box.state.withLock { $0.failures += Array(repeating: failure, count: count) }
    }
    public func setTranscript(botID: String, _ segments: [Segment]) {
        box.state.withLock { $0.bots[botID]?.transcript = segments }
    }

    /// Moves a bot to `code` (`joining_call`, `in_waiting_room`, `in_call_not_recording`,
    /// `in_call_recording`, `call_ended`, `done`, `fatal`…) and delivers the status webhook,
    /// retrying on the schedule until the receiver answers 2xx or the schedule runs out. Returns
    /// the status of each attempt (nil: not reached).
    @discardableResult
    public func advance(_ botID: String, to code: String, subCode: String? = nil) async throws -> [Int?] {
        let now = Date()
        let (metadata, target) = try box.state.withLock { state throws(UnknownBot) in
            guard state.bots[botID] != nil else { throw UnknownBot(id: botID) }
            state.bots[botID]!.statuses.append((code, subCode, now))
            return (state.bots[botID]!.metadata, state.webhookURL)
        }
        guard let target else { return [] }
        let payload: [String: Any] = [
            "event": "bot.\(code)",
            "data": [
                "data": ["code": code, "sub_code": subCode.map { $0 as Any } ?? NSNull(), "updated_at": Self.timestamp(now)],
                "bot": ["id": botID, "metadata": metadata],
            ],
        ]
        return try await deliver(payload, event: "bot.\(code)", to: target)
    }

    /// A transcript utterance as a real-time `transcript.data` webhook to the endpoint the bot was
    /// created with (`recording_config.realtime_endpoints`), signed and retried as status webhooks.
    @discardableResult
    public func speak(_ botID: String, speaker: String, text: String) async throws -> [Int?] {
        let (metadata, target) = try box.state.withLock { state throws(UnknownBot) in
            guard let bot = state.bots[botID] else { throw UnknownBot(id: botID) }
            let endpoints = (bot.created.json["recording_config"] as? [String: Any])?["realtime_endpoints"] as? [[String: Any]]
            let endpoint = endpoints?.first { ($0["events"] as? [String])?.contains("transcript.data") == true }
            return (bot.metadata, endpoint?["url"] as? String)
        }
        guard let target else { return [] }
        let start = Date()
        let words = text.split(separator: " ").enumerated().map { index, word -> [String: Any] in
            let at = start.addingTimeInterval(Double(index) * 0.3)
            return [
                "text": String(word), "start_timestamp": ["relative": Double(index) * 0.3, "absolute": Self.timestamp(at)],
                "end_timestamp": ["relative": Double(index) * 0.3 + 0.25, "absolute": Self.timestamp(at + 0.25)],
            ]
        }
        let payload: [String: Any] = [
            "event": "transcript.data",
            "data": [
                "data": ["words": words, "participant": ["id": 100, "name": speaker, "is_host": false]],
                "bot": ["id": botID, "metadata": metadata],
            ],
        ]
        return try await deliver(payload, event: "transcript.data", to: target)
    }

    public struct UnknownBot: Error, CustomStringConvertible {
        var id: String
        public var description: String { "the fake Recall has no bot \(id)" }
    }

    // MARK: - Delivery

    /// One message, one `webhook-id` across attempts (receivers deduplicate on it); each attempt is
    /// signed afresh with its own timestamp, as Svix does.
    private func deliver(_ payload: [String: Any], event: String, to url: String) async throws -> [Int?] {
        let body = Array(try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
        let id = "msg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        var statuses: [Int?] = []
        for attempt in 0...retrySchedule.count {
            if attempt > 0 { try await Task.sleep(for: retrySchedule[attempt - 1]) }
            let timestamp = String(Int(Date().timeIntervalSince1970))
            let headers = [
                "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp,
                "webhook-signature": sign(id: id, timestamp: timestamp, body: body),
            ]
            let status = try? await http.send(
                OutboundRequest(
                    method: "POST", url: url, headers: headers.map { (name: $0.key, value: $0.value) }, body: body,
                    timeout: .seconds(15))
            ).status
            statuses.append(status)
            box.state.withLock {
                $0.webhookAttempts.append(WebhookAttempt(id: id, event: event, status: status, headers: headers, body: body))
            }
            if let status, (200..<300).contains(status) { break }
        }
        return statuses
    }

    /// Written here rather than borrowed from the client, so that a test of one checks the other.
    private func sign(id: String, timestamp: String, body: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + Data(body), using: signingKey)
        return "v1," + Data(code).base64EncodedString()
    }

    // MARK: - Wire format

    /// The platforms Recall sends bots to; any other address is not a meeting to it.
    static let meetingHosts = ["zoom.us", "meet.google.com", "teams.microsoft.com", "teams.live.com", "webex.com", "slack.com"]

    private static func authorized(_ request: Request) -> Bool {
        let value = request.headers[.authorization]
        return value == "Token \(apiKey)" || value == apiKey
    }

    private static func describe(_ bot: BotState, baseURL: String) -> [String: Any] {
        let json = bot.created.json
        var recordings: [[String: Any]] = []
        if bot.statuses.contains(where: { $0.code == "in_call_recording" }) {
            func media(_ path: String) -> Any {
                guard bot.done else { return NSNull() }
                return ["data": ["download_url": "\(baseURL)/media/\(bot.created.id)/\(path)"], "status": ["code": "done"]]
            }
            recordings.append([
                "id": "rec-\(bot.created.id)",
                "media_shortcuts": ["transcript": media("transcript.json"), "video_mixed": media("video.mp4")],
            ])
        }
        return [
            "id": bot.created.id, "meeting_url": json["meeting_url"] ?? NSNull(),
            "bot_name": json["bot_name"] ?? "Meeting Notetaker",
            "join_at": bot.dispatched ? NSNull() as Any : (json["join_at"] ?? NSNull()), "metadata": bot.metadata,
            "status_changes": bot.statuses.map {
                [
                    "code": $0.code, "sub_code": $0.subCode.map { $0 as Any } ?? NSNull(), "created_at": timestamp($0.at),
                    "message": NSNull(),
                ]
            },
            "recordings": recordings,
        ]
    }

    /// The documented transcript download: one entry per utterance, `participant` and `words`
    /// with relative (seconds into the recording) and absolute timestamps.
    private static func transcriptDownload(_ bot: BotState) -> [[String: Any]] {
        var clock = 0.0
        let start = bot.statuses.first { $0.code == "in_call_recording" }?.at ?? Date()
        return bot.transcript.enumerated().map { index, segment in
            let words = segment.text.split(separator: " ").map { word -> [String: Any] in
                defer { clock += 0.4 }
                return [
                    "text": String(word),
                    "start_timestamp": ["relative": clock, "absolute": timestamp(start + clock)],
                    "end_timestamp": ["relative": clock + 0.3, "absolute": timestamp(start + clock + 0.3)],
                ]
            }
            clock += 1
            return [
                "participant": ["id": 100 + index, "name": segment.speaker, "is_host": index == 0, "platform": "desktop"],
                "words": words,
            ]
        }
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    private static func notFound() -> Response { json(404, ["detail": "Not found."]) }
    private static func unauthorized() -> Response {
        json(401, ["detail": "Authentication credentials were not provided."])
    }

    private static func json(_ status: Int, _ fields: [String: Any], headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func jsonArray(_ items: [[String: Any]]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
