import Foundation

/// An RRULE value (RFC 5545 §3.3.10), e.g. `FREQ=MONTHLY;BYDAY=2TU;UNTIL=20271231T235959Z`.
///
/// Expansion works on wall-clock values (`ICalLocalDateTime`) in the event's own zone; the
/// caller converts each instance to an instant. DAILY, WEEKLY, MONTHLY and YEARLY rules are
/// expanded with every BYxxx part RFC 5545 defines for them, plus INTERVAL, COUNT, UNTIL and
/// WKST. HOURLY, MINUTELY and SECONDLY rules, and RFC 7529 RSCALE (non-Gregorian) rules, are
/// read but not expanded: such a series yields its DTSTART only (see `unsupportedReason`).
/// Producing fewer instances is the safer failure: inventing meetings would send a bot into
/// calls that do not exist.
struct ICalRecurrenceRule: Sendable, Equatable {
    enum Frequency: String, Sendable, Equatable {
        case secondly = "SECONDLY"
        case minutely = "MINUTELY"
        case hourly = "HOURLY"
        case daily = "DAILY"
        case weekly = "WEEKLY"
        case monthly = "MONTHLY"
        case yearly = "YEARLY"
    }

    /// A BYDAY entry: `MO`, `2TU`, `-1FR`. Weekdays are 0 = Monday … 6 = Sunday.
    struct WeekdayNumber: Sendable, Equatable {
        var ordinal: Int?
        var weekday: Int
    }

    enum Until: Sendable, Equatable {
        /// `UNTIL=20261231`: instances on or before that date (in the event's zone) — for a
        /// timed series too, where the RFC would want a DATE-TIME but the intent is clear.
        case date(ICalLocalDate)
        /// `UNTIL=20261231T225959Z`: instances starting at or before that instant.
        case utc(Date)
        /// `UNTIL=20261231T235959` without Z: a wall-clock time in the event's zone. The RFC
        /// allows this only for floating DTSTARTs; real files also use it with a TZID DTSTART,
        /// where the event's zone is the only sensible reading.
        case local(ICalLocalDateTime)
    }

    var frequency: Frequency
    var interval = 1
    var count: Int?
    var until: Until?
    var bySecond: [Int] = []
    var byMinute: [Int] = []
    var byHour: [Int] = []
    var byDay: [WeekdayNumber] = []
    var byMonthDay: [Int] = []
    var byYearDay: [Int] = []
    var byWeekNo: [Int] = []
    var byMonth: [Int] = []
    var bySetPos: [Int] = []
    /// WKST, 0 = Monday (the RFC default).
    var weekStart = 0
    /// Set when the rule is valid but not expanded; the series then has its DTSTART only.
    var unsupportedReason: String?

