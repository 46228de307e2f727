import Foundation
import HTTPClient
import Logging
import Resilience

/// A client for Recall.ai's meeting-bot API (https://docs.recall.ai/reference): create, read,
/// remove bots and fetch what they recorded, over the project's HTTP client, with
/// `Authorization: Token <key>`.
///
/// Retries follow Recall's error guide (https://docs.recall.ai/reference/errors): 429 waits as
/// `Retry-After` asks, 507 (the ad-hoc bot pool is empty) is tried again every 30 s, 409 (the
/// same idempotent request is still being handled) with backoff. These waits go through
/// `RecallTiming`, so tests replace them; the HTTP client itself retries only 502–504 and
/// connection failures. Creates are limited to 120 a minute, Recall's per-workspace limit.
public struct RecallClient: Sendable {
    public enum Region: String, Sendable, CaseIterable {
        case usWest2 = "us-west-2"
        case usEast1 = "us-east-1"
        case euCentral1 = "eu-central-1"
        case apNortheast1 = "ap-northeast-1"

        public var baseURL: String { "https://\(rawValue).recall.ai/api/v1" }
    }

    public struct Configuration: Sendable, CustomStringConvertible {
        /// Keys, bots and webhook secrets belong to one region.
        public var region: Region
        /// `https://{region}.recall.ai/api/v1`, or a fake's address in tests.
        public var baseURL: String
        public var apiKey: String

        public init(region: Region, apiKey: String, baseURL: String? = nil) {
            self.region = region
            self.apiKey = apiKey
            let root = baseURL ?? region.baseURL
            self.baseURL = root.hasSuffix("/") ? String(root.dropLast()) : root
        }

        /// Without the key, so that a configuration can be logged.
        public var description: String { "Recall.ai \(region.rawValue) at \(baseURL)" }
    }

    /// How Recall's retryable answers are retried.
    public struct Retries: Sendable {
        /// 507: Recall asks for one try every 30 s; the pool refills within a minute or two.
        public var noBotAvailableInterval: Duration
        /// Attempts in all while Recall answers 507 (10: about five minutes).
        public var noBotAvailableAttempts: Int
        /// 409: a matching idempotent request is still being handled.
        public var conflictBackoff: Backoff
        public var conflictAttempts: Int
        /// Attempts in all while Recall answers 429.
        public var rateLimitedAttempts: Int
        /// A `Retry-After` longer than this is not waited for: `RecallError.rateLimited` says how long.
        public var longestRetryAfter: Duration
        /// The wait after a 429 without `Retry-After`.
        public var retryAfterWhenUnsaid: Duration

