import Foundation

/// The bus's JSON, written by a Codable encoder of its own: the bytes `MessageCoding.encoder()`
/// (Foundation's `JSONEncoder`, sorted keys, no escaped slashes) writes, at a fraction of the
/// cost. Foundation's encoder spent a third of the classifier's CPU: it keeps a coding path
/// for every value, looks every value up against its special types and formats through
/// several layers; this one records the values in a small tree and writes it once.
/// `WireFormatTests` checks both give the same bytes for every message.
///
/// Differences a message never meets: a key encoded twice in one container is written twice
/// (Foundation keeps the last), and a `Decimal` is written as its Codable conformance writes
/// it rather than as a number.
struct CompactJSONEncoder: Sendable {
    let date: @Sendable (Date) -> String

    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        guard let node = try Node.encoded(value, by: self, parent: nil, key: nil) else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        var output: [UInt8] = []
        output.reserveCapacity(512)
        node.write(into: &output)
        return output
    }
}

/// A value on its way out. Objects and arrays are boxes so that containers handed out by an
/// encoder can fill them after the node was placed in its parent.
private enum Node {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    /// Already formatted as Foundation formats floating-point numbers.
    case number(String)
    case string(String)
    case object(ObjectBox)
    case array(ArrayBox)
    /// A value whose encoder may still be written to (`superEncoder`): read when written out.
    case deferred(ValueEncoder)

