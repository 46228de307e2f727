import Foundation
import Resilience

/// What a bot is sent to do: the body of `POST /bot/`
/// (https://docs.recall.ai/reference/bot_create).
public struct CreateBot: Sendable, Equatable {
    public var meetingURL: String
    /// Shown in the call; Recall takes 1 to 100 characters.
    public var botName: String
    /// When the bot joins. Only a time more than 10 minutes ahead makes a scheduled bot (reserved,
    /// on time, never a 507): see `RecallClient.joinAt(meetingStart:earlyJoin:now:)`. Nil: now.
    public var joinAt: Date?
    /// Comes back with every webhook about the bot (`data.bot.metadata`): the meeting and tenant.
    public var metadata: [String: String]
    /// A page the bot shows as its camera and plays as its microphone (`output_media.camera`).
    public var cameraPageURL: String?
    /// Where Recall posts `transcript.data` as people speak (a real-time webhook endpoint).
    public var transcriptWebhookURL: String?
    /// Also `transcript.partial_data`: faster, but each is superseded by a final one.
    public var partialTranscripts: Bool
    public var transcriptProvider: TranscriptProvider
    public var automaticLeave: AutomaticLeave
    /// Sent as `Idempotency-Key`: Recall answers a repeat within an hour with the first answer,
    /// and a repeat while the first is still being handled with 409
    /// (https://docs.recall.ai/reference/idempotency).
    public var idempotencyKey: String?

    public init(
        meetingURL: String, botName: String, joinAt: Date? = nil, metadata: [String: String] = [:],
        cameraPageURL: String? = nil, transcriptWebhookURL: String? = nil, partialTranscripts: Bool = false,
        transcriptProvider: TranscriptProvider = .recallaiStreaming, automaticLeave: AutomaticLeave = AutomaticLeave(),
        idempotencyKey: String? = nil
    ) {
        self.meetingURL = meetingURL
        self.botName = botName
        self.joinAt = joinAt
        self.metadata = metadata
        self.cameraPageURL = cameraPageURL
        self.transcriptWebhookURL = transcriptWebhookURL
        self.partialTranscripts = partialTranscripts
        self.transcriptProvider = transcriptProvider
        self.automaticLeave = automaticLeave
        self.idempotencyKey = idempotencyKey
    }

    /// Who transcribes (`recording_config.transcript.provider`).
    public enum TranscriptProvider: Sendable, Equatable {
        /// Recall's own transcription, in low-latency mode: in its default mode real-time
        /// endpoints get transcripts 3 to 10 minutes late, too late for a live assistant.
        case recallaiStreaming
        /// The meeting platform's captions: free, but not on every platform or plan.
        case meetingCaptions
    }

    /// When the bot leaves on its own (`automatic_leave`), in whole seconds. Recall's defaults
    /// are used except `everyoneLeftTimeout`: 30 s rather than 2 s, so that a host who drops and
    /// rejoins does not lose the assistant.
    public struct AutomaticLeave: Sendable, Equatable {
        public var everyoneLeftTimeout: Duration
        public var waitingRoomTimeout: Duration
        public var nooneJoinedTimeout: Duration
        public var inCallNotRecordingTimeout: Duration

        public init(
            everyoneLeftTimeout: Duration = .seconds(30), waitingRoomTimeout: Duration = .seconds(1200),
            nooneJoinedTimeout: Duration = .seconds(1200), inCallNotRecordingTimeout: Duration = .seconds(3600)
        ) {
            self.everyoneLeftTimeout = everyoneLeftTimeout
            self.waitingRoomTimeout = waitingRoomTimeout
            self.nooneJoinedTimeout = nooneJoinedTimeout
            self.inCallNotRecordingTimeout = inCallNotRecordingTimeout
        }

        /// Recall documents defaults but no bounds; it takes whole seconds. Zero or less would
        /// make the bot leave at once, and more than a day is a mistake of units (no bot stays
        /// that long), so both are refused here, naming the field, before a bot is paid for.
        public static let allowedSeconds: ClosedRange<Int64> = 1...86_400

        var fields: [(name: String, value: Duration)] {
            [
                ("everyone_left_timeout", everyoneLeftTimeout), ("waiting_room_timeout", waitingRoomTimeout),
                ("noone_joined_timeout", nooneJoinedTimeout), ("in_call_not_recording_timeout", inCallNotRecordingTimeout),
            ]
        }
    }

