import Foundation

extension MicrosoftGraphProvider {
    /// Readable text from an HTML body: block ends and `<br>` become line breaks, a link keeps
    /// its address (`Join <https://…>`, as Outlook's own text rendering does), entities are decoded.
    static func plainText(fromHTML html: String) -> String {
        func replacing(_ pattern: String, with template: String, in text: String) -> String {
            text.replacingOccurrences(of: pattern, with: template, options: [.regularExpression, .caseInsensitive])
        }
        var text = html
        text = replacing("<!--[\\s\\S]*?-->", with: "", in: text)
        text = replacing("<(head|style|script|title)\\b[\\s\\S]*?</\\1\\s*>", with: "", in: text)
        text = replacing("\\s+", with: " ", in: text)  // in HTML, line breaks in the source are spaces
        // The link's address goes between private-use marks, so that stripping tags leaves it be.
        text = replacing(
            "<a\\b[^>]*?\\bhref\\s*=\\s*\"(https?://[^\"]*)\"[^>]*>([\\s\\S]*?)</a\\s*>", with: "$2 \u{E000}$1\u{E001}", in: text)
        text = replacing("(https?://[^\\s<]+) \u{E000}\\1\u{E001}", with: "$1", in: text)  // the text was the address
        text = replacing("<br\\s*/?>", with: "\n", in: text)
        text = replacing("</(p|div|li|tr|h[1-6]|table|blockquote)\\s*>", with: "\n", in: text)
        text = replacing("<[^>]*>", with: "", in: text)
        text = decodingEntities(text)
            .replacingOccurrences(of: "\u{E000}", with: "<").replacingOccurrences(of: "\u{E001}", with: ">")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "\u{00A0}", with: " ").trimmingCharacters(in: .whitespaces)
        }
        var result: [String] = []
        for line in lines where !(line.isEmpty && (result.last?.isEmpty ?? true)) {
            result.append(line)
        }
        return result.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}", "ndash": "–", "mdash": "—",
        "hellip": "…", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "bull": "•", "copy": "©", "reg": "®",
    ]

    static func decodingEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            rest = rest[ampersand...]
            guard let semicolon = rest.prefix(12).firstIndex(of: ";") else {
                result.append("&")
                rest = rest.dropFirst()
                continue
            }
            let name = rest[rest.index(after: rest.startIndex)..<semicolon]
            var decoded: String?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                decoded = UInt32(name.dropFirst(2), radix: 16).flatMap { Unicode.Scalar($0) }.map { String(Character($0)) }
            } else if name.hasPrefix("#") {
                decoded = UInt32(name.dropFirst()).flatMap { Unicode.Scalar($0) }.map { String(Character($0)) }
            } else {
                decoded = namedEntities[name.lowercased()]
            }
            if let decoded {
                result += decoded
                rest = rest[rest.index(after: semicolon)...]
            } else {
                result.append("&")
                rest = rest.dropFirst()
            }
        }
        return result + rest
    }
}
