import Foundation

// MARK: - Wall-clock dates and times

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

    /// The shape of an RFC 5545 DATE (`20261124`) or DATE-TIME (`20261124T100000`, optionally
    /// with a trailing `Z`). Checks field ranges but not the length of the month, which the
    /// callers check with the calendar they convert with. A leap second (:60) reads as :59, as
    /// in `ICalendar.dateValue`.
    static func parse(_ raw: String) -> (value: ICalLocalDateTime, isDateOnly: Bool, isUTC: Bool)? {
        let characters = Array(raw.trimmingCharacters(in: .whitespaces))
        func number(_ range: Range<Int>) -> Int? {
            let slice = characters[range]
            guard slice.allSatisfy({ $0.isASCII && $0.isWholeNumber }) else { return nil }
            return Int(String(slice))
        }
        guard characters.count == 8 || characters.count == 15 || characters.count == 16,
              let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let date = ICalLocalDate(year: year, month: month, day: day)
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

// MARK: - Zones

/// The zone a DATE-TIME is written in: one Foundation knows (IANA, a mapped Windows name, UTC,
/// or the default zone for floating times and unknown names), or one defined only by the
/// calendar's own VTIMEZONE block (Outlook's "Customized Time Zone" and friends).
enum ICalZone: Sendable, Equatable {
    case foundation(TimeZone)
    case custom(ICalVTimeZone)

    /// The instant a wall-clock time names in this zone.
    ///
    /// Foundation zones resolve exactly like `ICalendar.dateValue` always has (Foundation's
    /// Calendar, which moves a time inside a DST gap forward), so an expanded first instance
    /// equals the event's DTSTART to the second. Custom zones follow RFC 5545 §3.3.5.
    func date(from local: ICalLocalDateTime) -> Date {
        switch self {
        case .foundation(let timeZone):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            let components = DateComponents(
                year: local.date.year, month: local.date.month, day: local.date.day,
                hour: local.hour, minute: local.minute, second: local.second)
            if let date = calendar.date(from: components) { return date }
            let naive = Date(timeIntervalSince1970: Double(local.secondsSinceEpoch))
            return naive.addingTimeInterval(-Double(timeZone.secondsFromGMT(for: naive)))
        case .custom(let zone):
            return zone.date(from: local)
        }
    }

    /// The wall-clock time an instant shows in this zone.
    func local(from date: Date) -> ICalLocalDateTime {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        switch self {
        case .foundation(let timeZone):
            return ICalLocalDateTime(secondsSinceEpoch: seconds + Int64(timeZone.secondsFromGMT(for: date)))
        case .custom(let zone):
            return ICalLocalDateTime(secondsSinceEpoch: seconds + Int64(zone.offset(atUnixSeconds: seconds)))
        }
    }

    /// A Foundation zone to report in `ICalendar.DateValue.timeZone`: the zone itself, or for a
    /// custom zone a fixed offset equal to its offset at `date`.
    func foundationTimeZone(at date: Date, fallback: TimeZone) -> TimeZone {
        switch self {
        case .foundation(let timeZone): timeZone
        case .custom(let zone):
            TimeZone(secondsFromGMT: zone.offset(atUnixSeconds: Int64(date.timeIntervalSince1970.rounded(.down))))
                ?? fallback
        }
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

/// Resolves TZID parameters for one VCALENDAR: IANA and Windows names through Foundation (the
/// calendar's VTIMEZONE for such a name is ignored — Foundation's tz database is more current
/// than whatever rules the producer embedded), other names through the calendar's own
/// VTIMEZONE blocks, and anything else to the default zone, as `ICalendar.events` does.
struct ICalZoneResolver: Sendable {
    var defaultTimeZone: TimeZone
    /// Keyed by TZID as written (trimmed). Only zones Foundation cannot resolve are here.
    var customZones: [String: ICalVTimeZone] = [:]

    init(defaultTimeZone: TimeZone) {
        self.defaultTimeZone = defaultTimeZone
    }

    /// Reads the VTIMEZONE blocks of `calendar` whose TZID Foundation does not know. A block that
    /// cannot be read (no TZID, no STANDARD/DAYLIGHT with offsets, a broken RRULE) is skipped,
    /// so its TZID falls back to the default zone exactly as before this existed.
    init(calendar: ICalComponent, defaultTimeZone: TimeZone) {
        self.defaultTimeZone = defaultTimeZone
        for component in calendar.components where component.name == "VTIMEZONE" {
            guard let tzidProperty = component.property("TZID") else { continue }
            let names = Set([tzidProperty.value, ICalendar.unescapeText(tzidProperty.value)]
                .map { $0.trimmingCharacters(in: .whitespaces) })
                .filter { !$0.isEmpty && WindowsTimeZones.timeZone(forTZID: $0) == nil }
            guard !names.isEmpty, let zone = ICalVTimeZone(component) else { continue }
            for name in names { customZones[name] = zone }
        }
    }

    func zone(forTZID tzid: String) -> ICalZone {
        if let timeZone = WindowsTimeZones.timeZone(forTZID: tzid) {
            return .foundation(timeZone)
        }
        let trimmed = tzid.trimmingCharacters(in: .whitespaces)
        if let custom = customZones[trimmed] {
            return .custom(custom)
        }
        // TZID parameters and VTIMEZONE TZIDs should match exactly; hand-edited files sometimes
        // differ in case only.
        if let match = customZones.first(where: { $0.key.caseInsensitiveCompare(trimmed) == .orderedSame }) {
            return .custom(match.value)
        }
        return .foundation(defaultTimeZone)
    }
}

// MARK: - VTIMEZONE

/// A zone defined by a VTIMEZONE block (RFC 5545 §3.6.5): STANDARD and DAYLIGHT observances,
/// each with an onset DTSTART (wall-clock time in the offset in effect *before* the onset,
/// TZOFFSETFROM), the offset after it (TZOFFSETTO), and an RRULE and/or RDATEs for later onsets.
///
/// All onsets from each observance's DTSTART up to the year 2400 are computed once, when the
/// calendar is read (Outlook starts its rules in 1601: about 800 yearly onsets per observance),
/// and looked up by binary search. Instants from 2400 on are moved back by whole 400-year
/// Gregorian cycles, which repeat weekdays exactly, so open-ended yearly rules stay right.
struct ICalVTimeZone: Sendable, Equatable {
    struct Transition: Sendable, Equatable {
        /// Unix seconds of the onset.
        var instant: Int64
        var offsetFrom: Int
        var offsetTo: Int
    }

    var tzid: String
    /// Sorted by instant.
    var transitions: [Transition]

    /// First instant (unix seconds, 2400-01-01T00:00Z) not covered by `transitions`.
    static let horizon = Int64(ICalLocalDate(year: 2400, month: 1, day: 1).dayNumber) * 86_400
    /// 400 Gregorian years: 146 097 days, a whole number of weeks.
    static let gregorianCycle: Int64 = 146_097 * 86_400
    /// Guards against a pathological observance rule (say FREQ=DAILY): onsets past this many
    /// per observance are dropped.
    static let maximumOnsetsPerObservance = 10_000

    init?(_ component: ICalComponent) {
        guard let tzidProperty = component.property("TZID") else { return nil }
        tzid = ICalendar.unescapeText(tzidProperty.value).trimmingCharacters(in: .whitespaces)
        var transitions: [Transition] = []
        let horizonDate = ICalLocalDate(year: 2400, month: 1, day: 1)

        for observance in component.components where observance.name == "STANDARD" || observance.name == "DAYLIGHT" {
            guard let startProperty = observance.property("DTSTART"),
                  let start = ICalLocalDateTime.parse(startProperty.value), start.value.date.isValid,
                  let from = observance.property("TZOFFSETFROM").flatMap({ Self.parseOffset($0.value) }),
                  let to = observance.property("TZOFFSETTO").flatMap({ Self.parseOffset($0.value) })
            else { return nil }
            // Onsets are written in the wall-clock time before the change, so subtracting the
            // "from" offset gives UTC. A (non-conforming) UTC value is taken as UTC.
            func onset(_ local: ICalLocalDateTime, isUTC: Bool) -> Transition {
                Transition(instant: local.secondsSinceEpoch - (isUTC ? 0 : Int64(from)), offsetFrom: from, offsetTo: to)
            }
            var onsets: [Transition] = []

            let rules = observance.properties(named: "RRULE")
            if rules.isEmpty {
                onsets.append(onset(start.value, isUTC: start.isUTC))
            }
            for ruleProperty in rules {
                guard let rule = try? ICalRecurrenceRule.parse(ruleProperty.value, line: ruleProperty.line) else {
                    return nil
                }
                // DTSTART is the first onset even when it does not match the rule (Outlook's
                // 16010101T030000 with BYMONTH=10;BYDAY=-1SU): the expander yields it first.
                rule.forEachInstance(
                    from: start.value, isDateOnly: false, skipTo: nil, through: horizonDate,
                    instant: { Date(timeIntervalSince1970: Double($0.secondsSinceEpoch - Int64(from))) }
                ) { local in
                    onsets.append(onset(local, isUTC: start.isUTC))
                    return onsets.count < Self.maximumOnsetsPerObservance
                }
            }
            for rdate in observance.properties(named: "RDATE") {
                // PERIOD values make no sense for an onset; only their start would count.
                for value in rdate.value.split(separator: ",") {
                    let text = value.split(separator: "/").first.map(String.init) ?? ""
                    guard let parsed = ICalLocalDateTime.parse(text), parsed.value.date.isValid else { continue }
                    var local = parsed.value
                    if parsed.isDateOnly {
                        local.hour = start.value.hour
                        local.minute = start.value.minute
                        local.second = start.value.second
                    }
                    onsets.append(onset(local, isUTC: parsed.isUTC))
                }
            }
            transitions.append(contentsOf: onsets)
        }
        guard !transitions.isEmpty else { return nil }
        self.transitions = transitions.sorted { $0.instant < $1.instant }
    }

    /// `+0100`, `-0500`, `+053000` (seconds are allowed by the RFC).
    static func parseOffset(_ raw: String) -> Int? {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard let sign = text.first, sign == "+" || sign == "-" else { return nil }
        let digits = Array(text.dropFirst())
        guard digits.count == 4 || digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isWholeNumber }) else {
            return nil
        }
        let hours = Int(String(digits[0..<2]))!
        let minutes = Int(String(digits[2..<4]))!
        let seconds = digits.count == 6 ? Int(String(digits[4..<6]))! : 0
        guard minutes < 60, seconds < 60 else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        return sign == "-" ? -total : total
    }

    /// UTC offset in seconds at an instant: TZOFFSETTO of the latest onset at or before it, or
    /// TZOFFSETFROM of the earliest onset for instants before every onset.
    func offset(atUnixSeconds instant: Int64) -> Int {
        var t = instant
        if t >= Self.horizon {
            t -= ((t - Self.horizon) / Self.gregorianCycle + 1) * Self.gregorianCycle
        }
        // Binary search for the first transition after t.
        var low = 0
        var high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle].instant <= t { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? transitions[0].offsetFrom : transitions[low - 1].offsetTo
    }

    /// RFC 5545 §3.3.5: a wall-clock time that occurs twice (clocks go back) means its first
    /// occurrence; one that does not exist (clocks go forward) is read with the offset in effect
    /// before the gap, so 02:30 on a +01:00 → +02:00 night is 01:30Z, i.e. 03:30 local.
    func date(from local: ICalLocalDateTime) -> Date {
        let naive = local.secondsSinceEpoch
        let candidates = Set([
            offset(atUnixSeconds: naive - 86_400), offset(atUnixSeconds: naive),
            offset(atUnixSeconds: naive + 86_400),
        ])
        let consistent = candidates.filter { offset(atUnixSeconds: naive - Int64($0)) == $0 }
        let chosen: Int
        if let largest = consistent.max() {
            chosen = largest  // the larger offset gives the earlier instant: the first occurrence
        } else {
            chosen = offset(atUnixSeconds: naive - Int64(candidates.max() ?? 0))
        }
        return Date(timeIntervalSince1970: Double(naive - Int64(chosen)))
    }
}