    /// `value` written at `key` of `parent`'s value; the encoder for it is made only for a
    /// value that is not one of the special types.
    static func encoded<T: Encodable>(
        _ value: T, by owner: CompactJSONEncoder, parent: ValueEncoder?, key: (any CodingKey)?
    ) throws -> Node? {
        // The special types Foundation's encoder writes its own way.
        if T.self == Date.self { return .string(owner.date(value as! Date)) }
        // Not special to Foundation, but its `uuidString` formats through sprintf.
        if T.self == UUID.self { return .string(uppercaseText(of: value as! UUID)) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        let encoder = ValueEncoder(owner: owner, parent: parent, key: key)
        try value.encode(to: encoder)
        return encoder.node
    }

    /// The text `UUID.uuidString` gives: uppercase hex, grouped 8-4-4-4-12.
    static func uppercaseText(of uuid: UUID) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return withUnsafeBytes(of: uuid.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = digits[Int(byte >> 4)]
                    text[position + 1] = digits[Int(byte & 0xF)]
                    position += 2
                }
                return position
            }
        }
    }

    static func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(
        _ value: F, path: @autoclosure () -> [any CodingKey]
    ) throws -> Node {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: path(), debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
        let text = value.description
        return .number(text.hasSuffix(".0") ? String(text.dropLast(2)) : text)
    }

    func write(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): output.append(contentsOf: String(value).utf8)
        case .unsigned(let value): output.append(contentsOf: String(value).utf8)
        case .number(let text): output.append(contentsOf: text.utf8)
        case .string(let text): Self.write(string: text, into: &output)
        case .object(let box):
            output.append(UInt8(ascii: "{"))
            for (index, member) in box.members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.write(string: member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                member.value.write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .array(let box):
            output.append(UInt8(ascii: "["))
            for (index, item) in box.items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .deferred(let encoder):
            // Foundation writes an encoder that was never written to as an empty object.
            (encoder.node ?? .object(ObjectBox())).write(into: &output)
        }
    }

    /// RFC 8259 string, escaped as Foundation escapes: quote, backslash and control
    /// characters, the latter as \b \t \n \f \r or \u00XX; everything else as it is.
    private static func write(string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var text = string
        text.withUTF8 { bytes in
            // Runs of bytes that need no escape are copied whole.
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
            {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                appendEscape(of: byte, to: &output)
                runStart = index + 1
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(of byte: UInt8, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
        case 0x08: output.append(UInt8(ascii: "b"))
        case 0x09: output.append(UInt8(ascii: "t"))
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0C: output.append(UInt8(ascii: "f"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            output.append(contentsOf: [
                UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
            ])
        }
    }
}

private final class ObjectBox {
    var members: [(key: String, value: Node)] = []
}

private final class ArrayBox {
    var items: [Node] = []
}

private struct IndexKey: CodingKey {
    var stringValue: String { "Index \(intValue ?? 0)" }
    var intValue: Int?
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// The encoder one value is given; what it was asked to write ends up in `node`. It is also
/// the value's place in the document, as a link to its parent: no array of keys is built for
/// values that encode without error (the path is only read for an error's context).
private final class ValueEncoder: Encoder {
    let owner: CompactJSONEncoder
    let parent: ValueEncoder?
    let key: (any CodingKey)?
    var node: Node?

    init(owner: CompactJSONEncoder, parent: ValueEncoder?, key: (any CodingKey)?) {
        self.owner = owner
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var keys: [any CodingKey] = []
        var link: ValueEncoder? = self
        while let current = link, let key = current.key {
            keys.append(key)
            link = current.parent
        }
        return keys.reversed()
    }

    /// The place of a nested container at `key`.
    func link(_ key: any CodingKey) -> ValueEncoder { ValueEncoder(owner: owner, parent: self, key: key) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: ObjectBox
        if case .object(let existing) = node {
            box = existing
        } else {
            box = ObjectBox()
            node = .object(box)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, box: box))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: ArrayBox
        if case .array(let existing) = node {
            box = existing
        } else {
            box = ArrayBox()
            node = .array(box)
        }
        return UnkeyedContainer(encoder: self, box: box)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// Where the container is; it writes into `box`.
    let encoder: ValueEncoder
    let box: ObjectBox

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func add(_ node: Node, _ key: Key) { box.members.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) throws { add(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { add(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { add(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        add(try .floating(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        add(try .floating(value, path: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { add(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { add(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { add(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { add(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { add(.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { add(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { add(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { add(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { add(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { add(.unsigned(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        // Foundation writes a value that encoded nothing as an empty object.
        add(try Node.encoded(value, by: encoder.owner, parent: encoder, key: key) ?? .object(ObjectBox()), key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        add(.object(nested), key)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: encoder.link(key), box: nested))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        add(.array(nested), key)
        return UnkeyedContainer(encoder: encoder.link(key), box: nested)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: SuperKey.super) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: some CodingKey) -> any Encoder {
        let superEncoder = encoder.link(key)
        box.members.append((key.stringValue, .deferred(superEncoder)))
        return superEncoder
    }
}

private enum SuperKey: String, CodingKey { case `super` }

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    /// Where the container is; it writes into `box`.
    let encoder: ValueEncoder
    let box: ArrayBox

    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { box.items.count }

    private func add(_ node: Node) { box.items.append(node) }
    private var nextKey: IndexKey { IndexKey(intValue: box.items.count) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(try .floating(value, path: codingPath + [nextKey])) }
    mutating func encode(_ value: Float) throws { add(try .floating(value, path: codingPath + [nextKey])) }
    mutating func encode(_ value: Int) throws { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { add(.integer(value)) }
    mutating func encode(_ value: UInt) throws { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { add(.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        add(try Node.encoded(value, by: encoder.owner, parent: encoder, key: nextKey) ?? .object(ObjectBox()))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        let link = encoder.link(nextKey)
        add(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: link, box: nested))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        let link = encoder.link(nextKey)
        add(.array(nested))
        return UnkeyedContainer(encoder: link, box: nested)
    }

    mutating func superEncoder() -> any Encoder {
        let superEncoder = encoder.link(nextKey)
        add(.deferred(superEncoder))
        return superEncoder
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ node: Node) { encoder.node = node }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try .floating(value, path: encoder.codingPath)) }
    mutating func encode(_ value: Float) throws { set(try .floating(value, path: encoder.codingPath)) }
    mutating func encode(_ value: Int) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { set(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { set(.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        // The value takes this encoder's place: its own encoder is a sibling, not a child.
        set(try Node.encoded(value, by: encoder.owner, parent: encoder.parent, key: encoder.key) ?? .object(ObjectBox()))
    }
}
