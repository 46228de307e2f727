import Foundation

/// The messages of ElevenLabs' `/stream-input` WebSocket, both ways.
enum ElevenLabsMessages {
    /// What the server sends that the synthesizer acts on.
    enum Server: Equatable {
        case audio([UInt8], NormalizedAlignment?)
        case final
        case error(ServerError)
    }

    struct ServerError: Equatable {
        var error: String?
        var message: String
    }

    struct NormalizedAlignment: Decodable, Equatable {
        var chars: [String]
        /// From the start of the message's own audio, not of the whole generation.
        var charStartTimesMs: [Int]
        var charDurationsMs: [Int]?
    }

    /// The voice settings of both the WebSocket's first message and the HTTP request.
    struct VoiceSettings: Encodable {
        var stability: Double
        var similarityBoost: Double
        var speed: Double

        init(_ configuration: ElevenLabsSynthesizer.Configuration) {
            stability = configuration.stability
            similarityBoost = configuration.similarityBoost
            speed = configuration.speed
        }
    }

    /// The first message opens the input: its text must be a single space. The key travels in
    /// the `xi-api-key` header, not in this message.
    static func initial(_ configuration: ElevenLabsSynthesizer.Configuration) -> String {
        struct Initial: Encodable {
            var text = " "
            var voiceSettings: VoiceSettings
        }
        return encode(Initial(voiceSettings: VoiceSettings(configuration)))
    }

    /// Text to speak; ElevenLabs wants every piece to end with one space. `flush` makes it
    /// generate now instead of waiting for its chunk schedule to fill.
    static func text(_ text: String, flush: Bool) -> String {
        struct Text: Encodable {
            var text: String
            var flush: Bool
        }
        return encode(Text(text: text.trimmingCharacters(in: .whitespacesAndNewlines) + " ", flush: flush))
    }

    /// An empty text ends the input: the server finishes the audio, sends `isFinal`, and closes.
    static let endOfInput = #"{"text":""}"#

    static func parse(_ json: String) -> Server? {
        struct Message: Decodable {
            var audio: String?
            var isFinal: Bool?
            var normalizedAlignment: NormalizedAlignment?
            var error: String?
            var message: String?
        }
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(json.utf8)) else { return nil }
        if message.error != nil || (message.audio == nil && message.isFinal == nil && message.message != nil) {
            return .error(ServerError(error: message.error, message: message.message ?? message.error ?? "no message"))
        }
        if let audio = message.audio, !audio.isEmpty, let bytes = Data(base64Encoded: audio) {
            return .audio(Array(bytes), message.normalizedAlignment)
        }
        return message.isFinal == true ? .final : nil
    }

    /// JSON with ElevenLabs' snake_case keys.
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Encoding plain strings, numbers and booleans cannot fail.
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }
}
