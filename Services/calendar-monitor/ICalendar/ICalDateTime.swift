import Foundation

/// A calendar date with no zone attached: what `20261124`, or the date part of
/// `20261124T100000`, says. Recurrence rules are defined on such wall-clock values (a weekly
/// 10:00 meeting stays at 10:00 across a DST change), so expansion works on these and only
/// converts to instants at the end. The arithmetic is plain proleptic-Gregorian integer
/// arithmetic (H. Hinnant's days-from-civil), which is fast and independent of Foundation's
/// Calendar (whose Gregorian calendar turns Julian before 1582 — irrelevant for meetings).
struct ICalLocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01.
    init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 (negative before).
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    var weekday: Int { ((dayNumber + 3) % 7 + 7) % 7 }

    /// 1 for 1 January.
    var dayOfYear: Int { dayNumber - ICalLocalDate(year: year, month: 1, day: 1).dayNumber + 1 }

    func adding(days: Int) -> ICalLocalDate { days == 0 ? self : ICalLocalDate(dayNumber: dayNumber + days) }

    static func isLeapYear(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(year: Int) -> Int { isLeapYear(year) ? 366 : 365 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    var isValid: Bool { (1...12).contains(month) && day >= 1 && day <= Self.daysIn(month: month, year: year) }

    static func < (lhs: ICalLocalDate, rhs: ICalLocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }
}

/// A wall-clock date and time with no zone attached.
struct ICalLocalDateTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    var date: ICalLocalDate
    var hour = 0
    var minute = 0
    var second = 0

    init(date: ICalLocalDate, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// Seconds since 1970-01-01T00:00:00 on this wall clock, as though it were UTC.
    init(secondsSinceEpoch: Int64) {
        let days = Int((secondsSinceEpoch >= 0 ? secondsSinceEpoch : secondsSinceEpoch - 86_399) / 86_400)
        let secondOfDay = Int(secondsSinceEpoch - Int64(days) * 86_400)
        date = ICalLocalDate(dayNumber: days)
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
    }

    var secondsSinceEpoch: Int64 {
        Int64(date.dayNumber) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func < (lhs: ICalLocalDateTime, rhs: ICalLocalDateTime) -> Bool {
        (lhs.date, lhs.hour, lhs.minute, lhs.second) < (rhs.date, rhs.hour, rhs.minute, rhs.second)
    }

    var description: String {
        date.description + String(format: "T%02d:%02d:%02d", hour, minute, second)
    }

    /// Reads an RFC 5545 DATE (`20261124`) or DATE-TIME (`20261124T100000`, optionally with a
    /// trailing `Z`): the one reader of date and time text, for event properties, recurrence
    /// rules and VTIMEZONE onsets alike. Every field is checked, the day against the length of
    /// its month, so that 20260231 or 20261340 are refused instead of rolling over. A leap
    /// second (:60), which RFC 5545 allows and Foundation cannot represent, reads as :59.
    static func parse(_ raw: String) -> (value: ICalLocalDateTime, isDateOnly: Bool, isUTC: Bool)? {
        let characters = Array(raw.trimmingCharacters(in: .whitespaces))
        func number(_ range: Range<Int>) -> Int? {
            let slice = characters[range]
            guard slice.allSatisfy(\.isASCIIDigitForICal) else { return nil }
            return Int(String(slice))
        }
        guard characters.count == 8 || characters.count == 15 || characters.count == 16,
            let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            case let date = ICalLocalDate(year: year, month: month, day: day), date.isValid
        else { return nil }
        if characters.count == 8 { return (ICalLocalDateTime(date: date), true, false) }

        guard characters[8] == "T" || characters[8] == "t",
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        let isUTC = characters.count == 16
        if isUTC, characters[15] != "Z" && characters[15] != "z" { return nil }
        return (ICalLocalDateTime(date: date, hour: hour, minute: minute, second: min(second, 59)), false, isUTC)
    }
}

// MARK: - DATE and DATE-TIME property values

extension ICalendar {
    struct DateValue: Sendable, Equatable {
        var date: Date
        /// VALUE=DATE, i.e. an all-day value.
        var isDateOnly: Bool
        /// The zone the value was written in; used to add nominal days in the right zone. For a
        /// zone known only from the calendar's VTIMEZONE, a fixed zone with its offset at `date`
        /// (use `zone` for arithmetic).
        var timeZone: TimeZone
        /// The wall-clock value as written (midnight for a DATE), which recurrence rules and
        /// EXDATE/RDATE matching work on.
        var local: ICalLocalDateTime
        /// The zone the value was written in, including custom VTIMEZONE zones.
        var zone: ICalZone
    }

    /// Reads DTSTART/DTEND/RECURRENCE-ID style values: `20261121` (DATE, midnight in the
    /// default zone), `20261121T150000Z` (UTC), `20261121T150000` with a TZID, or without one
    /// (floating: in the calendar's X-WR-TIMEZONE, else in the default zone). TZIDs
    /// are resolved by `zones`, so a TZID that is neither IANA nor Windows can use the
    /// calendar's VTIMEZONE instead of the default zone.
    static func dateValue(of property: ICalProperty, zones: ICalZoneResolver) throws -> DateValue {
        let defaultTimeZone = zones.defaultTimeZone
        let raw = property.value.trimmingCharacters(in: .whitespaces)
        // Some producers omit VALUE=DATE on all-day values, so the shape of the value decides.
        let isDate =
            property.parameter("VALUE")?.uppercased() == "DATE"
            || (raw.count == 8 && raw.allSatisfy(\.isASCIIDigitForICal))
        guard let parsed = ICalLocalDateTime.parse(raw), parsed.isDateOnly == isDate else {
            throw invalidDate(
                property, expected: isDate ? "a DATE like 20261121" : "a DATE-TIME like 20261121T150000Z or 20261121T150000")
        }
        let zone: ICalZone
        if isDate {
            zone = .foundation(defaultTimeZone)
        } else if parsed.isUTC {
            zone = .foundation(.gmt)
        } else if let tzid = property.parameter("TZID") {
            zone = zones.zone(forTZID: tzid)
        } else {
            zone = .foundation(zones.floatingTimeZone)
        }
        // A wall-clock time inside a DST gap (02:30 on spring-forward day) does not exist; the
        // zone resolves it to a nearby instant, which beats dropping the event.
        let date = zone.date(from: parsed.value)
        return DateValue(
            date: date, isDateOnly: isDate, timeZone: zone.foundationTimeZone(at: date, fallback: defaultTimeZone),
            local: parsed.value, zone: zone)
    }

    private static func invalidDate(_ property: ICalProperty, expected: String) -> ICalendarError {
        ICalendarError(
            line: property.line,
            message: "\(property.name) value '\(abbreviated(property.value))' is not \(expected)")
    }
}

extension Character {
    /// `Character.isNumber` accepts Arabic-Indic and other digits that `Int(_:)` rejects.
    var isASCIIDigitForICal: Bool { isASCII && isWholeNumber }
}
