import Foundation

/// A value passed as a query parameter, in PostgreSQL's text format. Parameters always travel
/// separately from the SQL text (PQexecParams), so nothing is ever spliced into a statement.
public protocol PostgresBindable: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresBindable { public var postgresText: String? { self } }
extension Int: PostgresBindable { public var postgresText: String? { String(self) } }
extension Int64: PostgresBindable { public var postgresText: String? { String(self) } }
extension Int32: PostgresBindable { public var postgresText: String? { String(self) } }
extension Double: PostgresBindable { public var postgresText: String? { String(self) } }
extension Bool: PostgresBindable { public var postgresText: String? { self ? "true" : "false" } }
extension UUID: PostgresBindable { public var postgresText: String? { uuidString.lowercased() } }
extension Date: PostgresBindable { public var postgresText: String? { PostgresTimestamp.format(self) } }
extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}

/// A value stored in a `jsonb` column, encoded with the caller's encoder.
public struct JSONBValue: PostgresBindable {
    public let postgresText: String?

    public init<T: Encodable>(_ value: T, encoder: JSONEncoder = JSONBValue.plainEncoder) throws {
        postgresText = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A value already written as JSON (by the bus's own encoder, for one).
    public init(encoded bytes: [UInt8]) {
        postgresText = String(decoding: bytes, as: UTF8.self)
    }

    /// One encoder with default settings for every value: making one per value costs more than
    /// encoding a small value (encoding does not change an encoder, so sharing it is safe).
    public static let plainEncoder = JSONEncoder()
}

/// One result row, copied out of libpq so that it can leave the connection's thread.
public struct Row: Sendable {
    let columns: [String: Int]
    let values: [String?]

    public func optionalString(_ column: String) throws(PostgresError) -> String? {
        guard let index = columns[column] else { throw .missingColumn(column, available: Array(columns.keys)) }
        return values[index]
    }

    public func string(_ column: String) throws(PostgresError) -> String {
        guard let value = try optionalString(column) else { throw .unexpectedNull(column: column) }
        return value
    }

    public func int(_ column: String) throws(PostgresError) -> Int {
        let text = try string(column)
        guard let value = Int(text) else { throw .cannotDecode(column: column, value: text, as: "Int") }
        return value
    }

    public func bool(_ column: String) throws(PostgresError) -> Bool {
        try string(column) == "t"
    }

    public func uuid(_ column: String) throws(PostgresError) -> UUID {
        let text = try string(column)
        guard let value = UUID(uuidString: text) else { throw .cannotDecode(column: column, value: text, as: "UUID") }
        return value
    }

    public func date(_ column: String) throws(PostgresError) -> Date {
        let text = try string(column)
        guard let value = PostgresTimestamp.parse(text) else {
            throw .cannotDecode(column: column, value: text, as: "timestamptz")
        }
        return value
    }

    public func optionalDate(_ column: String) throws(PostgresError) -> Date? {
        guard try optionalString(column) != nil else { return nil }
        return try date(column)
    }

    public func decode<T: Decodable>(_ type: T.Type, column: String, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(try string(column).utf8))
    }
}

/// timestamptz in the text form a UTC session reads and writes: `2026-11-21 09:30:00.25+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = Int64((micros / 1_000_000).rounded(.down))
        let fraction = Int64(micros) - seconds * 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // Digits by hand: this runs for every timestamp parameter, and String(format:) is slow.
        var text: [UInt8] = []
        text.reserveCapacity(27)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        text.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        text.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        text.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        text.append(UInt8(ascii: "."))
        digits(Int(fraction), 6)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }

    static func parse(_ text: String) -> Date? {
        // "YYYY-MM-DD HH:MM:SS[.ffffff]+00[:00]" as written by a session whose TimeZone is UTC.
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard index + 3 <= bytes.count, let hours = number(index + 1..<index + 3) else { return nil }
            var minutes = 0
            if index + 6 <= bytes.count, bytes[index + 3] == UInt8(ascii: ":") {
                minutes = number(index + 4..<index + 6) ?? 0
            }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}

extension Date {
    /// timestamptz keeps microseconds, so an instant read back may differ from the one written
    /// below that: compare at the precision the database keeps.
    public func isSameStoredInstant(as other: Date) -> Bool {
        abs(timeIntervalSince(other)) < 0.000_001
    }
}
