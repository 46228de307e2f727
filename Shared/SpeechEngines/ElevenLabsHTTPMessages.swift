import Foundation

/// The wire format of ElevenLabs' `POST /v1/text-to-speech/{voice_id}/stream/with-timestamps`:
/// a JSON request, answered with one JSON object a line, each with a piece of the audio
/// (`audio_base64`) and the timing of the characters it speaks (`alignment`).
enum ElevenLabsHTTPMessages {
    struct Request: Encodable {
        var text: String
        var modelId: String
        var voiceSettings: ElevenLabsMessages.VoiceSettings
    }

    /// One line of the answer.
    struct TimedAudio: Decodable, Equatable {
        var audioBase64: String?
        /// Of the text as sent; `normalizedAlignment` is of the text as ElevenLabs spoke it
        /// (numbers spelled out…), which matches the sentence's words less well.
        var alignment: Alignment?
        var normalizedAlignment: Alignment?
    }

    struct Alignment: Decodable, Equatable {
        var characters: [String]
        /// From the start of the whole generation, not of the line's own audio.
        var characterStartTimesSeconds: [Double]
    }

    static func body(_ text: String, configuration: ElevenLabsSynthesizer.Configuration) -> [UInt8] {
        let request = Request(text: text, modelId: configuration.modelID, voiceSettings: .init(configuration))
        return Array(ElevenLabsMessages.encode(request).utf8)
    }

    static func parse(_ line: [UInt8]) throws(ElevenLabsError) -> TimedAudio {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(TimedAudio.self, from: Data(line))
        } catch {
            throw .malformedStream(
                "a line is not an audio chunk with timestamps: \(String(decoding: line.prefix(120), as: UTF8.self))")
        }
    }
}

/// Cuts newline-delimited JSON arriving in pieces of any length into whole lines, keeping a
/// line's beginning until its end arrives. Blank lines (keep-alives) are dropped.
struct JSONLineSplitter {
    private var partial: [UInt8] = []

    mutating func lines(in bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = bytes.startIndex
        while let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            partial += bytes[start..<end]
            lines.append(partial)
            partial.removeAll(keepingCapacity: true)
            start = end + 1
        }
        partial += bytes[start...]
        return lines.filter { !Self.isBlank($0) }
    }

    /// What came after the last line end: a last line the server did not end with a newline.
    mutating func remainder() -> [UInt8]? {
        defer { partial = [] }
        return Self.isBlank(partial) ? nil : partial
    }

    private static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
    }
}
