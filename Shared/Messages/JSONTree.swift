/// A JSON document read into a tree: for hot paths that pick a few fields out of a body and
/// cannot afford `JSONDecoder`'s Codable machinery (several times the cost of reading the
/// bytes). Strict RFC 8259: one value, no trailing commas or comments, strings checked for
/// control characters and well-formed escapes and UTF-8.
public enum JSONTree: Sendable, Equatable {
    case object(JSONObject)
    case array([JSONTree])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// Nesting deeper than this is refused, so a hostile body cannot exhaust the stack.
    public static let maximumDepth = 128

    public init(parsing bytes: [UInt8]) throws(JSONTreeError) {
        self = try bytes.withUnsafeBufferPointer { buffer throws(JSONTreeError) in
            var reader = Reader(bytes: buffer)
            let value = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.position == buffer.count else { throw reader.error("unexpected content after the value") }
            return value
        }
    }

    public subscript(key: String) -> JSONTree? {
        if case .object(let object) = self { object[key] } else { nil }
    }

    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var number: Double? { if case .number(let value) = self { value } else { nil } }
    public var array: [JSONTree]? { if case .array(let items) = self { items } else { nil } }
    public var isNull: Bool { self == .null }
}

/// An object's members in the order the document gives them. A member is found by a scan:
/// for the few dozen members of a webhook or a calendar event that costs less than hashing
/// every name into a dictionary, which took a third of reading a page of events.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public let members: [(name: String, value: JSONTree)]

    public init(members: [(name: String, value: JSONTree)]) { self.members = members }

    public init(dictionaryLiteral elements: (String, JSONTree)...) {
        members = elements.map { (name: $0.0, value: $0.1) }
    }

    /// A name given twice has its last value, as Foundation's reader gives it.
    public subscript(name: String) -> JSONTree? {
        let length = name.utf8.count
        for member in members.reversed() where member.name.utf8.count == length && member.name == name {
            return member.value
        }
        return nil
    }

    /// The names, each once.
    public var names: [String] {
        var seen = Set<String>()
        return members.compactMap { seen.insert($0.name).inserted ? $0.name : nil }
    }

    /// Equal when they hold the same names with the same values, in any order.
    public static func == (left: JSONObject, right: JSONObject) -> Bool {
        left.dictionary == right.dictionary
    }

    private var dictionary: [String: JSONTree] {
        Dictionary(members.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

/// Why a body is not JSON, with the byte offset where reading stopped.
public struct JSONTreeError: Error, CustomStringConvertible, Equatable {
    public var offset: Int
    public var problem: String
    public var description: String { "not JSON at byte \(offset): \(problem)" }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ problem: String) -> JSONTreeError { JSONTreeError(offset: position, problem: problem) }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONTreeError) -> JSONTree {
        guard depth < JSONTree.maximumDepth else { throw error("nested more than \(JSONTree.maximumDepth) deep") }
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return .number(try number())
        }
    }

    mutating func object(depth: Int) throws(JSONTreeError) -> JSONTree {
        position += 1
        var members: [(name: String, value: JSONTree)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(JSONObject(members: members))
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try string()
            skipWhitespace()
            try expect(":")
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end in an object") }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(JSONObject(members: members))
            }
            try expect(",")
        }
    }

    mutating func array(depth: Int) throws(JSONTreeError) -> JSONTree {
        position += 1
        var items: [JSONTree] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end in an array") }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            try expect(",")
        }
    }

    mutating func expect(_ character: Unicode.Scalar) throws(JSONTreeError) {
        guard position < bytes.count, bytes[position] == UInt8(ascii: character) else { throw error("expected '\(character)'") }
        position += 1
    }

    mutating func literal(_ word: StaticString) throws(JSONTreeError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
            bytes[position..<position + count].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw error("expected \(word)") }
        position += count
    }

    /// A string starting at the opening quote. Runs without escapes are copied as they are.
    mutating func string() throws(JSONTreeError) -> String {
        position += 1
        var start = position
        var escaped: [UInt8]? = nil
        // ASCII needs no validation; most names and values are ASCII.
        var highBits: UInt8 = 0
        while position < bytes.count {
            let byte = bytes[position]
            highBits |= byte
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                guard var escaped else { return highBits < 0x80 ? String(decoding: run, as: UTF8.self) : try text(run) }
                escaped.append(contentsOf: run)
                return try escaped.withUnsafeBufferPointer { buffer throws(JSONTreeError) in try text(buffer) }
            }
            if byte < 0x20 { throw error("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                escaped = (escaped ?? []) + UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                try unescape(into: &escaped!)
                start = position
                continue
            }
            position += 1
        }
        throw error("unterminated string")
    }

    func text(_ utf8: UnsafeBufferPointer<UInt8>) throws(JSONTreeError) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw error("a string is not UTF-8") }
        return text
    }

    /// One escape, after its backslash.
    mutating func unescape(into output: inout [UInt8]) throws(JSONTreeError) {
        guard position < bytes.count else { throw error("unterminated escape") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by its low half.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw error("unpaired surrogate") }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("unpaired surrogate")
            }
            output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default: throw error("unknown escape")
        }
    }

    mutating func hex4() throws(JSONTreeError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// A number in JSON's grammar (no leading zeros, no bare dot, no NaN).
    mutating func number() throws(JSONTreeError) -> Double {
        let start = position
        func digits() -> Int {
            let from = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - from
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integer = position
        guard digits() > 0 else { throw error("expected a value") }
        if bytes[integer] == UInt8(ascii: "0"), position - integer > 1 { throw error("a number with a leading zero") }
        let integerEnd = position
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("a number without digits after its point") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits() > 0 else { throw error("a number without digits in its exponent") }
        }
        // A whole number of up to 15 digits is exact in a Double: no need to go through text.
        if position == integerEnd, position - integer <= 15 {
            var whole: Int64 = 0
            for byte in bytes[integer..<position] { whole = whole * 10 + Int64(byte - UInt8(ascii: "0")) }
            return integer > start ? -Double(whole) : Double(whole)
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(literal), value.isFinite else { throw error("a number out of range") }
        return value
    }
}
