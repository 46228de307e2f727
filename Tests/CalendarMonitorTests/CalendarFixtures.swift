import Foundation
import Testing

/// An iCalendar file from Fixtures/, as the calendar that wrote it: CRLF line ends, which
/// .gitattributes keeps as they are.
func calendarFixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "ics", subdirectory: "Fixtures"))
    return try String(contentsOf: url, encoding: .utf8)
}
