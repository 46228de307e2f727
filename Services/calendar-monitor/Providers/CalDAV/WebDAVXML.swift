import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An XML element as WebDAV needs it: namespace-qualified name, attributes, children and the
/// character data directly inside it. Built with Foundation's XMLParser (namespaces processed,
/// external entities never resolved).
struct XMLElementNode: Sendable, Equatable {
    var namespace: String
    var name: String
    var attributes: [String: String] = [:]
    var children: [XMLElementNode] = []
    /// Character data and CDATA directly inside this element, concatenated, untrimmed.
    var text: String = ""

    func child(_ namespace: String, _ name: String) -> XMLElementNode? {
        children.first { $0.namespace == namespace && $0.name == name }
    }

    func children(_ namespace: String, _ name: String) -> [XMLElementNode] {
        children.filter { $0.namespace == namespace && $0.name == name }
    }

    /// The first element of that name at any depth below this one.
    func descendant(_ namespace: String, _ name: String) -> XMLElementNode? {
        for child in children {
            if child.namespace == namespace && child.name == name { return child }
            if let found = child.descendant(namespace, name) { return found }
        }
        return nil
    }

    var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    struct ParseError: Error, CustomStringConvertible {
        var message: String
        var description: String { "the server's XML could not be read: \(message)" }
    }

    /// Parses a whole document and returns its root element.
    static func parse(_ bytes: [UInt8]) throws -> XMLElementNode {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        let finished = parser.parse()
        if let message = builder.failure {
            throw ParseError(message: message)
        }
        guard finished, let root = builder.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "not a complete XML document"
            throw ParseError(message: "\(reason) (line \(parser.lineNumber))")
        }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [XMLElementNode] = []
        var root: XMLElementNode?
        var failure: String?

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            // With namespace processing the element name is the local name; strip a prefix in case
            // a platform hands back the qualified one.
            let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
            stack.append(XMLElementNode(namespace: namespaceURI ?? "", name: local, attributes: attributes))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard let finished = stack.popLast() else { return }
            if stack.isEmpty {
                root = finished
            } else {
                stack[stack.count - 1].children.append(finished)
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: block, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            if failure == nil { failure = "\(parseError.localizedDescription) (line \(parser.lineNumber))" }
        }
    }
}

/// The namespaces CalDAV speaks.
enum DAVNamespace {
    static let dav = "DAV:"
    static let caldav = "urn:ietf:params:xml:ns:caldav"
}

/// A WebDAV 207 Multi-Status body (RFC 4918 §14.16), with the sync-token of RFC 6578.
struct DAVMultistatus: Sendable, Equatable {
    struct PropStat: Sendable, Equatable {
        /// The status of these properties (200 found, 404 not found, 403…).
        var status: Int
        var properties: [XMLElementNode]
    }

    struct Response: Sendable, Equatable {
        /// As the server wrote it (usually an absolute path, percent-encoded).
        var href: String
        /// A status for the whole resource: 404 for a member removed since the sync token,
        /// 507 on the collection itself for a truncated result.
        var status: Int?
        var propstats: [PropStat]
        /// Local names of the DAV:error children (e.g. number-of-matches-within-limits).
        var errors: [String]

        /// A property the server returned with status 200.
        func property(_ namespace: String, _ name: String) -> XMLElementNode? {
            for propstat in propstats where (200..<300).contains(propstat.status) {
                if let found = propstat.properties.first(where: { $0.namespace == namespace && $0.name == name }) {
                    return found
                }
            }
            return nil
        }

        /// Whether this response reports the resource as gone: a 404 (or 410) for the whole
        /// response, as RFC 6578 §3.5.2 reports removed members, or — as some servers write
        /// it — only 404 propstats and none found. A 404 propstat beside a 200 one merely
        /// says a property is missing.
        var isRemoved: Bool {
            if let status { return status == 404 || status == 410 }
            return !propstats.isEmpty && !propstats.contains { (200..<300).contains($0.status) }
                && propstats.contains { $0.status == 404 || $0.status == 410 }
        }
    }

    var responses: [Response]
    /// DAV:sync-token of a sync-collection report.
    var syncToken: String?

    init(responses: [Response], syncToken: String? = nil) {
        self.responses = responses
        self.syncToken = syncToken
    }

    init(parsing bytes: [UInt8]) throws {
        let root = try XMLElementNode.parse(bytes)
        guard root.namespace == DAVNamespace.dav, root.name == "multistatus" else {
            throw XMLElementNode.ParseError(message: "expected a DAV:multistatus, found \(root.namespace) \(root.name)")
        }
        syncToken = root.child(DAVNamespace.dav, "sync-token").map(\.trimmedText).flatMap { $0.isEmpty ? nil : $0 }
        responses = root.children(DAVNamespace.dav, "response").compactMap { element in
            // RFC 4918 allows several hrefs only with a response-level status; the first is enough.
            guard let href = element.child(DAVNamespace.dav, "href")?.trimmedText, !href.isEmpty else { return nil }
            let propstats = element.children(DAVNamespace.dav, "propstat").map { propstat in
                PropStat(
                    status: propstat.child(DAVNamespace.dav, "status").flatMap { Self.statusCode($0.text) } ?? 200,
                    properties: propstat.child(DAVNamespace.dav, "prop")?.children ?? [])
            }
            return Response(
                href: href,
                status: element.child(DAVNamespace.dav, "status").flatMap { Self.statusCode($0.text) },
                propstats: propstats,
                errors: element.child(DAVNamespace.dav, "error")?.children.map(\.name) ?? [])
        }
    }

    /// `HTTP/1.1 404 Not Found` → 404.
    static func statusCode(_ line: String) -> Int? {
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return nil }
        return Int(parts[1])
    }
}

extension String {
    /// Escaped for XML character data and attribute values.
    var xmlEscaped: String {
        var result = ""
        result.reserveCapacity(count)
        for character in self {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
