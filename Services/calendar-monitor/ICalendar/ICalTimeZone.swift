import Foundation

/// The zone a DATE-TIME is written in: one Foundation knows (IANA, a mapped Windows name, UTC,
/// or the default zone for floating times and unknown names), or one defined only by the
/// calendar's own VTIMEZONE block (Outlook's "Customized Time Zone" and friends).
enum ICalZone: Sendable, Equatable {
    case foundation(TimeZone)
    case custom(ICalVTimeZone)

    /// The instant a wall-clock time names in this zone.
    ///
    /// Foundation zones resolve with Foundation's Calendar, which moves a time inside a DST gap
    /// forward; custom zones follow RFC 5545 §3.3.5. Event dates and expanded instances both
    /// come from here, so an expanded first instance equals the event's DTSTART to the second.
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

/// Resolves TZID parameters for one VCALENDAR: IANA and Windows names through Foundation (the
/// calendar's VTIMEZONE for such a name is ignored — Foundation's tz database is more current
/// than whatever rules the producer embedded), other names through the calendar's own
/// VTIMEZONE blocks, and anything else to the default zone, as `ICalendar.events` does.
struct ICalZoneResolver: Sendable {
    /// The owner's zone: all-day dates are midnight here, and unknown TZIDs read in it.
    var defaultTimeZone: TimeZone
    /// The zone floating times (no `Z`, no TZID) are read in.
    var floatingTimeZone: TimeZone
    /// Keyed by TZID as written (trimmed). Only zones Foundation cannot resolve are here.
    var customZones: [String: ICalVTimeZone] = [:]

    /// - Parameter floatingTimeZone: the calendar's own zone (see `calendarTimeZone(of:)`);
    ///   floating times are read in the default zone without one.
    init(defaultTimeZone: TimeZone, floatingTimeZone: TimeZone? = nil) {
        self.defaultTimeZone = defaultTimeZone
        self.floatingTimeZone = floatingTimeZone ?? defaultTimeZone
    }

    /// The zone a calendar says it is in: X-WR-TIMEZONE, which Google and Apple write on
    /// calendars whose events use floating times, meaning "these wall-clock times are in this
    /// zone". Nil when absent or not a zone Foundation knows (IANA or Windows name).
    static func calendarTimeZone(of calendar: ICalComponent) -> TimeZone? {
        calendar.property("X-WR-TIMEZONE").flatMap {
            WindowsTimeZones.timeZone(forTZID: ICalendar.unescapeText($0.value).trimmingCharacters(in: .whitespaces))
        }
    }

    /// Reads the VTIMEZONE blocks of `calendar` whose TZID Foundation does not know, and its
    /// X-WR-TIMEZONE for floating times. A block that cannot be read (no TZID, no
    /// STANDARD/DAYLIGHT with offsets, a broken RRULE) is skipped, so its TZID falls back to the
    /// default zone exactly as before this existed.
    init(calendar: ICalComponent, defaultTimeZone: TimeZone) {
        self.init(defaultTimeZone: defaultTimeZone, floatingTimeZone: Self.calendarTimeZone(of: calendar))
        for component in calendar.components where component.name == "VTIMEZONE" {
            guard let tzidProperty = component.property("TZID") else { continue }
            let names = Set(
                [tzidProperty.value, ICalendar.unescapeText(tzidProperty.value)]
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            )
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
                let start = ICalLocalDateTime.parse(startProperty.value),
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
                    guard let parsed = ICalLocalDateTime.parse(text) else { continue }
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
        guard digits.count == 4 || digits.count == 6, digits.allSatisfy(\.isASCIIDigitForICal) else {
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
