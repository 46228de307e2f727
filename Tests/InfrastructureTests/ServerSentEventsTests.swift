import LanguageModel
import Testing

@Suite("Server-sent events parser")
struct ServerSentEventsTests {
    /// A byte-order mark, comments, CRLF, LF and CR line ends, a named event with an id,
    /// multi-line data (and a `data` line without a colon), multi-byte UTF-8, and an event
    /// left unfinished at the end.
    static let stream = Array(
        ("\u{FEFF}: a comment\r\ndata: first\r\n\r\n"
            + "event: update\nid: 7\ndata: line one\ndata:line two\ndata\n\n"
            + ": keep-alive\n\n"
            + "data: héllo wörld 😀\r\r"
            + "data: {\"choices\":[]}\n\n"
            + "data: unfinished").utf8)

    static let expected = [
        ServerSentEvent(data: "first"),
        ServerSentEvent(type: "update", data: "line one\nline two\n", id: "7"),
        ServerSentEvent(data: "héllo wörld 😀", id: "7"),
        ServerSentEvent(data: "{\"choices\":[]}", id: "7"),
    ]

    @Test("a whole stream parses into its events; the unfinished one is held back")
    func whole() {
        var parser = ServerSentEventParser()
        #expect(parser.parse(Self.stream) == Self.expected)
    }

    @Test("split in two at every byte boundary, the stream parses the same")
    func everySplit() {
        for split in 0...Self.stream.count {
            var parser = ServerSentEventParser()
            let events = parser.parse(Self.stream[..<split]) + parser.parse(Self.stream[split...])
            #expect(events == Self.expected, "split at byte \(split)")
        }
    }

    @Test("fed a byte at a time, the stream parses the same")
    func byteByByte() {
        var parser = ServerSentEventParser()
        #expect(Self.stream.flatMap { parser.parse([$0]) } == Self.expected)
    }

    @Test("a CRLF split between chunks is one line end, not two")
    func splitCRLF() {
        var parser = ServerSentEventParser()
        #expect(parser.parse(Array("data: a\r".utf8)).isEmpty)
        #expect(parser.parse(Array("\ndata: b\r\n".utf8)).isEmpty)
        #expect(parser.parse(Array("\r\n".utf8)) == [ServerSentEvent(data: "a\nb")])
    }
}
