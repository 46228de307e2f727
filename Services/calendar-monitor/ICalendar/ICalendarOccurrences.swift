import Foundation

/// Recurrence expansion: turns series (RRULE, RDATE, EXDATE, overridden instances) into the
/// concrete meetings inside a time window.
extension ICalendar {
    /// Guards against pathological rules. Past this many occurrences inside the window one
    /// series is truncated: its earliest occurrences are kept, later ones dropped (a daily
    /// meeting needs a window of more than 13 years to reach it). Truncation is deterministic,
    /// so the same window always yields the same occurrences.
    static let maximumOccurrencesPerSeries = 5_000
    /// Past this many occurrences in the whole calendar, `occurrences` throws instead of
    /// truncating: dropping arbitrary meetings would look to a caller like they were deleted
    /// from the calendar (and be published as cancellations), while an error leaves what it
    /// stored untouched until someone narrows the window.
    static let maximumOccurrencesPerCalendar = 50_000

    /// Every meeting that overlaps `window`, with recurring series expanded: one `CalendarEvent`
    /// per occurrence, sorted by start (then UID, then recurrence id).
    ///
    /// - Every occurrence of a recurring series (RRULE and/or RDATE) has `recurrenceID` set to
    ///   its original start, including the first (DTSTART) one; non-recurring events have nil.
    ///   Other fields are the series' (`recurrenceRule` keeps the series' raw RRULE). An empty
    ///   `RRULE:` is no recurrence.
    /// - An occurrence overlaps the window when it starts before `window.end` and ends after
    ///   `window.start` (half-open: one that ends exactly at `window.start` or starts exactly at
    ///   `window.end` is outside). An event without duration is inside when
    ///   `window.start <= start < window.end`.
    /// - A VEVENT with the series' UID and a RECURRENCE-ID replaces the generated occurrence
    ///   with that original start, wherever its own DTSTART moved it (in or out of the window);
    ///   it is returned as written, so a STATUS:CANCELLED override comes back with status
    ///   `.cancelled`. An override is returned even when the rule no longer generates its
    ///   RECURRENCE-ID (say, after UNTIL was shortened): it is an explicit event in the feed.
    ///   Of several overrides for one instance, the highest SEQUENCE wins (the later in the file
    ///   on a tie). On an all-day series, an override's timed RECURRENCE-ID (Exchange writes
    ///   `RECURRENCE-ID;TZID=…:20261109T000000`) names the instance of that date.
    /// - RANGE=THISANDFUTURE (RFC 5545 §3.2.13, §3.8.4.4) changes that instance and every later one:
    ///   they take the override's fields and duration, and move by as much as it moved.
    /// - Of several series with one UID (an edited copy beside the original), only the latest
    ///   revision is expanded; see `readEvents`.
    /// - METHOD:CANCEL marks everything in that calendar cancelled, as `events(from:)` does.
    /// - VTIMEZONE blocks are used for TZIDs that are neither IANA nor Windows names (Outlook's
    ///   "Customized Time Zone"); see `ICalZoneResolver`. `events(from:)` is unchanged and still
    ///   reads such TZIDs in the default zone.
    /// - A VEVENT that cannot be read, or a series whose recurrence cannot be (a malformed RRULE,
    ///   EXDATE or RDATE), is left out and reported in `skipped`; the rest of the calendar is read.
    ///
    /// Expansion never runs past the window: rules are expanded only through the window's end,
    /// and (without COUNT) start near the window's start. See `maximumOccurrencesPerSeries` and
    /// `maximumOccurrencesPerCalendar` for the guards.
    ///
    /// - Parameter defaultTimeZone: used for all-day dates, TZIDs nothing resolves, and floating
    ///   times when the calendar has no X-WR-TIMEZONE. Pass the calendar owner's zone.
    public static func occurrences(from text: String, window: DateInterval, defaultTimeZone: TimeZone = .gmt) throws
        -> Contents
    {
        let read = try readEvents(from: text, readingVTimeZones: true, defaultTimeZone: defaultTimeZone)
        var skipped = read.skipped
        let allDaySeries = Set(read.events.filter { $0.event.recurrenceID == nil && $0.event.isAllDay }.map(\.event.uid))

        // Overrides by UID, then by original start.
        var overrides: [String: [Date: ReadEvent]] = [:]
        var overrideLines: [String: Int] = [:]
        for var item in read.events {
            guard var recurrenceID = item.event.recurrenceID else { continue }
            if allDaySeries.contains(item.event.uid) {
                recurrenceID = allDayRecurrenceID(of: item) ?? recurrenceID
                item.event.recurrenceID = recurrenceID
            }
            if let existing = overrides[item.event.uid]?[recurrenceID], existing.event.sequence > item.event.sequence {
                continue
            }
            overrides[item.event.uid, default: [:]][recurrenceID] = item
            overrideLines[item.event.uid] = overrideLines[item.event.uid] ?? item.component.line
        }

        var result: [CalendarEvent] = []
        func add(_ events: [CalendarEvent], line: Int) throws {
            result.append(contentsOf: events)
            if result.count > maximumOccurrencesPerCalendar {
                throw ICalendarError(
                    line: line,
                    message: "expanding recurring events gives more than \(maximumOccurrencesPerCalendar) occurrences "
                        + "in the window (limit reached at the VEVENT that begins here); use a shorter window")
            }
        }

        for item in read.events where item.event.recurrenceID == nil {
            let isRecurring = !item.component.recurrenceRules.isEmpty || item.component.property("RDATE") != nil
            guard isRecurring else {
                if overlaps(item.event.start, item.event.end, window) { try add([item.event], line: item.component.line) }
                continue
            }
            let seriesOverrides = overrides[item.event.uid] ?? [:]
            let changes = FutureChanges(seriesOverrides.values)
            let instances: [CalendarEvent]
            do {
                instances = try expandSeries(
                    item.component, item.event, zones: item.zones, overridden: Set(seriesOverrides.keys),
                    window: changes.widening(window))
            } catch let error as ICalendarError {
                skipped.append(skippedEvent(item.component, because: error))
                continue
            }
            try add(
                changes.applied(to: instances).filter { overlaps($0.start, $0.end, window) }, line: item.component.line)
        }
        for (uid, byRecurrenceID) in overrides {
            try add(
                byRecurrenceID.values.map(\.event).filter { overlaps($0.start, $0.end, window) },
                line: overrideLines[uid] ?? 1)
        }

        let sorted = result.sorted { lhs, rhs in
            if lhs.start != rhs.start { return lhs.start < rhs.start }
            if lhs.uid != rhs.uid { return lhs.uid < rhs.uid }
            return (lhs.recurrenceID ?? .distantPast) < (rhs.recurrenceID ?? .distantPast)
        }
        return Contents(events: sorted, skipped: skipped.sorted { $0.line < $1.line })
    }

