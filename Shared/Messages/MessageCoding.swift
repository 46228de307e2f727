import Foundation

/// The one JSON dialect of the bus: snake_case keys (declared per type), RFC 3339 timestamps
/// in UTC with milliseconds, keys sorted so that the same event always has the same bytes.
public enum MessageCoding {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(withFractionalSeconds))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? withFractionalSeconds.parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not an RFC 3339 timestamp")
        }
        return decoder
    }

    /// The bytes `encoder()` writes, written by `CompactJSONEncoder` at a fraction of the cost.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try compactEncoder.encode(value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try sharedDecoder.decode(T.self, from: Data(bytes))
    }

    /// `decoder()`, made once: every message on the bus goes through it, and it is safe to share
    /// between threads (its settings are fixed here and never changed).
    public static let sharedDecoder = decoder()
    private static let compactEncoder = CompactJSONEncoder { $0.formatted(withFractionalSeconds) }

    private static let withFractionalSeconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
