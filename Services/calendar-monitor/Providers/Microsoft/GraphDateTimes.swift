import Foundation
import ICalendar

/// Reading Graph's `dateTimeTimeZone` values.
extension MicrosoftGraphProvider {
    /// A `dateTimeTimeZone`: `2026-12-09T10:00:00.0000000` in the named zone (UTC, an IANA or a
    /// Windows name). All-day values are dates, read at midnight in `defaultTimeZone`.
    static func date(from value: GraphDateTime?, isAllDay: Bool, defaultTimeZone: TimeZone) -> Date? {
        guard let value, let local = LocalDateTime(value.dateTime) else { return nil }
        let zone: TimeZone
        if isAllDay {
            zone = defaultTimeZone
        } else if let offset = local.utcOffset {
            zone = TimeZone(secondsFromGMT: offset) ?? .gmt
        } else {
            zone = timeZone(named: value.timeZone) ?? defaultTimeZone
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var components = DateComponents(year: local.year, month: local.month, day: local.day)
        if isAllDay {
            components.hour = 0
            components.minute = 0
            components.second = 0
        } else {
            components.hour = local.hour
            components.minute = local.minute
            components.second = local.second
            components.nanosecond = local.nanosecond
        }
        return calendar.date(from: components)
    }

    static func timeZone(named name: String?) -> TimeZone? {
        guard let name = name?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { return .gmt }
        let lowered = name.lowercased()
        // Graph also writes "tzone://Microsoft/Utc" for UTC.
        if ["utc", "gmt", "z", "etc/utc"].contains(lowered) || lowered.hasSuffix("/utc") { return .gmt }
        return WindowsTimeZones.timeZone(forTZID: name)
    }

    /// `YYYY-MM-DD[THH:MM[:SS[.fffffff]]][Z|±HH:MM]`, checked field by field.
    struct LocalDateTime: Equatable {
        var year, month, day: Int
        var hour = 0, minute = 0, second = 0, nanosecond = 0
        var utcOffset: Int?

        init?(_ text: String) {
            let text = text.trimmingCharacters(in: .whitespaces)
            let parts = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
            let dateFields = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard dateFields.count == 3, dateFields[0].count == 4, dateFields[1].count == 2, dateFields[2].count == 2,
                let year = Int(dateFields[0]), let month = Int(dateFields[1]), let day = Int(dateFields[2]),
                (1...12).contains(month), (1...31).contains(day)
            else { return nil }
            (self.year, self.month, self.day) = (year, month, day)
            guard parts.count == 2 else { return }

            var time = Substring(parts[1])
            if time.hasSuffix("Z") || time.hasSuffix("z") {
                utcOffset = 0
                time = time.dropLast()
            } else if let signIndex = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
                let offset = time[time.index(after: signIndex)...].split(separator: ":")
                guard offset.count == 2, let hours = Int(offset[0]), let minutes = Int(offset[1]) else { return nil }
                utcOffset = (time[signIndex] == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
                time = time[..<signIndex]
            }
            let clock = time.split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(clock.count), let hour = Int(clock[0]), let minute = Int(clock[1]),
                (0...23).contains(hour), (0...59).contains(minute)
            else { return nil }
            (self.hour, self.minute) = (hour, minute)
            if clock.count == 3 {
                let secondParts = clock[2].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                guard let second = Int(secondParts[0]), (0...60).contains(second) else { return nil }
                self.second = min(second, 59)
                if secondParts.count == 2 {
                    let digits = secondParts[1].prefix(9)
                    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                        let fraction = Int(digits)
                    else { return nil }
                    nanosecond = fraction * Int(pow(10, Double(9 - digits.count)))
                }
            }
        }
    }
}