    /// For an override of an all-day series: the start of the instance on the date its
    /// RECURRENCE-ID is written with (midnight in the default zone, as the series' instances
    /// are), whatever time and zone came with it. Nil when the RECURRENCE-ID is already a DATE.
    private static func allDayRecurrenceID(of override: ReadEvent) -> Date? {
        // It was read once already to make the event, so it reads again.
        guard let property = override.component.property("RECURRENCE-ID"),
            let written = try? dateValue(of: property, zones: override.zones), !written.isDateOnly
        else { return nil }
        return ICalZone.foundation(override.zones.defaultTimeZone).date(from: ICalLocalDateTime(date: written.local.date))
    }

    /// A series' RANGE=THISANDFUTURE overrides (RFC 5545 §3.8.4.4), each changing every
    /// instance after its own: the instance takes the override's fields and duration and moves by
    /// the override's shift (its DTSTART minus its RECURRENCE-ID). A later one takes over from an
    /// earlier one. The overridden instance itself is the override, returned as such.
    private struct FutureChanges {
        /// Sorted by original start.
        var changes: [(from: Date, event: CalendarEvent)]

        init(_ overrides: some Sequence<ReadEvent>) {
            changes =
                overrides
                .filter { $0.component.property("RECURRENCE-ID")?.parameter("RANGE")?.uppercased() == "THISANDFUTURE" }
                .compactMap { override in override.event.recurrenceID.map { (from: $0, event: override.event) } }
                .sorted { $0.from < $1.from }
        }

        /// The window to expand the series in so that instances the changes move into `window`
        /// are generated.
        func widening(_ window: DateInterval) -> DateInterval {
            let reach = changes.map { abs($0.event.start.timeIntervalSince($0.from)) }.max() ?? 0
            return DateInterval(start: window.start.addingTimeInterval(-reach), end: window.end.addingTimeInterval(reach))
        }

