/// What a speech-to-text engine reports while audio streams in. The vocabulary is Deepgram's
/// live-streaming one, which the offline engine imitates: a `final` result is a stretch of
/// speech that will not change any more; `endOfSpeech` marks the final that closed an
/// utterance after a short silence (Deepgram's `speech_final`, from `endpointing`); and
/// `utteranceEnd` follows a longer gap with no words (`UtteranceEnd`, from `utterance_end_ms`).
public enum TranscriptEvent: Sendable, Equatable {
    case speechStarted
    case interim(String)
    case final(String, endOfSpeech: Bool)
    case utteranceEnd
}

/// A speech-to-text engine: opens one stream per call.
public protocol SpeechToText: Sendable {
    var name: String { get }
    func openStream() async throws -> any TranscriptionStream
}

/// One call's recognition: frames in, events out, in order.
public protocol TranscriptionStream: Sendable {
    var events: AsyncThrowingStream<TranscriptEvent, any Error> { get }
    func send(_ frame: AudioFrame) async throws
    /// Ends the stream: results still pending are delivered, then `events` finishes.
    func close() async
}

/// A word of synthesised speech and where it starts in the chunk's samples.
public struct SpokenWord: Sendable, Equatable {
    public var text: String
    public var sampleOffset: Int
    public init(text: String, sampleOffset: Int) {
        self.text = text
        self.sampleOffset = sampleOffset
    }
}

/// A phoneme the speech engine produced, for lip sync, and where it starts.
public struct SpokenPhoneme: Sendable, Equatable {
    public var symbol: String
    public var sampleOffset: Int
    public init(symbol: String, sampleOffset: Int) {
        self.symbol = symbol
        self.sampleOffset = sampleOffset
    }
}

/// A piece of synthesised speech at 16 kHz, with the words (and, where the engine knows them,
/// phonemes) it contains. Offsets are relative to the chunk's first sample.
public struct SpeechChunk: Sendable, Equatable {
    public var samples: [Int16]
    public var words: [SpokenWord]
    public var phonemes: [SpokenPhoneme]
    public init(samples: [Int16], words: [SpokenWord] = [], phonemes: [SpokenPhoneme] = []) {
        self.samples = samples
        self.words = words
        self.phonemes = phonemes
    }
}

/// A text-to-speech engine: streams one text's speech as it is produced.
public protocol TextToSpeech: Sendable {
    var name: String { get }
    func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error>
    /// A whole reply's speech over one connection to the engine, opened now, before the reply's
    /// first sentence is written, so that no sentence waits for a handshake; `nil` (the
    /// default) for engines that gain nothing from it, whose sentences go to `synthesize` one
    /// by one.
    func openReply() -> (any ReplySpeech)?
}

extension TextToSpeech {
    public func openReply() -> (any ReplySpeech)? { nil }
}

/// One reply's speech: sentences go in as the model writes them, their audio comes out of
/// `chunks` in the same order, and `chunks` finishes after the last sentence's audio once
/// `finish` was called. Cancelling the task that reads `chunks` closes the connection.
public protocol ReplySpeech: Sendable {
    func say(_ sentence: String)
    /// No more sentences.
    func finish()
    var chunks: AsyncThrowingStream<SpeechChunk, any Error> { get }
}

/// What the agent shows while it is not speaking.
public enum AvatarReaction: String, Sendable, Codable {
    case nod, interested, thinking, neutral
}

/// A mouth shape at a moment of the agent's speech (the Oculus/MPEG-4 viseme set).
public struct VisemeCue: Sendable, Equatable, Codable {
    public var viseme: String
    /// From the start of the speech chunk that carries it.
    public var offsetMilliseconds: Int
    public init(viseme: String, offsetMilliseconds: Int) {
        self.viseme = viseme
        self.offsetMilliseconds = offsetMilliseconds
    }
}

/// What the pipeline sends to the meeting: audio, the avatar's cues, and `clear` when speech
/// stops early, so the far end drops what it buffered.
public enum MediaOut: Sendable, Equatable {
    case audio(AudioFrame)
    case visemes([VisemeCue])
    case reaction(AvatarReaction)
    case clear
    /// A cloud avatar's room for the page to show (again on each rotation to a new room).
    case avatarRoom(AvatarRoom)
}

/// Where a call's outgoing media goes (the camera webpage's WebSocket, or a test).
public protocol MediaSink: Sendable {
    func send(_ media: MediaOut) async
}

/// A cloud avatar: a service that renders the agent's face, voice and lip sync itself from the
/// text it is given, and streams the video to a room that the camera webpage joins. It replaces
/// our speech and visemes for the agent's replies rather than following them, so all it takes is
/// the text of each sentence. The embedded avatar needs none of this: it draws the viseme
/// timeline derived from our own speech, with nothing to open or keep alive.
public protocol Avatar: Sendable {
    var name: String { get }
    /// One session a call: the service bills and limits by open sessions.
    func openSession() async throws -> any AvatarSession
}

/// Where the camera webpage watches a cloud avatar: the service's LiveKit server and a viewer
/// token for the session's room.
public struct AvatarRoom: Sendable, Equatable, CustomStringConvertible {
    public var sessionID: String
    public var url: String
    /// Lets whoever holds it watch the session: hand it to the page, keep it out of logs.
    public var accessToken: String

    public init(sessionID: String, url: String, accessToken: String) {
        self.sessionID = sessionID
        self.url = url
        self.accessToken = accessToken
    }

    public var description: String { "avatar session \(sessionID) in LiveKit room at \(url) (token redacted)" }
}

/// One call's cloud avatar.
public protocol AvatarSession: Sendable {
    /// The room the avatar is shown in now.
    var room: AvatarRoom { get async }
    /// Each room the session moves to later (the service limits a session's duration); the page
    /// should switch to it. Finishes when the session closes.
    var rotations: AsyncStream<AvatarRoom> { get }
    /// Has the avatar say `text` word for word, after what it was given before, and returns how
    /// long the saying takes when the service tells. Calls are meant to be made one after
    /// another, each awaited, so that sentences keep their order.
    @discardableResult
    func speak(_ text: String) async throws -> Duration?
    /// Stops what the avatar is saying now (the participant barged in).
    func interrupt() async throws
    /// Ends the session, so that it stops counting against the service's limits. It does not
    /// throw: the call is over either way, and a failure is only logged.
    func close() async
}
