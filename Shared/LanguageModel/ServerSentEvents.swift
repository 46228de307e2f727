/// One event of a `text/event-stream`.
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the server named none.
    public var type: String
    /// The `data:` lines, joined with "\n".
    public var data: String
    /// The last event ID the stream set, carried over from earlier events as the format says.
    public var id: String?

    public init(type: String = "message", data: String, id: String? = nil) {
        self.type = type
        self.data = data
        self.id = id
    }
}

/// Parses a `text/event-stream` as its bytes arrive, following the HTML Living Standard's
/// "Server-sent events" interpretation rules: lines end with CRLF, LF or CR; a blank line
/// dispatches the event; lines starting with ":" are comments; `data:` lines accumulate.
///
/// Chunks may be split anywhere, even inside a CRLF pair or a UTF-8 sequence: bytes are kept
/// until their line ends, and only whole lines are decoded.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    /// The previous chunk ended with CR, so an LF starting this one belongs to that line end.
    private var afterCR = false
    private var atStreamStart = true
    private var data = ""
    private var type = ""
    private var lastEventID: String?

    public init() {}

    /// The events that `chunk` completes, in order. An event still open when the stream ends
    /// is never dispatched: the format treats it as cut off.
    public mutating func parse(_ chunk: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in chunk {
            if afterCR {
                afterCR = false
                if byte == lineFeed { continue }
            }
            if byte == carriageReturn || byte == lineFeed {
                afterCR = byte == carriageReturn
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: byteOrderMark) { line.removeFirst(byteOrderMark.count) }
        }
        // Invalid UTF-8 becomes U+FFFD, as the format's decoding asks.
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        if text.isEmpty { return dispatch() }
        if text.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "event": type = String(value)
        case "data":
            data += value
            data += "\n"
        case "id" where !value.contains("\0"): lastEventID = String(value)
        default: break  // "retry" and unknown fields: this client does not reconnect
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data = ""
            type = ""
        }
        guard !data.isEmpty else { return nil }
        return ServerSentEvent(type: type.isEmpty ? "message" : type, data: String(data.dropLast()), id: lastEventID)
    }
}

private let lineFeed = UInt8(ascii: "\n")
private let carriageReturn = UInt8(ascii: "\r")
private let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