    static let weekdayCodes = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]

    /// Parses an RRULE value. Malformed rules are errors on the RRULE's line, like malformed
    /// dates; parts that occur twice keep the last value; empty parts (a trailing `;`) are
    /// ignored.
    static func parse(_ raw: String, line: Int) throws -> ICalRecurrenceRule {
        func invalid(_ detail: String) -> ICalendarError {
            ICalendarError(
                line: line,
                message: "RRULE '\(ICalendar.abbreviated(raw))' is not a valid recurrence rule: \(detail)")
        }
        var parts: [(String, String)] = []
        for part in raw.trimmingCharacters(in: .whitespaces).split(separator: ";") where !part.isEmpty {
            guard let equals = part.firstIndex(of: "=") else { throw invalid("'\(part)' has no NAME=VALUE form") }
            let name = part[..<equals].trimmingCharacters(in: .whitespaces).uppercased()
            let value = part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            parts.append((name, value))
        }
        guard let frequencyText = parts.last(where: { $0.0 == "FREQ" })?.1 else { throw invalid("FREQ is missing") }
        guard let frequency = Frequency(rawValue: frequencyText.uppercased()) else {
            throw invalid("FREQ=\(frequencyText) is not a frequency")
        }
        var rule = ICalRecurrenceRule(frequency: frequency)

        func integers(_ name: String, _ value: String, in range: ClosedRange<Int>, allowNegative: Bool) throws -> [Int] {
            try value.split(separator: ",").map { item in
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let number = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text),
                    range.contains(abs(number)), number >= 0 || allowNegative, number != 0 || range.lowerBound == 0
                else { throw invalid("\(name) value '\(text)' is out of range") }
                return number
            }
        }

        for (name, value) in parts {
            switch name {
            case "FREQ":
                break
            case "INTERVAL":
                guard let interval = Int(value), interval >= 1 else { throw invalid("INTERVAL must be a positive integer") }
                rule.interval = interval
            case "COUNT":
                guard let count = Int(value), count >= 1 else { throw invalid("COUNT must be a positive integer") }
                rule.count = count
            case "UNTIL":
                guard let parsed = ICalLocalDateTime.parse(value) else {
                    throw invalid("UNTIL=\(value) is not a DATE or DATE-TIME")
                }
                if parsed.isDateOnly {
                    rule.until = .date(parsed.value.date)
                } else if parsed.isUTC {
                    rule.until = .utc(Date(timeIntervalSince1970: Double(parsed.value.secondsSinceEpoch)))
                } else {
                    rule.until = .local(parsed.value)
                }
            case "BYSECOND": rule.bySecond = try integers(name, value, in: 0...60, allowNegative: false)
            case "BYMINUTE": rule.byMinute = try integers(name, value, in: 0...59, allowNegative: false)
            case "BYHOUR": rule.byHour = try integers(name, value, in: 0...23, allowNegative: false)
            case "BYMONTHDAY": rule.byMonthDay = try integers(name, value, in: 1...31, allowNegative: true)
            case "BYYEARDAY": rule.byYearDay = try integers(name, value, in: 1...366, allowNegative: true)
            case "BYWEEKNO": rule.byWeekNo = try integers(name, value, in: 1...53, allowNegative: true)
            case "BYMONTH": rule.byMonth = try integers(name, value, in: 1...12, allowNegative: false)
            case "BYSETPOS": rule.bySetPos = try integers(name, value, in: 1...366, allowNegative: true)
            case "BYDAY":
                rule.byDay = try value.split(separator: ",").map { item in
                    let text = item.trimmingCharacters(in: .whitespaces).uppercased()
                    guard text.count >= 2, let weekday = weekdayCodes.firstIndex(of: String(text.suffix(2))) else {
                        throw invalid("BYDAY value '\(text)' is not a weekday like MO, 2TU or -1FR")
                    }
                    let prefix = text.dropLast(2)
                    guard !prefix.isEmpty else { return WeekdayNumber(ordinal: nil, weekday: weekday) }
                    guard let ordinal = Int(prefix.hasPrefix("+") ? String(prefix.dropFirst()) : String(prefix)),
                        (1...53).contains(abs(ordinal))
                    else { throw invalid("BYDAY value '\(text)' has an ordinal outside ±1…53") }
                    return WeekdayNumber(ordinal: ordinal, weekday: weekday)
                }
            case "WKST":
                guard let weekday = weekdayCodes.firstIndex(of: value.uppercased()) else {
                    throw invalid("WKST=\(value) is not a weekday")
                }
                rule.weekStart = weekday
            case "RSCALE":
                // RFC 7529: only the Gregorian scale is the one this expander implements.
                if value.uppercased() != "GREGORIAN" {
                    rule.unsupportedReason = "RSCALE=\(value) (non-Gregorian calendar) is not expanded"
                }
            case "SKIP":
                break  // RFC 7529: only meaningful with a non-Gregorian RSCALE.
            default:
                // RFC 5545's grammar has no extension parts; ignoring an unknown part could
                // turn a restriction into extra meetings, so the rule is not expanded.
                rule.unsupportedReason = "unknown rule part \(name) is not understood"
            }
        }
        switch frequency {
        case .secondly, .minutely, .hourly:
            rule.unsupportedReason = "FREQ=\(frequency.rawValue) is not expanded (meetings recur daily or less often)"
        default:
            break
        }
        return rule
    }
}

// MARK: - Expansion

extension ICalRecurrenceRule {
    /// Stops runaway loops over huge windows (a never-matching rule over a 1000-year window):
    /// after this many periods (days, weeks, months or years) the expansion ends, truncated.
    static let maximumPeriods = 500_000
    /// At most this many candidates are built inside one period (FREQ=YEARLY with BYHOUR,
    /// BYMINUTE and BYSECOND lists could otherwise ask for millions); later ones are dropped.
    static let maximumCandidatesPerPeriod = 10_000

