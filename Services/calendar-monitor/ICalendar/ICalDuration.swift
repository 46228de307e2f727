import Foundation

/// An RFC 5545 DURATION such as `PT1H30M`, `P1D`, `P2W` or `-PT15M`.
///
/// Days and weeks are nominal (a day across a DST change is 23 or 25 hours) while hours,
/// minutes and seconds are exact, as §3.3.6 requires; that is why this is not a TimeInterval.
struct ICalDuration: Sendable, Equatable {
    var isNegative = false
    var weeks = 0
    var days = 0
    var hours = 0
    var minutes = 0
    var seconds = 0

    func added(to date: Date, in timeZone: TimeZone) -> Date {
        let sign = isNegative ? -1 : 1
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let nominalDays = sign * (weeks * 7 + days)
        let afterDays =
            nominalDays == 0
            ? date
            : calendar.date(byAdding: .day, value: nominalDays, to: date) ?? date.addingTimeInterval(Double(nominalDays) * 86_400)
        let exactSeconds = Double(hours) * 3600 + Double(minutes) * 60 + Double(seconds)
        return afterDays.addingTimeInterval(Double(sign) * exactSeconds)
    }

    static func parse(_ raw: String, line: Int) throws -> ICalDuration {
        let text = raw.trimmingCharacters(in: .whitespaces).uppercased()
        func invalid() -> ICalendarError {
            ICalendarError(
                line: line,
                message: "DURATION '\(ICalendar.abbreviated(raw))' is not an RFC 5545 duration "
                    + "(examples: PT1H30M, P1D, P2W, -PT15M)")
        }

        var duration = ICalDuration()
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" {
            duration.isNegative = rest.first == "-"
            rest = rest.dropFirst()
        }
        guard rest.first == "P" else { throw invalid() }
        rest = rest.dropFirst()

        var inTimePart = false
        var sawAnyField = false
        var sawFieldSinceT = false
        var digits = ""
        for character in rest {
            if character.isASCIIDigitForICal {
                digits.append(character)
                continue
            }
            if character == "T" {
                guard !inTimePart, digits.isEmpty else { throw invalid() }
                inTimePart = true
                continue
            }
            guard let value = Int(digits) else { throw invalid() }
            digits = ""
            switch (character, inTimePart) {
            case ("W", false): duration.weeks = value
            case ("D", false): duration.days = value
            case ("H", true): duration.hours = value
            case ("M", true): duration.minutes = value
            case ("S", true): duration.seconds = value
            default: throw invalid()
            }
            sawAnyField = true
            if inTimePart { sawFieldSinceT = true }
        }
        guard digits.isEmpty, sawAnyField, !inTimePart || sawFieldSinceT else { throw invalid() }
        return duration
    }
}

extension ICalDuration {
    /// Like `added(to:in:)` for a `TimeZone`, for any zone: days and weeks are nominal (on the
    /// zone's wall clock), hours, minutes and seconds exact.
    func added(to date: Date, in zone: ICalZone) -> Date {
        switch zone {
        case .foundation(let timeZone):
            return added(to: date, in: timeZone)
        case .custom:
            let sign = isNegative ? -1 : 1
            let nominalDays = sign * (weeks * 7 + days)
            var afterDays = date
            if nominalDays != 0 {
                var local = zone.local(from: date)
                local.date = local.date.adding(days: nominalDays)
                afterDays = zone.date(from: local)
            }
            let exactSeconds = Double(hours) * 3600 + Double(minutes) * 60 + Double(seconds)
            return afterDays.addingTimeInterval(Double(sign) * exactSeconds)
        }
    }
}