        func applied(to instances: [CalendarEvent]) -> [CalendarEvent] {
            guard !changes.isEmpty else { return instances }
            return instances.map { instance in
                guard let original = instance.recurrenceID, let change = changes.last(where: { $0.from < original })
                else { return instance }
                var changed = change.event
                changed.recurrenceID = original
                changed.recurrenceRule = instance.recurrenceRule
                changed.start = instance.start.addingTimeInterval(change.event.start.timeIntervalSince(change.from))
                changed.end = changed.start.addingTimeInterval(change.event.end.timeIntervalSince(change.event.start))
                return changed
            }
        }
    }

    static func overlaps(_ start: Date, _ end: Date, _ window: DateInterval) -> Bool {
        if end <= start { return start >= window.start && start < window.end }
        return start < window.end && end > window.start
    }

    /// One generated occurrence before EXDATE, overrides and the window are applied.
    private struct Instance {
        var start: Date
        var end: Date
        /// The occurrence's date on the series' wall clock, for DATE-valued EXDATEs.
        var localDate: ICalLocalDate
    }

    /// The occurrences of one series (a VEVENT with RRULE and/or RDATE and no RECURRENCE-ID)
    /// that overlap the window, minus EXDATEs and overridden instances.
    private static func expandSeries(
        _ vevent: ICalComponent, _ series: CalendarEvent, zones: ICalZoneResolver, overridden: Set<Date>,
        window: DateInterval
    ) throws -> [CalendarEvent] {
        guard let startProperty = vevent.property("DTSTART") else { return [] }
        let start = try dateValue(of: startProperty, zones: zones)
        // All-day series recur by date, at midnight in the default zone (that is the zone
        // dateValue gives DATE values); timed ones on the wall clock of DTSTART's zone, so a
        // 10:00 Europe/Berlin meeting stays at 10:00 across DST. UTC DTSTARTs recur in UTC.
        let zone = start.zone
        let isDateOnly = start.isDateOnly

        // Each occurrence lasts what the series lasts (RFC 5545 §3.8.5.3): with DTEND the exact
        // duration for timed events, and the same number of days for all-day ones; with
        // DURATION the same nominal duration (days on the wall clock, hours exact).
        let exactLength = series.end.timeIntervalSince(series.start)
        let endOf: (Date, ICalLocalDateTime) -> Date
        if let endProperty = vevent.property("DTEND") {
            let end = try dateValue(of: endProperty, zones: zones)
            if isDateOnly && end.isDateOnly {
                let days = end.local.date.dayNumber - start.local.date.dayNumber
                endOf = { _, local in zone.date(from: ICalLocalDateTime(date: local.date.adding(days: days))) }
            } else {
                endOf = { instanceStart, _ in instanceStart.addingTimeInterval(exactLength) }
            }
        } else if let durationProperty = vevent.property("DURATION") {
            let duration = try ICalDuration.parse(durationProperty.value, line: durationProperty.line)
            endOf = { instanceStart, _ in duration.added(to: instanceStart, in: zone) }
        } else if isDateOnly {
            endOf = { instanceStart, _ in ICalDuration(days: 1).added(to: instanceStart, in: zone) }
        } else {
            endOf = { instanceStart, _ in instanceStart }
        }

        // Instances that start this long before the window can still reach into it; two days of
        // margin cover nominal days that are 25 hours long and zone offsets.
        let reach = max(exactLength, 0) + 2 * 86_400
        let skipTo = zone.local(from: window.start.addingTimeInterval(-reach)).date
        let through = zone.local(from: window.end).date.adding(days: 1)

        var exdateInstants: Set<Date> = []
        var exdateDates: Set<ICalLocalDate> = []
        for property in vevent.properties(named: "EXDATE") {
            for value in try dateValues(of: property, zones: zones) {
                if isDateOnly || value.isDateOnly {
                    // An all-day series is matched on dates as written; a DATE EXDATE on a timed
                    // series (some producers write these) removes that day's occurrences.
                    exdateDates.insert(value.local.date)
                } else {
                    exdateInstants.insert(value.date)
                }
            }
        }

        // Generated instances are collected only while they can still be inside the window, and
        // only up to what the per-series cap needs (plus what EXDATEs/overrides may remove).
        let budget = maximumOccurrencesPerSeries + exdateInstants.count + exdateDates.count + overridden.count
        var instances: [Date: Instance] = [:]
        func consider(_ instanceStart: Date, _ instanceEnd: Date, _ local: ICalLocalDateTime) {
            guard overlaps(instanceStart, instanceEnd, window), instances[instanceStart] == nil else { return }
            instances[instanceStart] = Instance(start: instanceStart, end: instanceEnd, localDate: local.date)
        }

        let rules = vevent.recurrenceRules
        if rules.isEmpty {
            consider(start.date, series.end, start.local)  // an RDATE-only series: DTSTART is the first
        }
        // Several RRULEs (allowed by RFC 2445, deprecated by 5545) give the union of their sets.
        // EXRULE (also deprecated) is not supported and ignored.
        for ruleProperty in rules {
            let rule = try ICalRecurrenceRule.parse(ruleProperty.value, line: ruleProperty.line)
            var collected = 0
            rule.forEachInstance(
                from: start.local, isDateOnly: isDateOnly, skipTo: rule.count == nil ? skipTo : nil, through: through,
                instant: { zone.date(from: $0) }
            ) { local in
                // DTSTART keeps the exact instant it was read as.
                let instanceStart = local == start.local ? start.date : zone.date(from: local)
                if instanceStart >= window.end { return false }
                let before = instances.count
                consider(instanceStart, endOf(instanceStart, local), local)
                if instances.count > before { collected += 1 }
                return collected < budget
            }
        }

        for property in vevent.properties(named: "RDATE") {
            let isPeriod = property.parameter("VALUE")?.uppercased() == "PERIOD"
            for item in property.value.split(separator: ",") {
                let text = item.trimmingCharacters(in: .whitespaces)
                // VALUE=PERIOD (`start/end` or `start/duration`): the period gives that
                // occurrence its own end. Accepted with or without the VALUE parameter.
                let pieces = text.split(separator: "/", maxSplits: 1).map(String.init)
                var single = property
                single.value = pieces.first ?? text
                if isPeriod || pieces.count == 2 { single.parameters["VALUE"] = nil }
                let value = try dateValue(of: single, zones: zones)

                var local: ICalLocalDateTime
                let instanceStart: Date
                if isDateOnly {
                    // All-day series: the date as written, at midnight in the default zone.
                    local = ICalLocalDateTime(date: value.local.date)
                    instanceStart = zone.date(from: local)
                } else if value.isDateOnly {
                    // A DATE RDATE on a timed series: that date at DTSTART's time of day.
                    local = start.local
                    local.date = value.local.date
                    instanceStart = zone.date(from: local)
                } else {
                    instanceStart = value.date
                    local = zone.local(from: instanceStart)
                }
                var instanceEnd = endOf(instanceStart, local)
                if pieces.count == 2 {
                    let endText = pieces[1]
                    if endText.hasPrefix("P") || endText.hasPrefix("+") || endText.hasPrefix("-") {
                        instanceEnd = try ICalDuration.parse(endText, line: property.line).added(to: instanceStart, in: zone)
                    } else {
                        var endProperty = single
                        endProperty.value = endText
                        instanceEnd = try dateValue(of: endProperty, zones: zones).date
                    }
                }
                consider(instanceStart, instanceEnd, local)
            }
        }

        let kept = instances.values
            .filter { !exdateInstants.contains($0.start) && !exdateDates.contains($0.localDate) }
            .filter { !overridden.contains($0.start) }
            .sorted { $0.start < $1.start }
            .prefix(maximumOccurrencesPerSeries)
        return kept.map { instance in
            var occurrence = series
            occurrence.start = instance.start
            occurrence.end = instance.end
            occurrence.recurrenceID = instance.start
            return occurrence
        }
    }

    /// The comma-separated values of an EXDATE or RDATE, each read like DTSTART with the
    /// property's parameters (TZID, VALUE=DATE).
    private static func dateValues(of property: ICalProperty, zones: ICalZoneResolver) throws -> [DateValue] {
        try property.value.split(separator: ",").map { item in
            var single = property
            single.value = item.trimmingCharacters(in: .whitespaces)
            return try dateValue(of: single, zones: zones)
        }
    }
}
