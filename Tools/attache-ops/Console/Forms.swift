import Foundation

/// `application/x-www-form-urlencoded` fields, as browsers send them in a query or a POST body:
/// `+` is a space, the rest percent-encoded. A name given twice keeps its first value.
struct FormFields: Sendable {
    let values: [String: String]

    init(_ encoded: String?) {
        var values: [String: String] = [:]
        for pair in (encoded ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? Self.decode(parts[1]) : "" }
        }
        self.values = values
    }

    /// The field's value, trimmed; nil when missing or blank.
    subscript(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    private static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }
}

/// A field an operator filled in that cannot be used, named in the page's message.
struct FieldError: Error {
    var field: String
    var problem: String
}

/// `YYYY-MM-DD` (what `<input type="date">` sends) as midnight UTC.
func day(_ text: String?, field: String) throws(FieldError) -> Date? {
    guard let text else { return nil }
    let parts = text.split(separator: "-").compactMap { Int($0) }
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = .gmt
    guard parts.count == 3, text.count == 10,
        let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
        calendar.component(.day, from: date) == parts[2]
    else { throw FieldError(field: field, problem: "must be a date as YYYY-MM-DD, not '\(text)'") }
    return date
}
