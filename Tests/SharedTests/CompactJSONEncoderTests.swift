import Foundation
import Shared
import Testing

/// `MessageCoding.encode` must write exactly what Foundation's `JSONEncoder` with the bus's
/// settings writes (`MessageCoding.encoder()`), whatever the value's shape: the message fixtures
/// check real messages (WireFormatTests); these check the corners messages rarely reach.
@Suite("The bus's JSON encoder")
struct CompactJSONEncoderTests {
    func expectSameBytes<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let foundation = String(decoding: try MessageCoding.encoder().encode(value), as: UTF8.self)
        let compact = String(decoding: try MessageCoding.encode(value), as: UTF8.self)
        #expect(compact == foundation, sourceLocation: sourceLocation)
    }

    struct Scalars: Codable {
        var text = "quote \" backslash \\ slash / tab \t newline \n return \r bell \u{7} nul \u{0} del \u{7f} é 🎉 \u{2028}"
        var empty = ""
        var integers: [Int] = [0, -1, Int.max, Int.min]
        var small: [Int8] = [-128, 127]
        var unsigned: [UInt64] = [0, UInt64.max]
        var doubles: [Double] = [0, -0.0, 0.1, 1.5, 100, 1e20, 1e-7, 123_456_789_012_345_678, 2.5e-300, .pi]
        var floats: [Float] = [0.1, 1e20, 3.4028235e38, 1.1]
        var flags = [true, false]
        var missing: String? = nil
        var present: Int? = 7
        var date = Date(timeIntervalSince1970: 1_796_810_400.25)
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_796_810_400.999)]
        var url = URL(string: "https://example.com/a/b?c=d")!
        var data = Data([0, 1, 2, 250, 255])
    }

    @Test("scalars, escapes, numbers, optionals, dates, URLs and data come out as Foundation writes them")
    func scalars() throws {
        try expectSameBytes(Scalars())
    }

    @Test("keys are sorted as Foundation sorts them: by Unicode scalar, uppercase and underscore before lowercase")
    func sortedKeys() throws {
        try expectSameBytes(["a10": 1, "a9": 2, "B": 3, "a": 4, "_x": 5, "A": 6, "é": 7, "e": 8, "a_b": 9, "ab": 10])
        try expectSameBytes([3: "three", 1: "one", 20: "twenty"])
    }

    struct Handwritten: Encodable {
        enum Keys: String, CodingKey { case header, rows, meta, parent }
        enum MetaKeys: String, CodingKey { case version, tags }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("h", forKey: .header)
            var rows = container.nestedUnkeyedContainer(forKey: .rows)
            try rows.encode(1)
            try rows.encodeNil()
            var row = rows.nestedContainer(keyedBy: MetaKeys.self)
            try row.encode(2, forKey: .version)
            var inner = rows.nestedUnkeyedContainer()
            try inner.encode("x")
            var meta = container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
            try meta.encode(["b", "a"], forKey: .tags)
            try meta.encodeNil(forKey: .version)
            try Scalars().encode(to: container.superEncoder(forKey: .parent))
            _ = container.superEncoder()
        }
    }

    @Test("nested, unkeyed and super encoders, and one that writes nothing, nest as in Foundation")
    func nesting() throws {
        try expectSameBytes(Handwritten())
        try expectSameBytes([[String: [Int]]]([["z": [1], "y": []], [:]]))
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test("a value that writes nothing is an empty object inside another, and an error on its own")
    func nothing() throws {
        try expectSameBytes(["inner": Nothing()])
        #expect(throws: EncodingError.self) { try MessageCoding.encode(Nothing()) }
    }

    @Test("a number JSON cannot hold is refused with where it was")
    func notANumber() throws {
        let error = try #require(throws: EncodingError.self) { try MessageCoding.encode(["rates": [1.0, .nan]]) }
        guard case .invalidValue(_, let context) = error else {
            Issue.record("expected invalidValue, got \(error)")
            return
        }
        #expect(context.codingPath.map(\.stringValue) == ["rates", "Index 1"])
    }
}

extension CompactJSONEncoderTests {
    @Test("identifiers are written as uuidString writes them")
    func identifiers() throws {
        let ids = [
            UUID(), UUID(uuidString: "00000000-0000-0000-0000-000000000000")!,
            UUID(uuidString: "ffffffff-ffff-4fff-bfff-ffffffffffff")!,
        ]
        try expectSameBytes(ids + (0..<100).map { _ in UUID() })
        try expectSameBytes(["id": ids[0]])
    }
}