    /// Calls `body` with DTSTART and then every later instance of the rule, in chronological
    /// order, until COUNT or UNTIL end the series, the periods pass `through`, or `body` returns
    /// false.
    ///
    /// - DTSTART is always the first instance and counts towards COUNT, even when it does not
    ///   match the rule (RFC 5545 §3.3.10: "The DTSTART property value always counts as the
    ///   first occurrence"); a generated instance equal to DTSTART is not yielded twice, and
    ///   generated instances before DTSTART are not instances.
    /// - Dates that do not exist (BYMONTHDAY=31 in April, 29 February in 2027) are skipped,
    ///   never moved, as §3.3.10 requires.
    /// - `skipTo`: when there is no COUNT, periods ending before this date are not computed at
    ///   all, so a daily rule from 2015 costs nothing for a 2026 window. With COUNT every period
    ///   from DTSTART has to be counted.
    /// - `instant` converts a wall-clock instance to an instant; only used for a UTC UNTIL.
    func forEachInstance(
        from start: ICalLocalDateTime, isDateOnly: Bool, skipTo: ICalLocalDate?, through: ICalLocalDate,
        instant: (ICalLocalDateTime) -> Date, _ body: (ICalLocalDateTime) -> Bool
    ) {
        guard body(start) else { return }
        guard unsupportedReason == nil else { return }
        var produced = 1
        if let count, produced >= count { return }

        // Implicit parts from DTSTART (§3.3.10: "the information missing is obtained from
        // DTSTART"), e.g. FREQ=MONTHLY alone recurs on DTSTART's day of the month.
        var byMonth = self.byMonth
        var byMonthDay = self.byMonthDay
        var byDay = self.byDay
        switch frequency {
        case .yearly where byWeekNo.isEmpty && byYearDay.isEmpty && byMonthDay.isEmpty && byDay.isEmpty:
            if byMonth.isEmpty { byMonth = [start.date.month] }
            byMonthDay = [start.date.day]
        case .monthly where byMonthDay.isEmpty && byDay.isEmpty && byYearDay.isEmpty:
            byMonthDay = [start.date.day]
        case .weekly where byDay.isEmpty && byMonthDay.isEmpty && byYearDay.isEmpty:
            byDay = [WeekdayNumber(ordinal: nil, weekday: start.date.weekday)]
        default:
            break
        }
        let months = Set(byMonth)

        // Times of day: BYHOUR × BYMINUTE × BYSECOND, each defaulting to DTSTART's. All-day
        // series have no time of day, so those parts do not apply to them.
        var times: [(Int, Int, Int)] = [(0, 0, 0)]
        if !isDateOnly {
            let hours = byHour.isEmpty ? [start.hour] : Set(byHour).sorted()
            let minutes = byMinute.isEmpty ? [start.minute] : Set(byMinute).sorted()
            let seconds = bySecond.isEmpty ? [start.second] : Set(bySecond.map { min($0, 59) }).sorted()
            times = hours.flatMap { h in minutes.flatMap { m in seconds.map { (h, m, $0) } } }
        }

        // Ordinal BYDAY (2TU, -1FR) counts within the month for MONTHLY, and for YEARLY with
        // BYMONTH (RFC example: Thanksgiving is FREQ=YEARLY;BYDAY=4TH;BYMONTH=11); within the
        // year for YEARLY without BYMONTH. The RFC forbids ordinals elsewhere (WEEKLY, DAILY,
        // YEARLY with BYWEEKNO); there they are ignored, i.e. read as the plain weekday.
        enum OrdinalScope { case month, year, none }
        let ordinalScope: OrdinalScope =
            switch frequency {
            case .monthly: .month
            case .yearly where !byWeekNo.isEmpty: .none
            case .yearly: byMonth.isEmpty ? .year : .month
            default: .none
            }

        func matches(_ date: ICalLocalDate) -> Bool {
            if !months.isEmpty && !months.contains(date.month) { return false }
            if !byYearDay.isEmpty {
                let dayOfYear = date.dayOfYear
                let daysInYear = ICalLocalDate.daysIn(year: date.year)
                guard byYearDay.contains(where: { $0 > 0 ? $0 == dayOfYear : $0 == dayOfYear - daysInYear - 1 }) else {
                    return false
                }
            }
            let daysInMonth = ICalLocalDate.daysIn(month: date.month, year: date.year)
            if !byMonthDay.isEmpty {
                guard byMonthDay.contains(where: { $0 > 0 ? $0 == date.day : $0 == date.day - daysInMonth - 1 }) else {
                    return false
                }
            }
            if !byDay.isEmpty {
                let weekday = date.weekday
                let matched = byDay.contains { entry in
                    guard entry.weekday == weekday else { return false }
                    guard let ordinal = entry.ordinal else { return true }
                    switch ordinalScope {
                    case .none:
                        return true
                    case .month:
                        return ordinal == (date.day - 1) / 7 + 1 || ordinal == -((daysInMonth - date.day) / 7 + 1)
                    case .year:
                        let dayOfYear = date.dayOfYear
                        let daysInYear = ICalLocalDate.daysIn(year: date.year)
                        return ordinal == (dayOfYear - 1) / 7 + 1 || ordinal == -((daysInYear - dayOfYear) / 7 + 1)
                    }
                }
                if !matched { return false }
            }
            return true
        }

        // Week 1 is the first week (starting on WKST) with at least four days in the year.
        func firstWeekStart(_ year: Int) -> ICalLocalDate {
            let januaryFirst = ICalLocalDate(year: year, month: 1, day: 1)
            let back = (januaryFirst.weekday - weekStart + 7) % 7
            let weekStart = januaryFirst.adding(days: -back)
            return 7 - back >= 4 ? weekStart : weekStart.adding(days: 7)
        }

        // First day of the WKST-based week holding DTSTART: WEEKLY periods count from here.
        let startWeek = start.date.adding(days: -((start.date.weekday - weekStart + 7) % 7))

        func candidateDays(periodIndex k: Int) -> [ICalLocalDate]? {
            switch frequency {
            case .yearly:
                let year = start.date.year + k * interval
                guard year <= 9999, ICalLocalDate(year: year, month: 1, day: 1).adding(days: -7) <= through else {
                    return nil
                }
                if !byWeekNo.isEmpty {
                    let weekOne = firstWeekStart(year)
                    let weeksInYear = (firstWeekStart(year + 1).dayNumber - weekOne.dayNumber) / 7
                    let weeks = Set(byWeekNo.map { $0 > 0 ? $0 : weeksInYear + $0 + 1 }).filter { (1...weeksInYear).contains($0) }
                    // Days of week 1 or 52/53 may lie in the neighbouring year; they belong to
                    // this year's week, as the RFC's week numbering says.
                    return weeks.sorted().flatMap { week in
                        (0..<7).map { weekOne.adding(days: (week - 1) * 7 + $0) }
                    }
                }
                let monthsToScan = months.isEmpty ? Array(1...12) : months.sorted()
                return monthsToScan.flatMap { month in
                    (1...ICalLocalDate.daysIn(month: month, year: year)).map { ICalLocalDate(year: year, month: month, day: $0) }
                }
            case .monthly:
                let monthIndex = start.date.year * 12 + (start.date.month - 1) + k * interval
                let year = monthIndex / 12
                let month = monthIndex % 12 + 1
                guard year <= 9999, ICalLocalDate(year: year, month: month, day: 1) <= through else { return nil }
                return (1...ICalLocalDate.daysIn(month: month, year: year)).map {
                    ICalLocalDate(year: year, month: month, day: $0)
                }
            case .weekly:
                let weekStartDate = startWeek.adding(days: k * 7 * interval)
                guard weekStartDate.year <= 9999, weekStartDate <= through else { return nil }
                return (0..<7).map { weekStartDate.adding(days: $0) }
            case .daily:
                let day = start.date.adding(days: k * interval)
                guard day.year <= 9999, day <= through else { return nil }
                return [day]
            case .hourly, .minutely, .secondly:
                return nil
            }
        }

        // Skip whole periods before `skipTo` (never with COUNT, which counts from DTSTART). One
        // period of margin covers BYWEEKNO days that spill into the previous year.
        var firstPeriod = 0
        if count == nil, let skipTo, skipTo > start.date {
            let elapsed: Int =
                switch frequency {
                case .yearly: skipTo.year - start.date.year
                case .monthly: (skipTo.year * 12 + skipTo.month) - (start.date.year * 12 + start.date.month)
                case .weekly: (skipTo.dayNumber - startWeek.dayNumber) / 7
                default: skipTo.dayNumber - start.date.dayNumber
                }
            firstPeriod = max(0, elapsed / interval - 1)
        }

        var periodIndex = firstPeriod
        while periodIndex - firstPeriod < Self.maximumPeriods, let days = candidateDays(periodIndex: periodIndex) {
            periodIndex += 1
            var instances: [ICalLocalDateTime] = []
            for day in days where matches(day) {
                for (hour, minute, second) in times {
                    instances.append(ICalLocalDateTime(date: day, hour: hour, minute: minute, second: second))
                }
                if instances.count >= Self.maximumCandidatesPerPeriod { break }
            }
            if !bySetPos.isEmpty {
                let total = instances.count
                let positions = Set(
                    bySetPos.compactMap { position -> Int? in
                        let index = position > 0 ? position - 1 : total + position
                        return (0..<total).contains(index) ? index : nil
                    })
                instances = positions.sorted().map { instances[$0] }
            }
            for instance in instances {
                // Before or at DTSTART: not an instance, or DTSTART itself, already yielded.
                guard instance > start else { continue }
                switch until {
                case .date(let last)? where instance.date > last: return
                case .local(let last)? where instance > last: return
                case .utc(let last)? where instant(instance) > last: return
                default: break
                }
                if let count, produced >= count { return }
                produced += 1
                guard body(instance) else { return }
            }
        }
    }
}
