import HTTPClient
import Logging
import VoicePipeline

/// HeyGen's streaming (Interactive) avatar over its Streaming API v1, LiveKit transport
/// (`version: "v2"`). HeyGen renders the face, the voice and the lip sync itself from the text of
/// `repeat` tasks, and streams them to a LiveKit room that the camera webpage joins with the
/// current session's `HeyGenAvatarSession.room`.
public struct HeyGenAvatar: Avatar {
    /// Printing it shows everything but the key.
    public struct Configuration: Sendable, CustomStringConvertible {
        public enum Quality: String, Sendable {
            case low, medium, high
        }

        public enum VideoEncoding: String, Sendable {
            case h264 = "H264"
            case vp8 = "VP8"
        }

        /// How `speak` waits: HeyGen answers a `sync` task (its default) once the avatar has said
        /// the text, so each sentence starts after the one before; an `async` task is answered as
        /// soon as it is accepted, and the order of speech is then HeyGen's to keep. A rotation
        /// waits for the old session's task to be answered before stopping it, so with `async`
        /// it may cut sentences HeyGen had accepted but not yet said.
        public enum TaskMode: String, Sendable {
            case sync, async
        }

        public var baseURL = "https://api.heygen.com"
        public var apiKey: String
        /// An Interactive Avatar's ID; nil lets HeyGen choose its default avatar.
        public var avatarID: String?
        /// nil keeps the avatar's own voice.
        public var voiceID: String?
        /// 0.5 to 1.5; nil for HeyGen's default.
        public var voiceRate: Double?
        public var quality = Quality.medium
        /// H264 plays in more browsers than HeyGen's default, VP8.
        public var videoEncoding = VideoEncoding.h264
        public var taskMode = TaskMode.sync
        /// HeyGen closes a session this long after its last activity: 30 s to 3600 s, 120 s by
        /// default (`activity_idle_timeout`).
        public var activityIdleTimeout: Duration = .seconds(120)
        /// A `streaming.keep_alive` goes out after this long without a task, so that a call in
        /// which the agent listens for minutes keeps its avatar: well under the idle timeout.
        public var keepAliveInterval: Duration = .seconds(60)
        /// How long a session may run. HeyGen ends sessions at their `session_duration_limit`
        /// (600 s as its reference shows); the shorter of this and the reported limit counts.
        public var maximumSessionDuration: Duration = .seconds(600)
        /// The next session is opened this long before the limit (at most half the limit), time
        /// for `streaming.new` and `streaming.start` and for a sentence in flight to end.
        public var rotationMargin: Duration = .seconds(30)
        /// After a failed attempt to open the next session, the wait before trying again.
        public var rotationRetryInterval: Duration = .seconds(5)
        /// For every call but a task.
        public var requestTimeout: Duration = .seconds(15)
        /// For a task: a `sync` task lasts as long as the avatar speaks.
        public var taskTimeout: Duration = .seconds(120)

        public init(apiKey: String, avatarID: String? = nil) {
            self.apiKey = apiKey
            self.avatarID = avatarID
        }

        public var description: String {
            "HeyGen(\(redactedURL(baseURL)), avatar \(avatarID ?? "default"), voice \(voiceID ?? "the avatar's"), "
                + "\(quality.rawValue) \(videoEncoding.rawValue), \(taskMode.rawValue) tasks, key redacted)"
        }
    }

    public let name = "heygen"
    public let configuration: Configuration
    private let client: HTTPClient
    private let logger: Logger

    /// - Parameter client: by default one that retries a 429 or 503 (HeyGen did not act on the
    ///   request) when the wait asked for is short.
    public init(configuration: Configuration, client: HTTPClient? = nil, logger: Logger = Logger(label: "heygen")) {
        self.configuration = configuration
        self.client = client ?? HTTPClient(retry: RetryPolicy(maxAttempts: 3, longestRetryAfter: .seconds(5)), logger: logger)
        self.logger = logger
    }

    public func openSession() async throws -> any AvatarSession {
        try await open()
    }

    /// Opens and starts a session; the concrete type gives the LiveKit room and its rotations.
    public func open() async throws -> HeyGenAvatarSession {
        try await HeyGenAvatarSession.open(
            api: HeyGenStreamingAPI(configuration: configuration, client: client), configuration: configuration, logger: logger)
    }
}
