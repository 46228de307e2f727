import Foundation
import HTTPClient
import VoicePipeline

/// The Streaming API v1 endpoints this engine calls, each a POST with a JSON body.
enum HeyGenEndpoint: String, Sendable {
    case newSession = "streaming.new"
    case start = "streaming.start"
    case task = "streaming.task"
    case interrupt = "streaming.interrupt"
    case keepAlive = "streaming.keep_alive"
    case stop = "streaming.stop"
}

/// HeyGen's Streaming API v1 as the server-side flow uses it: the backend holds the API key and
/// sends it as `X-Api-Key` on every call. (`streaming.create_token` exists so that a browser can
/// make these calls without the key; the browser here only joins the LiveKit room.)
struct HeyGenStreamingAPI: Sendable {
    let configuration: HeyGenAvatar.Configuration
    let client: HTTPClient

    /// A started session and how long HeyGen lets it run.
    struct StartedSession: Sendable {
        var room: AvatarRoom
        /// `session_duration_limit` as `streaming.new` reported it, when it did.
        var reportedLimit: Duration?
        /// When `streaming.new` was sent: the duration limit counts from no later than this.
        var openedAt: ContinuousClock.Instant
    }

    /// `streaming.new` then `streaming.start`. A session that was created but could not be
    /// started is stopped again, so that it does not hold one of the account's concurrent sessions.
    func openSession() async throws -> StartedSession {
        let session = try await newSession()
        do {
            try await post(.start, SessionBody(sessionID: session.room.sessionID), sessionID: session.room.sessionID)
        } catch {
            try? await stop(session.room.sessionID)
            throw error
        }
        return session
    }

    /// Has the avatar say `text` as given (`task_type: "repeat"`: no HeyGen model in between);
    /// returns how long the avatar speaks it (`duration_ms`), when HeyGen says.
    func speak(_ text: String, session sessionID: String) async throws -> Duration? {
        let body = TaskBody(sessionID: sessionID, text: text, taskMode: configuration.taskMode.rawValue)
        let response = try await post(.task, body, sessionID: sessionID, timeout: configuration.taskTimeout)
        // The speech happened whatever the answer's body: a body without the figure is no failure.
        guard let milliseconds = (try? response.decode(TaskEnvelope.self))?.data?.durationMs, milliseconds.isFinite,
            milliseconds >= 0
        else { return nil }
        return .milliseconds(min(milliseconds, 3_600_000))
    }

    func interrupt(_ sessionID: String) async throws {
        try await post(.interrupt, SessionBody(sessionID: sessionID), sessionID: sessionID)
    }

    func keepAlive(_ sessionID: String) async throws {
        try await post(.keepAlive, SessionBody(sessionID: sessionID), sessionID: sessionID)
    }

    func stop(_ sessionID: String) async throws {
        try await post(.stop, SessionBody(sessionID: sessionID), sessionID: sessionID)
    }

    private func newSession() async throws -> StartedSession {
        let openedAt = ContinuousClock.now
        let response = try await post(.newSession, NewSessionBody(configuration), sessionID: nil)
        let envelope: Envelope
        do {
            envelope = try response.decode(Envelope.self)
        } catch {
            throw HeyGenError.malformedResponse(
                endpoint: HeyGenEndpoint.newSession.rawValue, detail: "it is not JSON with session details (\(error))")
        }
        guard let data = envelope.data, !data.sessionID.isEmpty, !data.url.isEmpty, !data.accessToken.isEmpty else {
            throw HeyGenError.malformedResponse(
                endpoint: HeyGenEndpoint.newSession.rawValue, detail: "data.session_id, data.url or data.access_token is missing")
        }
        return StartedSession(
            room: AvatarRoom(sessionID: data.sessionID, url: data.url, accessToken: data.accessToken),
            reportedLimit: data.sessionDurationLimit.flatMap { $0.isFinite && $0 > 0 ? .seconds(min($0, 86_400)) : nil },
            openedAt: openedAt)
    }

    @discardableResult
    private func post(
        _ endpoint: HeyGenEndpoint, _ body: some Encodable, sessionID: String?, timeout: Duration? = nil
    ) async throws -> OutboundResponse {
        let base = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        var request = try OutboundRequest.json(
            url: "\(base)/v1/\(endpoint.rawValue)", body,
            headers: [("X-Api-Key", configuration.apiKey), ("Accept", "application/json")])
        request.timeout = timeout ?? configuration.requestTimeout
        let response: OutboundResponse
        do {
            response = try await client.send(request)
        } catch let error as HTTPClientError {
            // The client's errors carry the URL redacted, and never headers.
            throw HeyGenError.unreachable(endpoint: endpoint.rawValue, reason: "\(error)")
        }
        guard response.isSuccess else {
            throw HeyGenError(
                status: response.status, body: response.body, endpoint: endpoint.rawValue, sessionID: sessionID,
                apiKey: configuration.apiKey)
        }
        return response
    }

    // MARK: Wire format (snake_case, as HeyGen's reference spells it)

    private struct SessionBody: Encodable {
        var sessionID: String
        enum CodingKeys: String, CodingKey { case sessionID = "session_id" }
    }

    private struct TaskBody: Encodable {
        var sessionID: String
        var text: String
        var taskType = "repeat"
        var taskMode: String
        enum CodingKeys: String, CodingKey {
            case text
            case sessionID = "session_id"
            case taskType = "task_type"
            case taskMode = "task_mode"
        }
    }

    private struct NewSessionBody: Encodable {
        struct Voice: Encodable {
            var voiceID: String?
            var rate: Double?
            enum CodingKeys: String, CodingKey {
                case rate
                case voiceID = "voice_id"
            }
        }

        var quality: String
        var avatarID: String?
        var voice: Voice?
        var videoEncoding: String
        /// LiveKit transport: the only version HeyGen still supports (v1's raw WebRTC ended in 2025).
        var version = "v2"
        var activityIdleTimeout: Int

        init(_ configuration: HeyGenAvatar.Configuration) {
            quality = configuration.quality.rawValue
            avatarID = configuration.avatarID
            if configuration.voiceID != nil || configuration.voiceRate != nil {
                voice = Voice(voiceID: configuration.voiceID, rate: configuration.voiceRate)
            }
            videoEncoding = configuration.videoEncoding.rawValue
            activityIdleTimeout = Int(configuration.activityIdleTimeout.components.seconds)
        }

        enum CodingKeys: String, CodingKey {
            case quality, voice, version
            case avatarID = "avatar_id"
            case videoEncoding = "video_encoding"
            case activityIdleTimeout = "activity_idle_timeout"
        }
    }

    private struct Envelope: Decodable {
        var data: SessionData?
    }

    private struct TaskEnvelope: Decodable {
        struct TaskData: Decodable {
            var durationMs: Double?
            enum CodingKeys: String, CodingKey { case durationMs = "duration_ms" }
        }
        var data: TaskData?
    }

    private struct SessionData: Decodable {
        var sessionID: String
        var url: String
        var accessToken: String
        /// Seconds.
        var sessionDurationLimit: Double?
        enum CodingKeys: String, CodingKey {
            case url
            case sessionID = "session_id"
            case accessToken = "access_token"
            case sessionDurationLimit = "session_duration_limit"
        }
    }
}
