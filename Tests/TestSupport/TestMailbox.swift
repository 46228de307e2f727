import Foundation
import Testing

/// An address at the stack's SMTP server that no other test uses, and the messages the server
/// delivered to it (one file each, named after it, in the Maildir's new/).
public struct TestMailbox: Sendable {
    public let address: String
    public let maildir: URL

    public func delivered() throws -> [DeliveredMail] {
        try files().sorted { $0.path < $1.path }.map { file in
            let raw = try [UInt8](Data(contentsOf: file))
            let text = String(decoding: raw, as: UTF8.self)
            // The server's Return-Path and Delivered-To lines come before the message.
            let prefix = text.components(separatedBy: "\r\n").prefix(2).map { $0.utf8.count + 2 }.reduce(0, +)
            return DeliveredMail(raw: raw, serverPrefixLength: prefix)
        }
    }

    public func removeDelivered() throws {
        for file in try files() { try FileManager.default.removeItem(at: file) }
    }

    private func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: maildir.appendingPathComponent("new"), includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasSuffix(".\(address)") }
    }
}

/// Mailboxes with fresh addresses (`prefix-<random>@attache.test`, so the server's policy still
/// applies to `unknown` and `busy`), their delivered files removed when `body` ends.
public func withMailboxes<T>(_ prefixes: [String], _ body: ([TestMailbox]) async throws -> T) async throws -> T {
    let maildir = URL(fileURLWithPath: try TestStack.smtp().maildir)
    let boxes = prefixes.map {
        TestMailbox(address: "\($0)-\(UUID().uuidString.prefix(8).lowercased())@attache.test", maildir: maildir)
    }
    return try await using(boxes, tearDown: { boxes in for box in boxes { try box.removeDelivered() } }, body)
}

/// A delivered (or rendered) message, read the way a mail program would.
public struct DeliveredMail: Sendable {
    public struct Part: Sendable {
        public var contentType: String
        public var encoded: String
        public var text: String
    }

    public let raw: [UInt8]
    public let serverPrefixLength: Int

    public init(raw: [UInt8], serverPrefixLength: Int) {
        self.raw = raw
        self.serverPrefixLength = serverPrefixLength
    }

    private var message: String { String(decoding: raw, as: UTF8.self) }

    /// The first header of that name, unfolded.
    public func header(_ name: String) -> String? {
        Self.header(name, in: message.components(separatedBy: "\r\n\r\n")[0])
    }

    public func parts() throws -> [Part] {
        let contentType = try #require(header("Content-Type"))
        let boundary = try #require(contentType.components(separatedBy: "boundary=\"").last?.dropLast())
        let body = message.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        var parts: [Part] = []
        // The first section is the (empty) preamble, the last the closing delimiter's "--".
        for section in ("\r\n" + body).components(separatedBy: "\r\n--\(boundary)").dropFirst().dropLast() {
            let split = try #require(section.range(of: "\r\n\r\n"))
            let encoded = String(section[split.upperBound...])
            let type = try #require(Self.header("Content-Type", in: String(section[..<split.lowerBound])))
            parts.append(Part(contentType: type, encoded: encoded, text: decodeQuotedPrintable(encoded)))
        }
        return parts
    }

    private static func header(_ name: String, in head: String) -> String? {
        let unfolded = head.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: "\t")
        let prefix = name.lowercased() + ":"
        return unfolded.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
    }
}

/// RFC 2045 §6.7, read back: `=XX` is a byte, `=` at a line's end joins it to the next.
public func decodeQuotedPrintable(_ text: String) -> String {
    let input = Array(text.utf8)
    var output: [UInt8] = []
    var index = 0
    while index < input.count {
        if input[index...].starts(with: "=\r\n".utf8) {
            index += 3
        } else if input[index] == UInt8(ascii: "="), index + 2 < input.count,
            let byte = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
        {
            output.append(byte)
            index += 3
        } else {
            output.append(input[index])
            index += 1
        }
    }
    return String(decoding: output, as: UTF8.self)
}

/// RFC 2047, read back: `=?utf-8?B?…?=` words decoded, the space between two of them dropped.
public func decodeEncodedWords(_ value: String) -> String {
    var pieces: [(encoded: Bool, bytes: [UInt8])] = []
    for word in value.split(separator: " ") {
        guard word.hasPrefix("=?utf-8?B?"), word.hasSuffix("?="),
            let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
        else {
            pieces.append((false, Array(word.utf8)))
            continue
        }
        if pieces.last?.encoded == true { pieces[pieces.count - 1].bytes += data } else { pieces.append((true, Array(data))) }
    }
    return pieces.map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: " ")
}
