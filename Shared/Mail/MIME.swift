import Foundation

/// The encodings a message's headers and bodies need to cross SMTP as 7-bit lines of at most
/// 78 characters (RFC 5322 §2.1.1, RFC 2045, RFC 2047).
enum MIME {
    static let lineLimit = 78

    static func rejectLineBreaks(_ value: String, field: String) throws {
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) { throw MailMessageError.lineBreak(field: field) }
    }

    /// Printable ASCII other than the characters that delimit addresses and lists in headers.
    static func isAddressScalar(_ scalar: Unicode.Scalar) -> Bool {
        (0x21...0x7E).contains(scalar.value) && !"<>()[]\\,;:\"".unicodeScalars.contains(scalar)
    }

    /// `Name: token token …`, folded (CRLF and the space before a token) where a line would pass
    /// 78 characters. A token longer than a line stays whole on a line of its own.
    static func field(_ name: String, _ tokens: [String]) -> String {
        var lines: [String] = []
        var line = name + ":"
        var tokensOnLine = 0
        for token in tokens {
            // Never before an empty token: a folded line must not be only whitespace.
            if tokensOnLine > 0, !token.isEmpty, line.utf8.count + 1 + token.utf8.count > lineLimit {
                lines.append(line)
                line = ""
                tokensOnLine = 0
            }
            line += " " + token
            tokensOnLine += 1
        }
        return (lines + [line]).joined(separator: "\r\n")
    }

    /// A list's items, each a run of tokens, with a comma after every item but the last.
    static func commaSeparated(_ items: [[String]]) -> [String] {
        items.enumerated().flatMap { index, tokens in
            index == items.count - 1 ? tokens : tokens.dropLast() + [tokens[tokens.count - 1] + ","]
        }
    }

    /// A display name and address: `"Name" <address>`, the name in encoded words when it is not
    /// plain ASCII.
    static func mailboxTokens(_ mailbox: MailAddress) -> [String] {
        guard let name = mailbox.displayName, !name.isEmpty else { return [mailbox.address] }
        if needsEncoding(name) { return encodedWords(name) + ["<\(mailbox.address)>"] }
        let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return ["\"\(quoted)\"", "<\(mailbox.address)>"]
    }

    /// Free text (Subject): its words, or encoded words when it is not plain ASCII.
    static func unstructuredTokens(_ text: String) -> [String] {
        if text.isEmpty { return [] }
        if needsEncoding(text) { return encodedWords(text) }
        return text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    }

    /// Anything but printable ASCII, and anything a reader could take for an encoded word.
    static func needsEncoding(_ text: String) -> Bool {
        text.contains("=?") || !text.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
    }

    /// `=?utf-8?B?…?=` words of at most 39 bytes of text each, split between characters (RFC 2047
    /// §5: each word decodes on its own): with `Subject: ` before it the first stays within 78.
    static func encodedWords(_ text: String) -> [String] {
        var chunks: [[UInt8]] = [[]]
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunks[chunks.count - 1].count + bytes.count > 39 { chunks.append([]) }
            chunks[chunks.count - 1] += bytes
        }
        return chunks.map { "=?utf-8?B?\(Data($0).base64EncodedString())?=" }
    }

    /// Quoted-printable (RFC 2045 §6.7): lines end in CRLF whatever the text used; encoded lines
    /// are at most 76 characters, longer ones broken with a soft `=`; `=`, bytes outside
    /// printable ASCII and whitespace ending a line are escaped. A `.` starting a line stays: SMTP's
    /// dot-stuffing is libcurl's.
    static func quotedPrintable(_ text: String) -> String {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var output: [String] = []
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            let bytes = Array(line.utf8)
            var encoded = ""
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal = (byte == 0x20 || byte == 0x09) ? !isLast : (0x21...0x7E).contains(byte) && byte != 0x3D
                let token = literal ? String(UnicodeScalar(byte)) : "=" + hex(byte)
                // Room for the soft break's "=", except after the line's last token.
                if encoded.utf8.count + token.utf8.count > (isLast ? 76 : 75) {
                    output.append(encoded + "=")
                    encoded = ""
                }
                encoded += token
            }
            output.append(encoded)
        }
        return output.joined(separator: "\r\n")
    }

    /// RFC 5322 §3.3, in UTC: `Thu, 21 Nov 2024 06:17:18 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    /// FNV-1a, 64 bits: stable across processes, unlike `Hasher`.
    static func hexHash(_ text: String) -> String {
        let hash = text.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16, uppercase: false).leftPadded(to: 16)
    }

    private static func hex(_ byte: UInt8) -> String { String(byte, radix: 16, uppercase: true).leftPadded(to: 2) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
