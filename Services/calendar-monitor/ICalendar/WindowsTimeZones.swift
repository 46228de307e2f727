import Foundation

/// Exchange and Outlook write Windows zone names (`TZID:W. Europe Standard Time`) instead of
/// IANA identifiers, and Foundation only knows IANA. This maps the common ones, following the
/// "001" (primary) territory of CLDR's windowsZones table.
public enum WindowsTimeZones {
    static let ianaByWindowsName: [String: String] = [
        // Americas
        "Dateline Standard Time": "Etc/GMT+12",
        "Hawaiian Standard Time": "Pacific/Honolulu",
        "Alaskan Standard Time": "America/Anchorage",
        "Pacific Standard Time": "America/Los_Angeles",
        "Pacific Standard Time (Mexico)": "America/Tijuana",
        "US Mountain Standard Time": "America/Phoenix",
        "Mountain Standard Time": "America/Denver",
        "Central Standard Time": "America/Chicago",
        "Central Standard Time (Mexico)": "America/Mexico_City",
        "Central America Standard Time": "America/Guatemala",
        "Canada Central Standard Time": "America/Regina",
        "Eastern Standard Time": "America/New_York",
        "US Eastern Standard Time": "America/Indiana/Indianapolis",
        "SA Pacific Standard Time": "America/Bogota",
        "Atlantic Standard Time": "America/Halifax",
        "Newfoundland Standard Time": "America/St_Johns",
        "E. South America Standard Time": "America/Sao_Paulo",
        "Argentina Standard Time": "America/Argentina/Buenos_Aires",
        "Pacific SA Standard Time": "America/Santiago",
        // Europe and Africa
        "UTC": "Etc/UTC",
        "Greenwich Standard Time": "Atlantic/Reykjavik",
        "GMT Standard Time": "Europe/London",
        "W. Europe Standard Time": "Europe/Berlin",
        "Romance Standard Time": "Europe/Paris",
        "Central Europe Standard Time": "Europe/Budapest",
        "Central European Standard Time": "Europe/Warsaw",
        "W. Central Africa Standard Time": "Africa/Lagos",
        "GTB Standard Time": "Europe/Bucharest",
        "FLE Standard Time": "Europe/Kiev",
        "E. Europe Standard Time": "Europe/Chisinau",
        "Israel Standard Time": "Asia/Jerusalem",
        "Egypt Standard Time": "Africa/Cairo",
        "South Africa Standard Time": "Africa/Johannesburg",
        "Morocco Standard Time": "Africa/Casablanca",
        "Turkey Standard Time": "Europe/Istanbul",
        "Russian Standard Time": "Europe/Moscow",
        "E. Africa Standard Time": "Africa/Nairobi",
        // Middle East and Asia
        "Arab Standard Time": "Asia/Riyadh",
        "Arabian Standard Time": "Asia/Dubai",
        "Iran Standard Time": "Asia/Tehran",
        "Pakistan Standard Time": "Asia/Karachi",
        "West Asia Standard Time": "Asia/Tashkent",
        "India Standard Time": "Asia/Kolkata",
        "Nepal Standard Time": "Asia/Kathmandu",
        "Bangladesh Standard Time": "Asia/Dhaka",
        "SE Asia Standard Time": "Asia/Bangkok",
        "Singapore Standard Time": "Asia/Singapore",
        "China Standard Time": "Asia/Shanghai",
        "Taipei Standard Time": "Asia/Taipei",
        "Korea Standard Time": "Asia/Seoul",
        "Tokyo Standard Time": "Asia/Tokyo",
        // Oceania
        "W. Australia Standard Time": "Australia/Perth",
        "Cen. Australia Standard Time": "Australia/Adelaide",
        "E. Australia Standard Time": "Australia/Brisbane",
        "AUS Eastern Standard Time": "Australia/Sydney",
        "Tasmania Standard Time": "Australia/Hobart",
        "New Zealand Standard Time": "Pacific/Auckland",
    ]

    /// Windows names are matched case-insensitively: hand-edited and third-party exports do
    /// not always keep Microsoft's capitalisation.
    private static let ianaByLowercasedWindowsName: [String: String] = Dictionary(
        uniqueKeysWithValues: ianaByWindowsName.map { ($0.key.lowercased(), $0.value) })

    static func ianaIdentifier(forWindowsName name: String) -> String? {
        ianaByLowercasedWindowsName[name.trimmingCharacters(in: .whitespaces).lowercased()]
    }

    /// Resolves a TZID parameter: an IANA identifier, a Windows name, or a Mozilla/Lightning
    /// style path such as `/mozilla.org/20050126_1/Europe/Berlin`. Returns nil when none of
    /// these fits, so the caller can fall back to the calendar owner's zone instead of
    /// rejecting the event.
    public static func timeZone(forTZID tzid: String) -> TimeZone? {
        let trimmed = tzid.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let windows = ianaIdentifier(forWindowsName: trimmed), let zone = TimeZone(identifier: windows) {
            return zone
        }
        // IANA names, including the slash-less ones some producers use (CET, EST5EDT).
        if let zone = TimeZone(identifier: trimmed) {
            return zone
        }
        if ["UTC", "GMT", "Z"].contains(trimmed.uppercased()) {
            return .gmt
        }
        let pathParts = trimmed.split(separator: "/")
        for suffixLength in [3, 2] where pathParts.count > suffixLength {
            let candidate = pathParts.suffix(suffixLength).joined(separator: "/")
            if let zone = TimeZone(identifier: candidate) {
                return zone
            }
        }
        return nil
    }
}
