import Foundation

/// A bot as Recall describes it (`GET /bot/{id}/`): only the fields Attaché reads; the rest of
/// Recall's answer is ignored, so that new fields do not break reading it.
public struct Bot: Sendable, Equatable, Decodable {
    public var id: String
    public var metadata: [String: String]
    /// Set only for a scheduled bot that has not joined yet.
    public var joinAt: String?
    /// Oldest first.
    public var statusChanges: [StatusChange]
    public var recordings: [Recording]

    /// The latest status (`joining_call`, `in_call_recording`, `done`, `fatal`…), if any.
    public var status: StatusChange? { statusChanges.last }

    public struct StatusChange: Sendable, Equatable, Decodable {
        public var code: String
        /// Why, for `call_ended`, `done` and `fatal` (`timeout_exceeded_waiting_room`,
        /// `bot_kicked_from_call`…: https://docs.recall.ai/docs/sub-codes).
        public var subCode: String?
        public var createdAt: String?

        enum CodingKeys: String, CodingKey {
            case code
            case subCode = "sub_code"
            case createdAt = "created_at"
        }
    }

    /// One recording; `mediaShortcuts` point at its transcript and mixed video once they are done.
    public struct Recording: Sendable, Equatable, Decodable {
        public var id: String
        public var transcriptDownloadURL: String?
        public var videoDownloadURL: String?

        enum CodingKeys: String, CodingKey {
            case id
            case mediaShortcuts = "media_shortcuts"
        }

        private struct Shortcuts: Decodable {
            var transcript: Media?
            var videoMixed: Media?
            enum CodingKeys: String, CodingKey {
                case transcript
                case videoMixed = "video_mixed"
            }
        }

        private struct Media: Decodable {
            var data: MediaData?
        }

        private struct MediaData: Decodable {
            var downloadURL: String?
            enum CodingKeys: String, CodingKey { case downloadURL = "download_url" }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            let shortcuts = try container.decodeIfPresent(Shortcuts.self, forKey: .mediaShortcuts)
            transcriptDownloadURL = shortcuts?.transcript?.data?.downloadURL
            videoDownloadURL = shortcuts?.videoMixed?.data?.downloadURL
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, metadata, recordings
        case joinAt = "join_at"
        case statusChanges = "status_changes"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        metadata = (try? container.decodeIfPresent([String: String].self, forKey: .metadata)) ?? [:]
        joinAt = try container.decodeIfPresent(String.self, forKey: .joinAt)
        statusChanges = try container.decodeIfPresent([StatusChange].self, forKey: .statusChanges) ?? []
        recordings = try container.decodeIfPresent([Recording].self, forKey: .recordings) ?? []
    }
}

/// One speaker's turn in a finished transcript (the transcript download's JSON:
/// https://docs.recall.ai/docs/download-urls).
public struct TranscriptSegment: Sendable, Equatable {
    /// The participant's display name; nil when nobody was speaking as far as the platform said
    /// (often the first utterance, spoken before the bot joined).
    public var speaker: String?
    public var speakerID: Int?
    public var words: [Word]
    public var text: String { words.map(\.text).joined(separator: " ") }
    /// Seconds from the start of the recording.
    public var start: Double? { words.first?.start }
    public var end: Double? { words.last?.end }

    public struct Word: Sendable, Equatable {
        public var text: String
        public var start: Double?
        public var end: Double?
        /// Wall-clock time the word began, when Recall gives it.
        public var startedAt: Date?
    }
}

struct TranscriptDownload: Decodable {
    var participant: Participant?
    var words: [Word]

    struct Participant: Decodable {
        var id: Int?
        var name: String?
    }

    struct Word: Decodable {
        var text: String
        var startTimestamp: Timestamp?
        var endTimestamp: Timestamp?
        enum CodingKeys: String, CodingKey {
            case text
            case startTimestamp = "start_timestamp"
            case endTimestamp = "end_timestamp"
        }
    }

    struct Timestamp: Decodable {
        var relative: Double?
        var absolute: String?
    }

    var segment: TranscriptSegment {
        TranscriptSegment(
            speaker: participant?.name, speakerID: participant?.id,
            words: words.map {
                TranscriptSegment.Word(
                    text: $0.text, start: $0.startTimestamp?.relative, end: $0.endTimestamp?.relative,
                    startedAt: $0.startTimestamp?.absolute.flatMap(Self.date))
            })
    }

    private static func date(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}