    /// Refuses what Recall would refuse, or what would waste a bot, naming the field as Recall does.
    func validate() throws(RecallError) {
        guard let url = URL(string: meetingURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else { throw .invalid(field: "meeting_url", message: "not an http(s) meeting URL") }
        guard (1...100).contains(botName.count) else {
            throw .invalid(field: "bot_name", message: "must be 1 to 100 characters; it has \(botName.count)")
        }
        for (name, value) in automaticLeave.fields {
            let (seconds, attoseconds) = value.components
            guard attoseconds == 0, AutomaticLeave.allowedSeconds.contains(seconds) else {
                throw .invalid(
                    field: "automatic_leave.\(name)",
                    message: "must be whole seconds from \(AutomaticLeave.allowedSeconds.lowerBound) to"
                        + " \(AutomaticLeave.allowedSeconds.upperBound); it is \(value.secondsValue) s")
            }
        }
    }

    /// The JSON body, keys sorted so that the same request is the same bytes.
    func body() throws -> [UInt8] {
        let leave = Dictionary(uniqueKeysWithValues: automaticLeave.fields.map { ($0.name, $0.value.components.seconds) })
        let wire = Wire(
            meetingURL: meetingURL, botName: botName,
            joinAt: joinAt.map { $0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) },
            metadata: metadata.isEmpty ? nil : metadata,
            outputMedia: cameraPageURL.map { Wire.OutputMedia(camera: .init(kind: "webpage", config: .init(url: $0))) },
            automaticLeave: Wire.AutomaticLeave(
                everyoneLeftTimeout: .init(timeout: leave["everyone_left_timeout"]!, activateAfter: 0),
                waitingRoomTimeout: leave["waiting_room_timeout"]!, nooneJoinedTimeout: leave["noone_joined_timeout"]!,
                inCallNotRecordingTimeout: leave["in_call_not_recording_timeout"]!),
            recordingConfig: Wire.RecordingConfig(
                transcript: .init(provider: transcriptProvider),
                realtimeEndpoints: transcriptWebhookURL.map {
                    [
                        .init(
                            type: "webhook", url: $0,
                            events: partialTranscripts ? ["transcript.data", "transcript.partial_data"] : ["transcript.data"])
                    ]
                }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(wire))
    }

    private struct Wire: Encodable {
        var meetingURL: String
        var botName: String
        var joinAt: String?
        var metadata: [String: String]?
        var outputMedia: OutputMedia?
        var automaticLeave: AutomaticLeave
        var recordingConfig: RecordingConfig

        enum CodingKeys: String, CodingKey {
            case meetingURL = "meeting_url"
            case botName = "bot_name"
            case joinAt = "join_at"
            case metadata
            case outputMedia = "output_media"
            case automaticLeave = "automatic_leave"
            case recordingConfig = "recording_config"
        }

        struct OutputMedia: Encodable {
            var camera: Camera
            struct Camera: Encodable {
                var kind: String
                var config: Config
            }
            struct Config: Encodable { var url: String }
        }

        struct AutomaticLeave: Encodable {
            var everyoneLeftTimeout: EveryoneLeft
            var waitingRoomTimeout: Int64
            var nooneJoinedTimeout: Int64
            var inCallNotRecordingTimeout: Int64

            /// The current form (an object); older API versions took a bare number.
            struct EveryoneLeft: Encodable {
                var timeout: Int64
                var activateAfter: Int64
                enum CodingKeys: String, CodingKey {
                    case timeout
                    case activateAfter = "activate_after"
                }
            }

            enum CodingKeys: String, CodingKey {
                case everyoneLeftTimeout = "everyone_left_timeout"
                case waitingRoomTimeout = "waiting_room_timeout"
                case nooneJoinedTimeout = "noone_joined_timeout"
                case inCallNotRecordingTimeout = "in_call_not_recording_timeout"
            }
        }

        struct RecordingConfig: Encodable {
            var transcript: Transcript
            var realtimeEndpoints: [Endpoint]?

            enum CodingKeys: String, CodingKey {
                case transcript
                case realtimeEndpoints = "realtime_endpoints"
            }

            struct Transcript: Encodable {
                var provider: TranscriptProvider

                func encode(to encoder: any Encoder) throws {
                    var container = encoder.container(keyedBy: DynamicKey.self)
                    var provider = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("provider"))
                    switch self.provider {
                    case .recallaiStreaming:
                        var options = provider.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("recallai_streaming"))
                        try options.encode("prioritize_low_latency", forKey: DynamicKey("mode"))
                    case .meetingCaptions:
                        _ = provider.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("meeting_captions"))
                    }
                }
            }

            struct Endpoint: Encodable {
                var type: String
                var url: String
                var events: [String]
            }
        }
    }
}

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
