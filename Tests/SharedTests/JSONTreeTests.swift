import Foundation
import Shared
import Testing

@Suite("JSON tree reader")
struct JSONTreeTests {
    /// Foundation's reading of the same bytes, in the tree's terms: the reference the reader must agree with.
    static func reference(_ text: String) throws -> JSONTree {
        func convert(_ value: Any) -> JSONTree {
            switch value {
            case let object as [String: Any]: .object(JSONObject(members: object.map { ($0.key, convert($0.value)) }))
            case let array as [Any]: .array(array.map(convert))
            case let string as String: .string(string)
            // Foundation reads true and false as NSNumbers of C type `char`.
            case let number as NSNumber where number.objCType.pointee == CChar(UInt8(ascii: "c")): .bool(number.boolValue)
            case let number as NSNumber: .number(number.doubleValue)
            default: .null
            }
        }
        return convert(try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
    }

    @Test(
        "reads what Foundation reads, value for value",
        arguments: [
            #"{"event": "bot.done", "data": {"bot": {"id": "b-1", "metadata": {}}, "n": null}}"#,
            #"[1, -2.5, 3e2, 0.125E-1, 0, -0, true, false, null, "", [], {}]"#,
            #"{"escapes": "a\"b\\c\/d\b\f\n\r\t", "unicode": "\u00e9\u4e2d\ud83d\ude00", "raw": "é中😀"}"#,
            " \n\t{ \"spaced\" : [ 1 , { } ] } \r\n",
            #"{"words": [{"text": "Budget", "start_timestamp": {"relative": 12.5, "absolute": "2026-12-10T10:00:12.500Z"}}]}"#,
            #""just a string""#,
            "[12345678901234567, -42, 999999999999999, -999999999999999, 1000000000000000, 0.1, -0.0]",
        ])
    func agreesWithFoundation(_ text: String) throws {
        #expect(try JSONTree(parsing: Array(text.utf8)) == Self.reference(text))
    }

    @Test(
        "refuses what is not JSON, saying where",
        arguments: [String: String]([
            ("", "unexpected end"), ("{not json", "expected a member name"), (#"{"a": 1,}"#, "expected a member name"),
            ("[1, 2", "unexpected end in an array"), (#"{"a" 1}"#, "expected ':'"), ("01", "leading zero"),
            ("1.", "after its point"), ("-", "expected a value"), ("tru", "expected true"), (#""abc"#, "unterminated string"),
            ("\"a\u{01}b\"", "control character"), (#""\x""#, "unknown escape"), (#""\ud83d""#, "unpaired surrogate"),
            (#""\ude00""#, "unpaired surrogate"), (#""\u12G4""#, "bad \\u escape"), ("{} {}", "after the value"),
            ("1e999", "out of range"),
        ]) { $1 })
    func refusesNonJSON(_ text: String, _ problem: String) {
        #expect {
            try JSONTree(parsing: Array(text.utf8))
        } throws: { error in
            "\(error)".hasPrefix("not JSON at byte ") && "\(error)".contains(problem)
        }
    }

    @Test("refuses bytes that are not UTF-8 inside a string")
    func refusesInvalidUTF8() {
        #expect(throws: JSONTreeError.self) { try JSONTree(parsing: [0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("refuses nesting past the limit instead of running out of stack, and reads up to it")
    func boundsNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONTreeError.self) { try JSONTree(parsing: Array(deep.utf8)) }
        let limit = JSONTree.maximumDepth
        let allowed = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        _ = try JSONTree(parsing: Array(allowed.utf8))
    }

    @Test("a name given twice has its last value, and objects are equal whatever their members' order")
    func repeatedNames() throws {
        let tree = try JSONTree(parsing: Array(#"{"a": 1, "b": true, "a": 2}"#.utf8))
        #expect(tree["a"]?.number == 2)
        #expect(tree == .object(["b": .bool(true), "a": .number(2)]))
        #expect(tree != .object(["a": .number(1), "b": .bool(true)]))
        if case .object(let object) = tree { #expect(object.names == ["a", "b"]) }
    }

    @Test("gives fields by name and type")
    func accessors() throws {
        let tree = try JSONTree(parsing: Array(#"{"s": "x", "n": 2, "a": [null]}"#.utf8))
        #expect(tree["s"]?.string == "x")
        #expect(tree["n"]?.number == 2)
        #expect(tree["a"]?.array == [.null])
        #expect(tree["s"]?.number == nil)
        #expect(tree["missing"] == nil)
        #expect(tree["a"]?.array?.first?.isNull == true)
    }

    @Test("fields read as JSONDecoder would: null is absent, a wrong type is an error naming the field's path")
    func fields() throws {
        let body = #"""
            {"id": "e1", "n": 3, "half": 2.5, "big": 1e300, "flag": true, "none": null,
             "who": {"name": 7}, "people": [{"email": "a@example.com"}, 5]}
            """#
        let fields = JSONFields(try JSONTree(parsing: Array(body.utf8)))
        #expect(try fields.string("id") == "e1")
        #expect(try fields.int("n") == 3)
        #expect(try fields.bool("flag") == true)
        #expect(try fields.string("none") == nil)
        #expect(try fields.string("missing") == nil)
        #expect(throws: JSONFieldError(problem: "missing field missing")) { try fields.required("missing", \.string, "a string") }
        #expect(throws: JSONFieldError(problem: "field half is not a whole number")) { try fields.int("half") }
        #expect(throws: JSONFieldError(problem: "field big is not a whole number")) { try fields.int("big") }
        #expect(throws: JSONFieldError(problem: "field n is not a string")) { try fields.string("n") }
        #expect(throws: JSONFieldError(problem: "field who.name is not a string")) { try fields.object("who")?.string("name") }
        #expect(throws: JSONFieldError(problem: "field people[1] is not an object")) { try fields.objects("people") }
        #expect(throws: JSONFieldError(problem: "field id is not an array")) { try fields.objects("id") }
    }
}