        public init(
            noBotAvailableInterval: Duration = .seconds(30), noBotAvailableAttempts: Int = 10,
            conflictBackoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(30)), conflictAttempts: Int = 6,
            rateLimitedAttempts: Int = 5, longestRetryAfter: Duration = .seconds(120),
            retryAfterWhenUnsaid: Duration = .seconds(5)
        ) {
            self.noBotAvailableInterval = noBotAvailableInterval
            self.noBotAvailableAttempts = noBotAvailableAttempts
            self.conflictBackoff = conflictBackoff
            self.conflictAttempts = conflictAttempts
            self.rateLimitedAttempts = rateLimitedAttempts
            self.longestRetryAfter = longestRetryAfter
            self.retryAfterWhenUnsaid = retryAfterWhenUnsaid
        }
    }

    /// Recall's documented base limit for Create Bot (https://docs.recall.ai/reference/bot_create).
    public static let createBotsPerMinute = 120

    public let configuration: Configuration
    private let retries: Retries
    private let timing: RecallTiming
    private let createLimiter: SlidingWindowLimiter
    private let http: HTTPClient
    private let logger: Logger

    /// - Parameters:
    ///   - createLimiter: shared by every client of one workspace in this process; by default
    ///     this client's own, at 120 a minute.
    ///   - http: by default one that retries 502–504 and connection failures; 429, 409 and 507
    ///     are retried here, as `retries` says.
    public init(
        configuration: Configuration, retries: Retries = Retries(), timing: RecallTiming = .system,
        createLimiter: SlidingWindowLimiter? = nil, http: HTTPClient? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.retries = retries
        self.timing = timing
        self.createLimiter =
            createLimiter ?? SlidingWindowLimiter(limit: Self.createBotsPerMinute, window: .seconds(60), timing: timing)
        self.http =
            http
            ?? HTTPClient(retry: RetryPolicy(maxAttempts: 3, retryableStatuses: [502, 503, 504]), logger: logger)
        self.logger = logger
    }

    /// When a bot should be asked to join: `earlyJoin` before the meeting starts, as a scheduled
    /// bot, if that is more than 10 minutes from now (Recall reserves scheduled bots and
    /// guarantees they join on time); otherwise nil, for an ad-hoc bot that joins at once.
    public static func joinAt(meetingStart: Date, earlyJoin: Duration, now: Date) -> Date? {
        let join = meetingStart.addingTimeInterval(-earlyJoin.secondsValue)
        return join.timeIntervalSince(now) > 600 ? join : nil
    }

    /// Sends a bot to a meeting (`POST /bot/`); 201 with the bot.
    public func createBot(_ request: CreateBot) async throws -> Bot {
        try request.validate()
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let key = request.idempotencyKey { headers.append(("Idempotency-Key", key)) }
        let response = try await call(
            "POST", "/bot/", body: try request.body(), headers: headers, what: "bot", beforeEachAttempt: createLimiter.acquire)
        return try decode(Bot.self, response)
    }

    /// The bot as it is now (`GET /bot/{id}/`).
    public func retrieveBot(id: String) async throws -> Bot {
        let path = "/bot/\(try Self.segment(id))/"
        return try decode(Bot.self, try await call("GET", path, what: "bot \(id)"))
    }

    /// Makes a bot in a call leave it (`POST /bot/{id}/leave_call/`).
    public func leaveCall(id: String) async throws {
        let path = "/bot/\(try Self.segment(id))/leave_call/"
        _ = try await call("POST", path, what: "bot \(id)")
    }

    /// Cancels a scheduled bot (`DELETE /bot/{id}/`). One already sent to its call answers 405,
    /// thrown as `RecallError.alreadyJoined`: call `leaveCall(id:)` instead.
    public func deleteBot(id: String) async throws {
        let path = "/bot/\(try Self.segment(id))/"
        _ = try await call("DELETE", path, what: "bot \(id)", alreadyJoined: id)
    }

    /// The transcript's download URL (`recordings[].media_shortcuts.transcript.data.download_url`
    /// of the latest recording that has one), or nil until the transcript is done.
    public func transcript(botID: String) async throws -> String? {
        try await retrieveBot(id: botID).recordings.last { $0.transcriptDownloadURL != nil }?.transcriptDownloadURL
    }

    /// The mixed video's download URL (`media_shortcuts.video_mixed.data.download_url`), or nil
    /// until it is done.
    public func recording(botID: String) async throws -> String? {
        try await retrieveBot(id: botID).recordings.last { $0.videoDownloadURL != nil }?.videoDownloadURL
    }

    /// Downloads and reads a transcript. The URL is pre-signed storage, so it is fetched without
    /// the API key: the key must not leave for another host.
    public func downloadTranscript(url: String) async throws -> [TranscriptSegment] {
        let response = try await http.send(OutboundRequest(method: "GET", url: url))
        guard response.isSuccess else {
            throw RecallError.unexpected(status: response.status, body: String(response.text.prefix(300)))
        }
        return try decode([TranscriptDownload].self, response).map(\.segment)
    }

    // MARK: - Requests

    private func call(
        _ method: String, _ path: String, body: [UInt8]? = nil, headers: [(name: String, value: String)] = [],
        what: String, alreadyJoined: String? = nil, beforeEachAttempt: (() async throws -> Void)? = nil
    ) async throws -> OutboundResponse {
        let request = OutboundRequest(
            method: method, url: configuration.baseURL + path,
            headers: [("Authorization", "Token \(configuration.apiKey)"), ("Accept", "application/json")] + headers, body: body)
        var rateLimited = 0
        var noBot = 0
        var conflicts = 0
        while true {
            try await beforeEachAttempt?()
            let response = try await http.send(request)
            let wait: Duration
            switch response.status {
            case 200..<300: return response
            case 400: throw RecallError.validation(body: response.body)
            case 401, 403: throw RecallError.unauthorized(status: response.status)
            case 404: throw RecallError.notFound(what)
            case 405 where alreadyJoined != nil: throw RecallError.alreadyJoined(botID: alreadyJoined!)
            case 429:
                rateLimited += 1
                let asked = response.retryAfter()
                guard rateLimited < retries.rateLimitedAttempts, (asked ?? .zero) <= retries.longestRetryAfter else {
                    throw RecallError.rateLimited(retryAfter: asked)
                }
                wait = asked ?? retries.retryAfterWhenUnsaid
            case 507:
                noBot += 1
                guard noBot < retries.noBotAvailableAttempts else { throw RecallError.noBotAvailable(attempts: noBot) }
                // Recall's newer guide adds Retry-After to 507; honour it when it says more.
                wait = max(retries.noBotAvailableInterval, min(response.retryAfter() ?? .zero, retries.longestRetryAfter))
            case 409:
                conflicts += 1
                guard conflicts < retries.conflictAttempts else { throw RecallError.conflict(attempts: conflicts) }
                wait = retries.conflictBackoff.delay(forAttempt: conflicts)
            default:
                throw RecallError.unexpected(status: response.status, body: String(response.text.prefix(500)))
            }
            logger.info(
                "recall request will be retried",
                metadata: ["method": "\(method)", "path": "\(path)", "status": "\(response.status)", "delay": "\(wait)"])
            try await timing.sleep(wait)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: OutboundResponse) throws -> T {
        do { return try response.decode(T.self) } catch {
            throw RecallError.malformedResponse("a \(response.status) answer that is not a \(T.self): \(error)")
        }
    }

    /// A bot ID as one path segment: an ID with `/` or `?` would address another resource.
    private static func segment(_ id: String) throws(RecallError) -> String {
        guard !id.isEmpty,
            let encoded = id.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#")))
        else { throw .invalid(field: "id", message: "a bot ID cannot be empty") }
        return encoded
    }
}
