import Delivery
import Foundation
import Hummingbird
import Logging
import Metrics
import Runtime
import Shared
import Slack
import Store

/// Slack's requests to the app: `POST /webhooks/slack/events` (the Events API: the
/// `url_verification` handshake, and `message.im` events, an owner writing in their DM with the
/// app) and `POST /webhooks/slack/interactivity` (button clicks, `block_actions`). Each request's
/// signature is checked before anything in it is read. A verified message or click becomes
/// `slack.message.received` or `slack.action.received` through the outbox, once: Slack retries a
/// request it got no answer to in 3 s (`X-Slack-Retry-Num`), with the same event id, and a
/// click is keyed by who clicked and when. The answer comes as soon as that is recorded; what
/// the message means is prep-orchestrator's to work out.
///
/// Answers 401 to a missing, stale or wrong signature, 400 to a body that cannot be read, 200
/// otherwise (recorded, a duplicate, or something the app ignores: its own messages, edits,
/// other channels), and 500 when it cannot record (so that Slack retries).
struct SlackReceiver: Sendable {
    static let eventsPath = "/webhooks/slack/events"
    static let interactivityPath = "/webhooks/slack/interactivity"

    /// ATTACHE_SLACK_SIGNING_SECRET (the app's signing secret): without it the routes are not
    /// served. ATTACHE_TENANT_ID (default "default") names the tenant on the events.
    struct Settings: Sendable {
        var signingSecret: String
        var tenantID: String

        init?(_ env: Runtime.Environment) throws(ConfigurationError) {
            guard let secret = env.optionalString("ATTACHE_SLACK_SIGNING_SECRET") else { return nil }
            guard secret.utf8.count >= 16 else {
                throw ConfigurationError(
                    setting: "ATTACHE_SLACK_SIGNING_SECRET", problem: "is too short to be a Slack app's signing secret")
            }
            signingSecret = secret
            tenantID = env.string("ATTACHE_TENANT_ID", default: "default")
        }
    }

    /// What a verified request asks of the receiver.
    enum Request: Equatable {
        case challenge(String)
        case message(SlackMessageReceived)
        case action(SlackActionReceived)
        case ignored(String)
    }

    let settings: Settings
    let recorder: any SlackRecording
    var clock: @Sendable () -> Date = { Date() }
    let logger: Logger

