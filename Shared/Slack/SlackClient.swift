import Foundation
import HTTPClient
import Logging

/// A client for Slack's Web API (https://api.slack.com/web) with a bot token: who the token is,
/// finding a person by e-mail, opening a direct message, and posting and updating messages with
/// Block Kit blocks.
///
/// Every request carries the token as `Authorization: Bearer`, never in a URL or a body. An
/// `ok: false` answer becomes a `SlackError`. Messages are paced per channel (about one a second
/// by default), and HTTP 429 is waited out as `Retry-After` asks by the HTTP client's retries.
public struct SlackClient: Sendable {
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The Web API root; `/<method>` is appended. A fake's address in tests.
        public var baseURL: String
        /// A bot token (`xoxb-…`).
        public var botToken: String
        /// How many messages a second go to one channel (posts and updates alike), on average.
        public var messagesPerSecondPerChannel: Double
        /// How many messages may go to one channel at once before the pace applies.
        public var channelBurst: Int

        public init(
            baseURL: String = "https://slack.com/api", botToken: String, messagesPerSecondPerChannel: Double = 1,
            channelBurst: Int = 2
        ) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.botToken = botToken
            self.messagesPerSecondPerChannel = messagesPerSecondPerChannel
            self.channelBurst = channelBurst
        }

        /// Without the token, so that a configuration can be logged.
        public var description: String {
            "Slack Web API at \(baseURL), \(messagesPerSecondPerChannel) messages/s per channel"
        }
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let pacer: ChannelPacer

    /// - Parameter http: by default one that retries a 429 up to twice, waiting as long as
    ///   `Retry-After` asks if that is at most 30 s; a longer wait is the caller's to schedule
    ///   (`SlackError.rateLimited` says how long). A client given here retries as its policy says.
    public init(configuration: Configuration, http: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.http = http ?? HTTPClient(retry: RetryPolicy(maxAttempts: 3, longestRetryAfter: .seconds(30)), logger: logger)
        pacer = ChannelPacer(perSecond: configuration.messagesPerSecondPerChannel, burst: configuration.channelBurst)
    }

    /// Who the token is (`auth.test`): a cheap check that the token works.
    public func authTest() async throws -> SlackIdentity {
        try await call("auth.test", body: nil, as: SlackIdentity.self)
    }

    /// The ID of the workspace member with this e-mail address (`users.lookupByEmail`; the app
    /// needs the `users:read.email` scope).
    public func lookupUser(email: String) async throws -> String {
        let form = FormEncoding.encode([("email", email)])
        return try await call("users.lookupByEmail", body: .form(form), subject: email, as: LookupByEmailAnswer.self).user.id
    }

    /// The ID of the app's direct-message channel with `user` (`conversations.open`, which
    /// gives the same channel each time).
    public func openDirectMessage(user: String) async throws -> String {
        let body = try Self.json(ConversationsOpenBody(users: user))
        return try await call("conversations.open", body: body, subject: user, as: ConversationsOpenAnswer.self).channel.id
    }

    /// Posts a message (`chat.postMessage`). `text` is the notification's text, and the whole
    /// message when there are no blocks.
    public func postMessage(channel: String, text: String, blocks: [SlackBlock] = []) async throws -> SlackMessageRef {
        try await pacer.pace(channel)
        let body = try Self.json(ChatMessageBody(channel: channel, text: text, blocks: blocks.isEmpty ? nil : blocks))
        return try await call("chat.postMessage", body: body, subject: channel, as: SlackMessageRef.self)
    }

    /// Replaces a message's text (`chat.update`) and, unless `blocks` is nil, its blocks (an
    /// empty array removes them).
    public func updateMessage(channel: String, ts: String, text: String, blocks: [SlackBlock]? = nil) async throws {
        try await pacer.pace(channel)
        let body = try Self.json(ChatMessageBody(channel: channel, ts: ts, text: text, blocks: blocks))
        _ = try await call("chat.update", body: body, subject: channel, as: EmptyAnswer.self)
    }

    private enum Body {
        case form(String)
        case json([UInt8])
    }

    private static func json(_ value: some Encodable) throws -> Body { .json(Array(try JSONEncoder().encode(value))) }

    /// POSTs `body` to `method` and decodes its answer, once the envelope says `ok`.
    private func call<Answer: Decodable>(_ method: String, body: Body?, subject: String = "", as type: Answer.Type)
        async throws -> Answer
    {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(configuration.botToken)")]
        let bytes: [UInt8]?
        switch body {
        case .form(let form):
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            bytes = Array(form.utf8)
        case .json(let json):
            // Slack warns (missing_charset) about a JSON body whose type does not name its charset.
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            bytes = json
        case nil:
            bytes = nil
        }
        let response = try await http.send(
            OutboundRequest(method: "POST", url: "\(configuration.baseURL)/\(method)", headers: headers, body: bytes))
        if response.status == 429 { throw SlackError.rateLimited(method: method, retryAfter: response.retryAfter()) }
        guard response.isSuccess else { throw SlackError.unexpectedStatus(method: method, status: response.status) }
        let envelope: SlackEnvelope
        do { envelope = try response.decode(SlackEnvelope.self) } catch {
            throw SlackError.malformedResponse(method: method, detail: "no ok field in a \(response.body.count)-byte answer")
        }
        guard envelope.ok else {
            throw SlackError(method: method, error: envelope.error ?? "unknown_error", needed: envelope.needed, subject: subject)
        }
        do { return try response.decode(Answer.self) } catch {
            throw SlackError.malformedResponse(method: method, detail: "fields the client reads are missing")
        }
    }

}
