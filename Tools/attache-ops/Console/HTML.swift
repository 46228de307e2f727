import Foundation
import Runtime

/// Markup whose interpolated strings are escaped: a value from the database can only ever be
/// text on the page. Only other `HTML` values go in as markup.
public struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String

    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }
    public init(_ parts: [HTML]) { text = parts.map(\.text).joined() }
    public var description: String { text }

    public struct Interpolation: StringInterpolationProtocol {
        var text = ""
        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity * 2) }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        public mutating func appendInterpolation(_ value: String) { text += HTMLEscaping.escape(value) }
        public mutating func appendInterpolation(_ value: String?) { text += HTMLEscaping.escape(value ?? "") }
        public mutating func appendInterpolation(_ value: Int) { text += String(value) }
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }
        public mutating func appendInterpolation(_ values: [HTML]) { for value in values { text += value.text } }
    }
}

/// A query string whose values are percent-encoded, for links that keep a page's filters.
func queryString(_ items: [(String, String?)]) -> String {
    var components = URLComponents()
    components.queryItems = items.compactMap { name, value in
        guard let value, !value.isEmpty else { return nil }
        return URLQueryItem(name: name, value: value)
    }
    // `+` is a space in form decoding: encode it so that a value round-trips.
    return (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
}

extension Date {
    /// As operators read it in a list: UTC, to the second.
    var consoleText: String {
        formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().time(includingFractionalSeconds: false))
    }
}
