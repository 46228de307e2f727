import Foundation

/// The fields of an `application/x-www-form-urlencoded` body, as OAuth clients send token
/// requests to the fake vendors' token endpoints.
public func formFields(_ body: String) -> [String: String] {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ text: Substring) -> String {
            text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
        }
        fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return fields
}