    func register(on router: Router<BasicRequestContext>) {
        for path in [Self.eventsPath, Self.interactivityPath] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
                return try await receive(path: path, headers: request.headers, body: body)
            }
        }
    }

    func receive(path: String, headers: HTTPFields, body: [UInt8]) async throws -> Response {
        func header(_ name: String) -> String? { headers.first { $0.name.canonicalName == name }?.value }
        do {
            try SlackSignature.verify(
                body: body, timestamp: header("x-slack-request-timestamp"), signature: header("x-slack-signature"),
                secret: settings.signingSecret, now: clock())
        } catch {
            count("refused")
            logger.warning("Slack request refused", metadata: ["path": "\(path)", "reason": "\(error)"])
            return Response(status: .unauthorized)
        }
        let request: Request
        do {
            request = path == Self.eventsPath ? try Self.event(body) : try Self.interaction(body)
        } catch {
            count("unreadable")
            logger.warning("Slack request unreadable", metadata: ["path": "\(path)", "error": "\(error)"])
            return Response(status: .badRequest)
        }
        switch request {
        case .challenge(let challenge):
            count("url_verification")
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: challenge)))
        case .ignored(let why):
            count("ignored")
            logger.debug("Slack request ignored", metadata: ["why": "\(why)", "retry": "\(header("x-slack-retry-num") ?? "")"])
        case .message(let message):
            count(try await recorder.record(message, key: "event:\(message.eventID)", tenant: settings.tenantID))
        case .action(let action):
            count(
                try await recorder.record(
                    action, key: "action:\(action.user):\(action.actionTS)", tenant: settings.tenantID))
        }
        return Response(status: .ok)
    }

    private func count(_ isNew: Bool) { count(isNew ? "published" : "duplicate") }

    private func count(_ outcome: String) {
        Counter(label: "attache_slack_requests_total", dimensions: [("outcome", outcome)]).increment()
    }

    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    /// An Events API request: the handshake, or a message the owner wrote in their DM.
    static func event(_ body: [UInt8]) throws -> Request {
        struct Callback: Decodable {
            struct Event: Decodable {
                var type: String
                var channelType: String?
                var subtype: String?
                var botID: String?
                var user: String?
                var channel: String?
                var text: String?
                var ts: String?

                enum CodingKeys: String, CodingKey {
                    case type, subtype, user, channel, text, ts
                    case channelType = "channel_type"
                    case botID = "bot_id"
                }
            }

            var type: String
            var challenge: String?
            var eventID: String?
            var event: Event?

            enum CodingKeys: String, CodingKey {
                case type, challenge, event
                case eventID = "event_id"
            }
        }
        let callback: Callback
        do { callback = try JSONDecoder().decode(Callback.self, from: Data(body)) } catch {
            throw Unreadable(description: "not an Events API request: \(DecodingProblem(error))")
        }
        switch callback.type {
        case "url_verification":
            guard let challenge = callback.challenge else {
                throw Unreadable(description: "url_verification without a challenge")
            }
            return .challenge(challenge)
        case "event_callback":
            guard let eventID = callback.eventID, let event = callback.event else {
                throw Unreadable(description: "event_callback without event_id or event")
            }
            guard event.type == "message", event.channelType == "im" else { return .ignored("a \(event.type) event") }
            // The app's own messages carry bot_id; edits, deletions and joins carry a subtype.
            guard event.botID == nil, event.subtype == nil else { return .ignored("not a message the owner wrote") }
            guard let user = event.user, let channel = event.channel, let ts = event.ts else {
                throw Unreadable(description: "message event without user, channel or ts")
            }
            return .message(
                SlackMessageReceived(eventID: eventID, user: user, channel: channel, text: event.text ?? "", ts: ts))
        default:
            return .ignored("an Events API request of type \(callback.type)")
        }
    }

    /// An interactivity request (`payload=<JSON>`, form-encoded): a button clicked.
    static func interaction(_ body: [UInt8]) throws -> Request {
        struct Payload: Decodable {
            struct User: Decodable { var id: String }
            struct Container: Decodable {
                var channelID: String?
                var messageTS: String?
                enum CodingKeys: String, CodingKey {
                    case channelID = "channel_id"
                    case messageTS = "message_ts"
                }
            }
            struct Action: Decodable {
                var actionID: String
                var value: String?
                var actionTS: String
                enum CodingKeys: String, CodingKey {
                    case value
                    case actionID = "action_id"
                    case actionTS = "action_ts"
                }
            }

            var type: String
            var user: User
            var container: Container?
            var actions: [Action]?
        }
        let form = String(decoding: body, as: UTF8.self)
        guard
            let field = form.split(separator: "&").first(where: { $0.hasPrefix("payload=") }),
            let json = String(field.dropFirst("payload=".count)).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        else { throw Unreadable(description: "no payload field") }
        let payload: Payload
        do { payload = try JSONDecoder().decode(Payload.self, from: Data(json.utf8)) } catch {
            throw Unreadable(description: "payload is not an interaction: \(DecodingProblem(error))")
        }
        guard payload.type == "block_actions", let action = payload.actions?.first else {
            return .ignored("an interaction of type \(payload.type)")
        }
        return .action(
            SlackActionReceived(
                user: payload.user.id, channel: payload.container?.channelID, messageTS: payload.container?.messageTS,
                actionID: action.actionID, value: action.value, actionTS: action.actionTS))
    }

    /// The receipts table, to be appended to `GatewaySchema.migrations`.
    static let receiptsMigration = Migration(
        "0104_slack_receipts",
        """
        -- One row per verified Slack message or click, keyed by Slack's event id (or who clicked
        -- and when): a retried request has its effect once.
        CREATE TABLE {schema}.slack_receipts (
            key text PRIMARY KEY,
            received_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX slack_receipts_by_time ON {schema}.slack_receipts (received_at);
        """)
}

/// Where verified Slack requests go: true when this one is new, false for a duplicate.
protocol SlackRecording: Sendable {
    func record<P: EventPayload>(_ payload: P, key: String, tenant: String) async throws -> Bool
}

/// Records a request's receipt and its event in one transaction.
struct SlackStore: SlackRecording {
    let pool: PostgresPool
    let outbox: Outbox

    func record<P: EventPayload>(_ payload: P, key: String, tenant: String) async throws -> Bool {
        let outbox = outbox
        return try await outbox.transaction(pool) { db in
            guard
                try db.execute(
                    "INSERT INTO \(outbox.schema).slack_receipts (key) VALUES ($1) ON CONFLICT DO NOTHING", [key]) == 1
            else { return false }
            try outbox.append(Envelope(tenantID: tenant, correlationID: UUID(), payload: payload), on: db)
            return true
        }
    }
}
