import Bus
import CalendarMonitor
import Delivery
import Foundation
import HTTPClient
import Hummingbird
import Logging
import Resilience
import Runtime
import Shared
import Store
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// bench-calendar: calendar-monitor's sync machinery against a fake Google Calendar.
///
///   bench-calendar [--connections N] [--events M] [--concurrency C] [--pool P] [--page-size S]
///                  [--change-percent X] [--requests-per-second R] [--timeout SECONDS]
///
/// Reads ATTACHE_DATABASE_URL (a server where it may create and drop a database) and
/// ATTACHE_AMQP_URL. Creates the database bench_calendar_<pid>, migrates calendar-monitor's
/// schema into it, and connects N Google calendars of M events each, served by a Google Calendar
/// API stand-in in this process. Then drives the service's own `SyncScheduler` (with the real
/// `GoogleCalendarProvider`, `MeetingSync`, `ConnectionStore`) and an `OutboxRelay` publishing to
/// RabbitMQ, through three cycles, each started by making every connection due:
///
///   full         every calendar read in full (timeMin/timeMax), every event written and published
///   incremental  X % of the events changed at the source (default 1 %), read with sync tokens
///   nochange     nothing changed: nothing may be written or published
///
/// A cycle ends when every connection has synced since it began and the outbox is empty.
/// Published events are counted on a queue of the bench's own bound to `meeting.#`; rows
/// written are the meetings whose `updated_at` falls in the cycle. Exits 1 when either differs
/// from what changed (N×M, the changes, 0). Figures go to stdout as `name: value`; progress and
/// the CPU split to stderr.

// MARK: - Options

struct Options {
    var connections = 10_000
    var events = 50
    var concurrency = 32
    /// calendar-monitor's ATTACHE_DATABASE_POOL_SIZE: shared by the syncs and the relay.
    var pool = 8
    /// The fake's largest page; the provider asks for 250.
    var pageSize = 250
    var changePercent = 1.0
    /// calendar-monitor paces each provider (ATTACHE_CALENDAR_REQUESTS_PER_SECOND, default 10);
    /// unpaced unless given, so that the bench measures the machinery rather than the quota.
    var requestsPerSecond: Int?
    var timeout: Duration = .seconds(3600)
    var logLevel: Logger.Level = .warning

    static let usage = """
        usage: bench-calendar [--connections N] [--events M] [--concurrency C] [--pool P] [--page-size S]
                              [--change-percent X] [--requests-per-second R] [--timeout SECONDS] [--log-level LEVEL]
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ name: String) -> String {
            guard let value = rest.popFirst() else { fail("\(name) needs a value\n\(usage)", status: 2) }
            return value
        }
        func positive(_ name: String, _ range: ClosedRange<Int> = 1...Int.max) -> Int {
            let text = value(name)
            guard let number = Int(text), range.contains(number) else {
                fail("\(name) wants a whole number in \(range.lowerBound)…\(range.upperBound), not '\(text)'", status: 2)
            }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--connections": options.connections = positive(argument, 1...1_000_000)
            case "--events": options.events = positive(argument, 1...2_000)
            case "--concurrency": options.concurrency = positive(argument, 1...512)
            case "--pool": options.pool = positive(argument, 1...64)
            case "--page-size": options.pageSize = positive(argument, 1...2_500)
            case "--requests-per-second": options.requestsPerSecond = positive(argument, 1...10_000)
            case "--timeout": options.timeout = .seconds(positive(argument))
            case "--change-percent":
                let text = value(argument)
                guard let percent = Double(text), percent > 0, percent <= 100 else {
                    fail("--change-percent wants a number in (0, 100], not '\(text)'", status: 2)
                }
                options.changePercent = percent
            case "--log-level":
                let text = value(argument)
                guard let level = Logger.Level(rawValue: text) else { fail("--log-level: unknown level '\(text)'", status: 2) }
                options.logLevel = level
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown option \(argument)\n\(usage)", status: 2)
            }
        }
        return options
    }

    var totalEvents: Int { connections * events }
    var changes: Int { max(1, min(totalEvents, Int((Double(totalEvents) * changePercent / 100).rounded()))) }
}

// MARK: - Small helpers

func say(_ message: String) {
    FileHandle.standardError.write(Data("bench-calendar: \(message)\n".utf8))
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("bench-calendar: \(message)\n".utf8))
    exit(status)
}

/// A failed check: the figures are wrong, not the bench.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func fixed(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

/// SplitMix64: the same "random" data on every run.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// A PostgreSQL array literal of quoted elements (each element may hold commas, quotes, braces).
func arrayLiteral(_ values: [String]) -> String {
    var text = "{"
    for (index, value) in values.enumerated() {
        if index > 0 { text += "," }
        text += "\""
        text += value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        text += "\""
    }
    return text + "}"
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// RFC 3339 for `seconds` since the epoch, written in a fixed UTC offset (`Z` for 0), fast:
/// the fake writes a million of them.
func rfc3339(_ seconds: Int64, offset: Int = 0, fraction: Bool = false) -> String {
    let local = seconds + Int64(offset)
    let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
    let secondOfDay = Int(local - days * 86_400)
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = Int(doy - (153 * mp + 2) / 5 + 1)
    let month = Int(mp < 10 ? mp + 3 : mp - 9)
    let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    var text = "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
    if fraction { text += ".000" }
    if offset == 0 {
        text += "Z"
    } else {
        let minutes = abs(offset) / 60
        text += (offset < 0 ? "-" : "+") + two(minutes / 60) + ":" + two(minutes % 60)
    }
    return text
}

/// FNV-1a: ties a page token to the query it continues.
func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
    }
    return hash
}

// MARK: - The fake Google Calendar

/// Google Calendar API v3 as calendar-monitor's provider uses it, for N generated calendars:
///
/// - `GET /calendar/v3/calendars/{id}/events`: needs `Authorization: Bearer` with the
///   calendar's access token (401 `authError` otherwise) and `singleEvents=true`. A full listing
///   returns the events overlapping `timeMin`/`timeMax` (end > timeMin, start < timeMax); with
///   `syncToken` (which Google refuses together with timeMin/timeMax/orderBy/q/updatedMin: 400)
///   exactly the events changed since the token, deleted ones as bare `cancelled` tombstones;
///   a token this server never issued answers 410 `fullSyncRequired`. Pages hold at most
///   min(maxResults, page size) items and link with `nextPageToken`, which is valid only for
///   the same query; the last page carries `nextSyncToken`.
/// - `POST /token`: OAuth refresh (`grant_type=refresh_token`). Every connection starts with an
///   access token valid for 30 days, so the bench expects no refresh; they are counted.
///
/// Calendar `bench-<c>@group.calendar.google.com` (access token `ya29.bench-<c>`) holds M timed
/// events over the next 13 days in one of three zones, with 1–6 attendees, most with a Meet
/// link. Each event has a version; a change bumps the global change counter, and sync tokens
/// are `sync-<counter>`. Event JSON is rendered once and again only when the event changes.
final class FakeGoogleCalendar: Sendable {
    struct Storage {
        var counter = 1
        var starts: [Int64]
        var ends: [Int64]
        var versions: [Int32]
        /// How often the event was renamed (its title says so).
        var renames: [Int32]
        var changedAt: [Int]
        var deleted: [Bool]
        var json: [[UInt8]]
    }

    struct Counts: Sendable {
        var fullListings = 0
        var incrementalListings = 0
        var pages = 0
        var eventsServed = 0
        var gone = 0
        var rejected = 0
        var tokenRequests = 0
        var handlerSeconds = 0.0

        static func - (a: Counts, b: Counts) -> Counts {
            Counts(
                fullListings: a.fullListings - b.fullListings, incrementalListings: a.incrementalListings - b.incrementalListings,
                pages: a.pages - b.pages, eventsServed: a.eventsServed - b.eventsServed, gone: a.gone - b.gone,
                rejected: a.rejected - b.rejected, tokenRequests: a.tokenRequests - b.tokenRequests,
                handlerSeconds: a.handlerSeconds - b.handlerSeconds)
        }
    }

    final class Stats: Sendable {
        let fullListings = Atomic<Int>(0)
        let incrementalListings = Atomic<Int>(0)
        let pages = Atomic<Int>(0)
        let eventsServed = Atomic<Int>(0)
        let gone = Atomic<Int>(0)
        let rejected = Atomic<Int>(0)
        let tokenRequests = Atomic<Int>(0)
        let handlerNanoseconds = Atomic<Int>(0)

        var counts: Counts {
            Counts(
                fullListings: fullListings.load(ordering: .relaxed), incrementalListings: incrementalListings.load(ordering: .relaxed),
                pages: pages.load(ordering: .relaxed), eventsServed: eventsServed.load(ordering: .relaxed),
                gone: gone.load(ordering: .relaxed), rejected: rejected.load(ordering: .relaxed),
                tokenRequests: tokenRequests.load(ordering: .relaxed),
                handlerSeconds: Double(handlerNanoseconds.load(ordering: .relaxed)) / 1e9)
        }
    }

    struct Zone: Sendable {
        var name: String
        var zone: TimeZone
    }

    static let clientID = "bench-calendar.apps.googleusercontent.com"
    static let clientSecret = "bench-calendar-secret"
    static let zones = [
        Zone(name: "UTC", zone: TimeZone(identifier: "UTC")!),
        Zone(name: "Europe/Berlin", zone: TimeZone(identifier: "Europe/Berlin")!),
        Zone(name: "America/New_York", zone: TimeZone(identifier: "America/New_York")!),
    ]
    static let titles = [
        "Weekly staff meeting", "1:1", "Customer call", "Design review", "Sprint planning", "Interview: backend engineer",
        "Quarterly business review", "Pipeline review", "Incident retrospective", "Board prep", "Vendor demo",
        "Hiring sync", "Product roadmap", "Coffee chat", "Security review", "All hands",
    ]
    static let firstNames = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Riley", "Casey", "Jamie", "Avery", "Quinn"]
    static let lastNames = ["Rivera", "Chen", "Okafor", "Schmidt", "Novak", "Haddad", "Ito", "Larsen", "Silva", "Kowalski"]
    static let responses = ["accepted", "needsAction", "tentative", "declined", "accepted", "accepted"]

    let connections: Int
    let eventsPerCalendar: Int
    let pageSize: Int
    /// The hour the calendars are generated from; every event lies within 13 days after it.
    let base: Int64
    let storage: Mutex<Storage>
    let stats = Stats()
    nonisolated(unsafe) private(set) var port = 0
    nonisolated(unsafe) private var task: Task<Void, any Error>?

    init(connections: Int, eventsPerCalendar: Int, pageSize: Int, now: Date = Date()) {
        self.connections = connections
        self.eventsPerCalendar = eventsPerCalendar
        self.pageSize = pageSize
        let base = (Int64(now.timeIntervalSince1970) / 3600 + 1) * 3600
        self.base = base
        let total = connections * eventsPerCalendar
        var storage = Storage(
            starts: [Int64](repeating: 0, count: total), ends: [Int64](repeating: 0, count: total),
            versions: [Int32](repeating: 0, count: total), renames: [Int32](repeating: 0, count: total), changedAt: [Int](repeating: 1, count: total),
            deleted: [Bool](repeating: false, count: total), json: [])
        storage.json.reserveCapacity(total)
        for index in 0..<total {
            let (c, e) = index.quotientAndRemainder(dividingBy: eventsPerCalendar)
            // Quarter hours over 13 days (1248 slots), spread by calendar and event.
            let slot = Int64((c &* 37 &+ e &* 131 &+ (c / 7) &* 11) % 1248)
            let start = base + 3600 + slot * 900
            let minutes: Int64 = [30, 45, 60, 25, 50][(c + e) % 5]
            storage.starts[index] = start
            storage.ends[index] = start + minutes * 60
            storage.json.append(Self.render(storage, index: index, eventsPerCalendar: eventsPerCalendar))
        }
        storage.counter = 1
        self.storage = Mutex(storage)
    }

    static func calendarID(_ c: Int) -> String { "bench-\(c)@group.calendar.google.com" }
    static func accessToken(_ c: Int) -> String { "ya29.bench-\(c)" }
    static func refreshToken(_ c: Int) -> String { "1//bench-refresh-\(c)" }
    static func zone(of c: Int) -> Zone { zones[c % zones.count] }

    /// One Event resource (https://developers.google.com/calendar/api/v3/reference/events).
    static func render(_ storage: Storage, index: Int, eventsPerCalendar: Int) -> [UInt8] {
        let (c, e) = index.quotientAndRemainder(dividingBy: eventsPerCalendar)
        let id = "bc\(c)e\(e)"
        let version = Int(storage.versions[index])
        let updated = rfc3339(1_735_689_600 + Int64(version) * 60, fraction: true)
        if storage.deleted[index] {
            // How Google reports a deleted event in incremental results.
            return Array(#"{"kind":"calendar#event","etag":"\"\#(3_181_161_784_712_000 + version)\"","id":"\#(id)","status":"cancelled","updated":"\#(updated)"}"#.utf8)
        }
        let zone = zone(of: c)
        let start = storage.starts[index]
        let end = storage.ends[index]
        let startOffset = zone.zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(start)))
        let endOffset = zone.zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(end)))
        let owner = "owner\(c)@bench.example.com"
        let ownerName = "\(firstNames[c % 10]) \(lastNames[(c / 10) % 10])"
        var title = titles[(c + 3 * e) % titles.count]
        if title == "1:1" { title = "1:1 \(ownerName) / \(firstNames[(c + e + 1) % 10])" }
        if title == "Customer call" { title = "Customer call: Acme \(e % 7)" }
        if storage.renames[index] > 0 { title += " (renamed \(storage.renames[index]))" }
        let description = "Agenda:\n1. Updates\n2. Decisions\nNotes: https://docs.example.com/d/\(c)-\(e)"
        var attendees = [
            #"{"email":\#(jsonString(owner)),"displayName":\#(jsonString(ownerName)),"organizer":true,"self":true,"responseStatus":"accepted"}"#
        ]
        for k in 0..<((c + e) % 6) {
            let first = firstNames[(c + e + k) % 10]
            let last = lastNames[(e + 2 * k) % 10]
            let domain = k % 3 == 2 ? "acme.example.org" : "bench.example.com"
            var person = #"{"email":"\#(first.lowercased()).\#(last.lowercased())\#(k)@\#(domain)","displayName":"\#(first) \#(last)","responseStatus":"\#(responses[(c + k) % responses.count])""#
            if k == 4 { person += #","optional":true"# }
            attendees.append(person + "}")
        }
        if e % 9 == 4 {
            attendees.append(#"{"email":"c_1888room\#(c % 50)@resource.calendar.google.com","displayName":"Room \#(c % 50)","resource":true,"responseStatus":"accepted"}"#)
        }
        var conference = ""
        var location = ""
        switch e % 4 {
        case 0, 1, 2:
            let code = "\(letters(c, 3))-\(letters(e &+ 7 &* c, 4))-\(letters(c &* 31 &+ e, 3))"
            conference = #","hangoutLink":"https://meet.google.com/\#(code)","conferenceData":{"entryPoints":[{"entryPointType":"video","uri":"https://meet.google.com/\#(code)","label":"meet.google.com/\#(code)"},{"entryPointType":"phone","uri":"tel:+1-555-010-\#(1000 + e)","label":"+1 555-010-\#(1000 + e)","pin":"\#(100_000 + c)"}],"conferenceSolution":{"key":{"type":"hangoutsMeet"},"name":"Google Meet"},"conferenceId":"\#(code)"}"#
        default:
            location = #","location":"https://zoom.us/j/\#(9_000_000_000 + c * 100 + e)""#
        }
        let json = #"""
            {"kind":"calendar#event","etag":"\"\#(3_181_161_784_712_000 + version)\"","id":"\#(id)","status":"confirmed","htmlLink":"https://www.google.com/calendar/event?eid=\#(id)","created":"2025-01-01T00:00:00.000Z","updated":"\#(updated)","summary":\#(jsonString(title)),"description":\#(jsonString(description))\#(location),"creator":{"email":\#(jsonString(owner)),"self":true},"organizer":{"email":\#(jsonString(owner)),"displayName":\#(jsonString(ownerName)),"self":true},"start":{"dateTime":"\#(rfc3339(start, offset: startOffset))","timeZone":"\#(zone.name)"},"end":{"dateTime":"\#(rfc3339(end, offset: endOffset))","timeZone":"\#(zone.name)"},"iCalUID":"\#(id)@google.com","sequence":\#(version),"attendees":[\#(attendees.joined(separator: ","))]\#(conference),"reminders":{"useDefault":true},"eventType":"default"}
            """#
        return Array(json.utf8)
    }

    static func letters(_ seed: Int, _ count: Int) -> String {
        var value = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15
        var text = ""
        for _ in 0..<count {
            text.append(Character(UnicodeScalar(UInt8(97 + value % 26))))
            value /= 26
            value = value &* 6_364_136_223_846_793_005 &+ 1
        }
        return text
    }

    // MARK: Changing calendars

    struct ChangeSummary: Sendable {
        var retitled = 0
        var moved = 0
        var deleted = 0
        var total: Int { retitled + moved + deleted }
        var published: (upserted: Int, cancelled: Int) { (retitled + moved, deleted) }
    }

    /// Changes `count` distinct events, spread at random over all calendars: 80 % get a new
    /// title, 10 % move by 30 minutes, 10 % are deleted. Each change bumps the version and
    /// the change counter.
    func change(_ count: Int, seed: UInt64) -> ChangeSummary {
        storage.withLock { storage in
            var random = SplitMix64(state: seed)
            var picked = Set<Int>()
            let total = storage.starts.count
            var summary = ChangeSummary()
            while picked.count < count {
                let index = random.below(total)
                guard !storage.deleted[index], picked.insert(index).inserted else { continue }
                storage.counter += 1
                storage.versions[index] += 1
                storage.changedAt[index] = storage.counter
                switch picked.count % 10 {
                case 1:
                    storage.starts[index] += 1800
                    storage.ends[index] += 1800
                    summary.moved += 1
                case 2:
                    storage.deleted[index] = true
                    summary.deleted += 1
                default:
                    storage.renames[index] += 1
                    summary.retitled += 1
                }
                storage.json[index] = Self.render(storage, index: index, eventsPerCalendar: eventsPerCalendar)
            }
            return summary
        }
    }

    // MARK: Serving

    var url: String { "http://127.0.0.1:\(port)" }

    func start(logger: Logger) async throws {
        let router = Router()
        router.get("/calendar/v3/calendars/:calendarID/events") { request, context -> Response in
            let started = ContinuousClock.now
            defer { self.stats.handlerNanoseconds.add(Int(seconds(ContinuousClock.now - started) * 1e9), ordering: .relaxed) }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            return self.list(
                calendarID: context.parameters.get("calendarID")?.removingPercentEncoding ?? "",
                authorization: request.headers[.authorization], query: query)
        }
        router.post("/token") { request, _ -> Response in
            let body = String(decoding: try await request.body.collect(upTo: 1 << 16).readableBytesView, as: UTF8.self)
            return self.token(body)
        }
        var quiet = logger
        quiet.logLevel = .critical  // cancelling the server at the end logs errors
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-google-calendar", backlog: 1024),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: quiet)
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
        guard port != 0 else { throw BenchFailure("the fake Google Calendar did not start") }
    }

    func stop() { task?.cancel() }

    func list(calendarID: String, authorization: String?, query: [String: String]) -> Response {
        let prefix = "bench-", suffix = "@group.calendar.google.com"
        guard calendarID.hasPrefix(prefix), calendarID.hasSuffix(suffix),
            let c = Int(calendarID.dropFirst(prefix.count).dropLast(suffix.count)), (0..<connections).contains(c)
        else {
            stats.rejected.add(1, ordering: .relaxed)
            return Self.error(404, domain: "global", reason: "notFound", message: "Not Found")
        }
        guard authorization == "Bearer " + Self.accessToken(c) else {
            stats.rejected.add(1, ordering: .relaxed)
            return Self.unauthorised()
        }
        guard query["singleEvents"] == "true" else {
            stats.rejected.add(1, ordering: .relaxed)
            return Self.error(400, domain: "global", reason: "invalid", message: "this fake serves expanded instances only (singleEvents=true)")
        }
        let showDeleted = query["showDeleted"] == "true"
        let size = max(1, min(Int(query["maxResults"] ?? "250") ?? 250, pageSize))
        var signature = query
        signature["pageToken"] = nil
        let signatureHash = fnv1a(signature.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&"))

        // A page token: p<offset>.<snapshot>.<query hash>.
        var offset = 0
        var snapshot: Int?
        if let pageToken = query["pageToken"] {
            let parts = pageToken.split(separator: ".")
            guard parts.count == 4, parts[0] == "p", let from = Int(parts[1]), let at = Int(parts[2]),
                UInt64(parts[3]) == signatureHash
            else {
                stats.rejected.add(1, ordering: .relaxed)
                return Self.error(400, domain: "global", reason: "invalid", message: "Invalid page token value or changed parameters.")
            }
            offset = from
            snapshot = at
        }
        let incremental = query["syncToken"]
        var since = 0
        if let incremental {
            let restricted = ["timeMin", "timeMax", "orderBy", "q", "iCalUID", "updatedMin", "privateExtendedProperty", "sharedExtendedProperty"]
            if restricted.contains(where: { query[$0] != nil }) || query["showDeleted"] == "false" {
                stats.rejected.add(1, ordering: .relaxed)
                return Self.error(
                    400, domain: "calendar", reason: "syncTokenWithRequestRestrictions",
                    message: "Sync token cannot be used with other request restrictions.")
            }
            guard incremental.hasPrefix("sync-"), let value = Int(incremental.dropFirst(5)), value >= 1 else {
                stats.gone.add(1, ordering: .relaxed)
                return Self.error(410, domain: "calendar", reason: "fullSyncRequired", message: "Sync token is no longer valid, a full sync is required.")
            }
            since = value
        }
        var timeMin: Int64 = .min, timeMax: Int64 = .max
        if incremental == nil {
            if let text = query["timeMin"] {
                guard let date = Self.parse(text) else { return Self.badRequest("timeMin") }
                timeMin = date
            }
            if let text = query["timeMax"] {
                guard let date = Self.parse(text) else { return Self.badRequest("timeMax") }
                timeMax = date
            }
        }

        let m = eventsPerCalendar
        let (items, counter): ([[UInt8]], Int) = storage.withLock { storage in
            if incremental != nil, since > storage.counter { return ([], -1) }
            var items: [[UInt8]] = []
            items.reserveCapacity(m)
            for index in (c * m)..<(c * m + m) {
                if incremental != nil {
                    if storage.changedAt[index] > since { items.append(storage.json[index]) }
                } else if (showDeleted || !storage.deleted[index]), storage.ends[index] > timeMin, storage.starts[index] < timeMax {
                    items.append(storage.json[index])
                }
            }
            return (items, storage.counter)
        }
        guard counter >= 0 else {
            stats.gone.add(1, ordering: .relaxed)
            return Self.error(410, domain: "calendar", reason: "fullSyncRequired", message: "Sync token is no longer valid, a full sync is required.")
        }
        let at = snapshot ?? counter
        if offset == 0 {
            if incremental != nil {
                stats.incrementalListings.add(1, ordering: .relaxed)
            } else {
                stats.fullListings.add(1, ordering: .relaxed)
            }
        }
        let page = items[min(offset, items.count)..<min(offset + size, items.count)]
        stats.pages.add(1, ordering: .relaxed)
        stats.eventsServed.add(page.count, ordering: .relaxed)
        let zone = Self.zone(of: c)
        var buffer = ByteBufferAllocator().buffer(capacity: page.reduce(400) { $0 + $1.count + 1 })
        buffer.writeString(
            #"{"kind":"calendar#events","etag":"\"p\#(at)\"","summary":"\#(Self.calendarID(c))","description":"","updated":"2025-01-01T00:00:00.000Z","timeZone":"\#(zone.name)","accessRole":"owner","defaultReminders":[{"method":"popup","minutes":10}],"#)
        if offset + size < items.count {
            buffer.writeString(#""nextPageToken":"p.\#(offset + size).\#(at).\#(signatureHash)","#)
        } else {
            buffer.writeString(#""nextSyncToken":"sync-\#(at)","#)
        }
        buffer.writeString(#""items":["#)
        for (number, item) in page.enumerated() {
            if number > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeBytes(item)
        }
        buffer.writeString("]}")
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=UTF-8"], body: .init(byteBuffer: buffer))
    }

    func token(_ body: String) -> Response {
        stats.tokenRequests.add(1, ordering: .relaxed)
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            form[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        guard form["client_id"] == Self.clientID, form["client_secret"] == Self.clientSecret else {
            return Self.json(401, #"{"error": "invalid_client"}"#)
        }
        let prefix = "1//bench-refresh-"
        guard form["grant_type"] == "refresh_token", let refresh = form["refresh_token"], refresh.hasPrefix(prefix),
            let c = Int(refresh.dropFirst(prefix.count)), (0..<connections).contains(c)
        else {
            return Self.json(400, #"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#)
        }
        return Self.json(200, #"{"access_token": "\#(Self.accessToken(c))", "expires_in": 3599, "token_type": "Bearer"}"#)
    }

    /// RFC 3339 as the provider writes it (`2026-01-05T10:00:00Z`, perhaps with fractions or an offset).
    static func parse(_ text: String) -> Int64? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle()))
            .map { Int64($0.timeIntervalSince1970) }
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            .map { Int64($0.timeIntervalSince1970) }
    }

    static func json(_ status: Int, _ body: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json; charset=UTF-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func badRequest(_ parameter: String) -> Response {
        error(400, domain: "global", reason: "invalidParameter", message: "Invalid value for: \(parameter)")
    }

    static func error(_ status: Int, domain: String, reason: String, message: String) -> Response {
        json(
            status,
            #"{"error": {"errors": [{"domain": "\#(domain)", "reason": "\#(reason)", "message": "\#(message)"}], "code": \#(status), "message": "\#(message)"}}"#)
    }

    static func unauthorised() -> Response {
        var response = json(
            401,
            #"{"error": {"errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials", "locationType": "header", "location": "Authorization"}], "code": 401, "message": "Invalid Credentials"}}"#)
        response.headers[.wwwAuthenticate] = #"Bearer realm="https://accounts.google.com/", error="invalid_token""#
        return response
    }
}

// MARK: - Where the CPU goes

/// CPU seconds of the processes and threads that take part: this process split by thread
/// (NIO event loops serve the fake; Swift's cooperative pool runs the async code: the
/// provider's decoding, the scheduler, the relay; dispatch's overcommit threads run what
/// blocks: libpq with the transaction bodies that MeetingSync and ConnectionStore hand to the
/// pool, libcurl transfers, librabbitmq), the PostgreSQL cluster, the broker, and the machine.
struct CPUSample {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    var processSeconds: Double
    var threads: [Int: (name: String, ticks: Int)]
    var postgres: [Int: Int]
    var broker: [Int: Int]
    var machineBusy: Int
    var machineTotal: Int

    static func take(postmaster: Int?, broker brokerPIDs: [Int]) -> CPUSample {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let process = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        var threads: [Int: (name: String, ticks: Int)] = [:]
        for tid in pids(in: "/proc/self/task") {
            if let stat = stat("/proc/self/task/\(tid)/stat") { threads[tid] = (stat.name, stat.ticks) }
        }
        var postgres: [Int: Int] = [:]
        if let postmaster {
            for pid in pids(in: "/proc") {
                guard let stat = stat("/proc/\(pid)/stat"), pid == postmaster || stat.parent == postmaster else { continue }
                postgres[pid] = stat.ticks
            }
        }
        var broker: [Int: Int] = [:]
        for pid in brokerPIDs { if let stat = stat("/proc/\(pid)/stat") { broker[pid] = stat.ticks } }
        var busy = 0, total = 0
        if let line = try? String(contentsOfFile: "/proc/stat", encoding: .utf8).split(separator: "\n").first {
            let fields = line.split(separator: " ").dropFirst().compactMap { Int($0) }
            total = fields.reduce(0, +)
            busy = total - (fields.count > 4 ? fields[3] + fields[4] : 0)  // minus idle and iowait
        }
        return CPUSample(
            processSeconds: process, threads: threads, postgres: postgres, broker: broker, machineBusy: busy,
            machineTotal: total)
    }

    static func pids(in directory: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { Int($0) }
    }

    /// Name, parent and user+system ticks from /proc/…/stat.
    static func stat(_ path: String) -> (name: String, parent: Int, ticks: Int)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let open = text.firstIndex(of: "("),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let parent = Int(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else {
            return nil
        }
        return (name, parent, user + system)
    }

    /// The broker's Erlang VM: the beam.smp whose home is under `.state/<profile>`.
    static func brokerPIDs(profile: String) -> [Int] {
        pids(in: "/proc").filter { pid in
            guard let stat = stat("/proc/\(pid)/stat"), stat.name == "beam.smp",
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            else { return false }
            return command.contains("/.state/\(profile)/") || command.contains("/.state/\(profile)-")
        }
    }

    struct Split {
        var fakeServer = 0.0
        /// Swift's cooperative pool (threads named com.apple.root.default-qos).
        var async = 0.0
        /// Everything else in this process: blocking work on dispatch's overcommit threads, AMQP threads.
        var blocking = 0.0
        var bench: Double { async + blocking }
        var postgres = 0.0
        var broker = 0.0
        var machine = 0.0
        var machineCapacity = 0.0
        var others: Double { max(0, machine - fakeServer - bench - postgres - broker) }
    }

    static func - (end: CPUSample, start: CPUSample) -> Split {
        let tick = 1 / ticksPerSecond
        var split = Split()
        for (tid, thread) in end.threads {
            let seconds = Double(thread.ticks - (start.threads[tid]?.ticks ?? 0)) * tick
            if thread.name.hasPrefix("NIO-") {
                split.fakeServer += seconds
            } else if thread.name.hasSuffix("default-qos") {
                split.async += seconds
            }
        }
        // Threads that ended meanwhile count in the process total: they were blocking work.
        let process = end.processSeconds - start.processSeconds
        split.blocking = max(0, process - split.fakeServer - split.async)
        split.postgres = Double(end.postgres.reduce(0) { $0 + $1.value - (start.postgres[$1.key] ?? 0) }) * tick
        split.broker = Double(end.broker.reduce(0) { $0 + $1.value - (start.broker[$1.key] ?? 0) }) * tick
        split.machine = Double(end.machineBusy - start.machineBusy) * tick
        split.machineCapacity = Double(end.machineTotal - start.machineTotal) * tick
        return split
    }
}

// MARK: - The bench

struct CycleResult {
    var name: String
    var seconds: Double
    var syncSeconds: Double
    var published: Int
    var rowsWritten: Int
    var rowsInserted: Int
    var failuresSeen: Int
    var fake: FakeGoogleCalendar.Counts
    var cpu: CPUSample.Split
}

struct Bench {
    let options: Options
    let fake: FakeGoogleCalendar
    /// For watching, so that watching never waits behind the syncs for a connection.
    let watcher: PostgresPool
    let broker: AMQPConfiguration
    let countQueue: String
    let wakeup: WakeSignal
    let postmaster: Int?
    let brokerPIDs: [Int]

    /// Makes every connection due, wakes the scheduler, and waits until each has synced since
    /// and the outbox is empty.
    func cycle(_ name: String) async throws -> CycleResult {
        let n = options.connections
        let cpuBefore = CPUSample.take(postmaster: postmaster, broker: brokerPIDs)
        let fakeBefore = fake.stats.counts
        let started = ContinuousClock.now
        // The database's clock stamps updated_at and last_success_at: the cycle starts by it.
        let since = try await watcher.transaction { db in
            let now = try db.queryOne("SELECT now()::text AS now")!.string("now")
            try db.execute("UPDATE calendar.connections SET next_sync_at = now()")
            return now
        }
        wakeup.wake()
        var synced = 0
        var outbox = 0
        var failing = 0
        var failuresSeen = 0
        var syncDone: Duration?
        var lastReport = started
        while true {
            try await Task.sleep(for: .milliseconds(200))
            let row = try await watcher.withConnection { db in
                try db.queryOne(
                    """
                    SELECT count(*) FILTER (WHERE last_success_at >= $1::timestamptz) AS synced,
                           count(*) FILTER (WHERE consecutive_failures > 0) AS failing,
                           (SELECT count(*) FROM calendar.outbox) AS outbox
                    FROM calendar.connections
                    """, [since])!
            }
            synced = try row.int("synced")
            failing = try row.int("failing")
            outbox = try row.int("outbox")
            failuresSeen = max(failuresSeen, failing)
            let now = ContinuousClock.now
            if synced == n, syncDone == nil { syncDone = now - started }
            if synced == n, outbox == 0 { break }
            if now - lastReport >= .seconds(10) {
                lastReport = now
                say(
                    "\(name): \(fixed(seconds(now - started), 0)) s, \(synced)/\(n) connections synced, outbox \(outbox)"
                        + (failing > 0 ? ", \(failing) failing (retried after a backoff)" : ""))
            }
            if now - started > options.timeout {
                throw BenchFailure(
                    "\(name) cycle: not finished after \(options.timeout): \(synced)/\(n) connections synced, outbox \(outbox), \(failing) failing")
            }
        }
        let elapsed = ContinuousClock.now - started
        let cpu = CPUSample.take(postmaster: postmaster, broker: brokerPIDs) - cpuBefore
        let fakeCounts = fake.stats.counts - fakeBefore
        let rows = try await watcher.withConnection { db in
            try db.queryOne(
                """
                SELECT count(*) FILTER (WHERE updated_at >= $1::timestamptz) AS written,
                       count(*) FILTER (WHERE first_seen_at >= $1::timestamptz) AS inserted
                FROM calendar.meetings
                """, [since])!
        }
        let published = try await countPublished()
        return CycleResult(
            name: name, seconds: seconds(elapsed), syncSeconds: seconds(syncDone ?? elapsed), published: published,
            rowsWritten: try rows.int("written"), rowsInserted: try rows.int("inserted"), failuresSeen: failuresSeen,
            fake: fakeCounts, cpu: cpu)
    }

    /// Messages on the counting queue. Every one was confirmed before its outbox row went, so
    /// the count is final once the outbox is empty; it is read until it holds still, to be sure.
    func countPublished() async throws -> Int {
        let queue = countQueue
        return try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            var count = try channel.messageCount(queue: queue)
            for _ in 0..<5 {
                Thread.sleep(forTimeInterval: 0.2)
                let again = try channel.messageCount(queue: queue)
                if again == count { break }
                count = again
            }
            return count
        }
    }

    /// Empties the counting queue (by deleting and declaring it again) between cycles.
    func resetCountQueue(exchange: String) async throws {
        let queue = countQueue
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.deleteQueue(queue)
            try channel.declare(Bench.countTopology(queue: queue, exchange: exchange))
        }
    }

    /// Takes every message off the counting queue: routing keys and the meetings they name.
    func drainPublished() async throws -> (upserted: Int, cancelled: Int, other: Int, meetings: Int, problems: [String]) {
        let queue = countQueue
        return try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            var upserted = 0, cancelled = 0, other = 0
            var meetings = Set<UUID>()
            var problems: [String] = []
            while let message = try channel.get(queue: queue) {
                try channel.ack(message)
                switch message.routingKey {
                case MeetingUpserted.messageType.routingKey:
                    upserted += 1
                    let envelope = try MessageCoding.decode(Envelope<MeetingUpserted>.self, from: message.body)
                    meetings.insert(envelope.payload.meeting.meetingID)
                    let fields = envelope.payload.changedFields
                    if envelope.payload.isNew || !(fields == ["title"] || fields == ["start", "end"]), problems.count < 5 {
                        problems.append("meeting.upserted with is_new \(envelope.payload.isNew), changed_fields \(fields)")
                    }
                case MeetingCancelled.messageType.routingKey:
                    cancelled += 1
                    meetings.insert(try MessageCoding.decode(Envelope<MeetingCancelled>.self, from: message.body).payload.meetingID)
                default:
                    other += 1
                }
            }
            return (upserted, cancelled, other, meetings.count, problems)
        }
    }

    static func countTopology(queue: String, exchange: String) -> Topology {
        Topology(queues: [.init(name: queue)], bindings: [.init(queue: queue, exchange: exchange, routingKey: "meeting.#")])
    }
}

func report(_ result: CycleResult) {
    let cpu = result.cpu
    say(
        """
        \(result.name): \(fixed(result.seconds)) s (all connections synced at \(fixed(result.syncSeconds)) s), \
        \(result.rowsWritten) rows written (\(result.rowsInserted) new), \(result.published) events published; \
        fake Google: \(result.fake.fullListings) full + \(result.fake.incrementalListings) incremental listings, \
        \(result.fake.pages) pages, \(result.fake.eventsServed) events, \(result.fake.gone) × 410, \(result.fake.rejected) rejected, \
        \(result.fake.tokenRequests) token requests, \(fixed(result.fake.handlerSeconds)) s in handlers
        \(result.name) CPU seconds (\(fixed(cpu.machineCapacity, 0)) available on all cores, \(fixed(cpu.machine, 1)) busy): \
        calendar-monitor's code \(fixed(cpu.bench, 1)) (async \(fixed(cpu.async, 1)), blocking threads \(fixed(cpu.blocking, 1))), \
        fake Google (NIO threads) \(fixed(cpu.fakeServer, 1)), PostgreSQL \(fixed(cpu.postgres, 1)), RabbitMQ \(fixed(cpu.broker, 1)), \
        everything else on the machine \(fixed(cpu.others, 1))
        """)
}

func printFigures(_ result: CycleResult, _ key: String, connections: Int) {
    print("calendar.\(key).seconds: \(fixed(result.seconds))")
    print("calendar.\(key).sync_seconds: \(fixed(result.syncSeconds))")
    print("calendar.\(key).events_published: \(result.published)")
    print("calendar.\(key).rows_written: \(result.rowsWritten)")
    if key != "full" {
        print("calendar.\(key).connections_per_s: \(Int((Double(connections) / result.seconds).rounded()))")
    }
}

/// Where the CPU went, in seconds (2 cores give 2 per second of the cycle).
func printCPU(_ result: CycleResult, _ key: String) {
    let cpu = result.cpu
    print("calendar.\(key).cpu.available_s: \(fixed(cpu.machineCapacity, 1))")
    print("calendar.\(key).cpu.calendar_monitor_s: \(fixed(cpu.bench, 1))")
    print("calendar.\(key).cpu.fake_google_s: \(fixed(cpu.fakeServer, 1))")
    print("calendar.\(key).cpu.postgres_s: \(fixed(cpu.postgres, 1))")
    print("calendar.\(key).cpu.rabbitmq_s: \(fixed(cpu.broker, 1))")
    print("calendar.\(key).cpu.other_processes_s: \(fixed(cpu.others, 1))")
}

func run(_ options: Options) async -> Int32 {
    var logger = Logger(label: "bench-calendar")
    logger.logLevel = options.logLevel
    let environment = ProcessInfo.processInfo.environment
    guard let databaseURL = environment["ATTACHE_DATABASE_URL"], let amqpURL = environment["ATTACHE_AMQP_URL"] else {
        fail("set ATTACHE_DATABASE_URL and ATTACHE_AMQP_URL (e.g. eval \"$(scripts/stack bench env)\")", status: 2)
    }
    let broker: AMQPConfiguration
    do { broker = try AMQPConfiguration(url: amqpURL) } catch { fail("ATTACHE_AMQP_URL: \(error)", status: 2) }
    guard var components = URLComponents(string: databaseURL) else { fail("ATTACHE_DATABASE_URL is not a URL", status: 2) }
    let pid = getpid()
    let database = "bench_calendar_\(pid)"
    components.path = "/" + database
    let benchURL = components.string!
    let prefix = "bench-calendar-\(pid)"
    let exchange = ServiceQueues.eventsExchange(prefix: prefix)
    let countQueue = "\(prefix).published"
    let n = options.connections, m = options.events

    say("\(n) connections × \(m) events, sync concurrency \(options.concurrency), database pool \(options.pool), "
        + "\(options.requestsPerSecond.map { "\($0) requests/s to Google" } ?? "unpaced")")

    // The fake Google Calendar.
    var clock = ContinuousClock.now
    let fake = FakeGoogleCalendar(connections: n, eventsPerCalendar: m, pageSize: options.pageSize)
    do { try await fake.start(logger: logger) } catch { fail("cannot start the fake Google Calendar: \(error)") }
    say("fake Google Calendar on \(fake.url): \(n * m) events rendered in \(fixed(seconds(ContinuousClock.now - clock))) s")

    // The database.
    let admin = PostgresPool(url: databaseURL, size: 1)
    do {
        // Databases of earlier runs that were interrupted before they could drop theirs.
        let stale = try await admin.withConnection { db in
            try db.query(#"SELECT datname FROM pg_database WHERE datname LIKE 'bench\_calendar\_%'"#).map { try $0.string("datname") }
        }
        for name in stale {
            guard let owner = Int32(name.dropFirst("bench_calendar_".count)), kill(owner, 0) == -1, errno == ESRCH else { continue }
            say("dropping \(name), left behind by an earlier run")
            _ = try await admin.withConnection { try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        }
        _ = try await admin.withConnection { try $0.execute("CREATE DATABASE \(database)") }
    } catch {
        fail("cannot create database \(database): \(error)")
    }
    var status: Int32 = 0
    var scheduler: Task<Void, any Error>?
    var relay: Task<Void, any Error>?
    var publisher: Publisher?
    do {
        // calendar-monitor's configuration, as its environment would give it.
        var keyBytes = [UInt8](repeating: 0, count: 32)
        for index in keyBytes.indices { keyBytes[index] = UInt8.random(in: 0...255) }
        let configuration = try CalendarMonitorConfiguration(
            Environment([
                "ATTACHE_DATABASE_URL": benchURL, "ATTACHE_AMQP_URL": amqpURL, "ATTACHE_BUS_PREFIX": prefix,
                "ATTACHE_DATABASE_POOL_SIZE": String(options.pool),
                "ATTACHE_CALENDAR_POLL_SECONDS": "86400",
                "ATTACHE_CALENDAR_SYNC_CONCURRENCY": String(options.concurrency),
                "ATTACHE_CREDENTIALS_KEY": Data(keyBytes).base64EncodedString(),
                "ATTACHE_GOOGLE_CLIENT_ID": FakeGoogleCalendar.clientID,
                "ATTACHE_GOOGLE_CLIENT_SECRET": FakeGoogleCalendar.clientSecret,
                "ATTACHE_GOOGLE_API_URL": fake.url + "/calendar/v3",
                "ATTACHE_GOOGLE_TOKEN_URL": fake.url + "/token",
            ]))
        guard let vault = configuration.vault, let google = configuration.google else {
            throw BenchFailure("the configuration has no credentials key or no Google provider")
        }

        let pool = PostgresPool(url: benchURL, size: options.pool)
        let watcher = PostgresPool(url: benchURL, size: 1)
        try await Migrator.migrate(pool, schema: MeetingsSchema.name, migrations: MeetingsSchema.allMigrations, logger: logger)

        // The connections, in bulk: sealed as ConnectionStore seals them, due in ten years.
        clock = ContinuousClock.now
        let expires = Date().addingTimeInterval(30 * 86_400)
        for batch in stride(from: 0, to: n, by: 1000) {
            let range = batch..<min(batch + 1000, n)
            var ids: [String] = [], tenants: [String] = [], owners: [String] = [], names: [String] = []
            var settings: [String] = [], sealed: [String] = []
            for c in range {
                let id = UUID()
                ids.append(id.uuidString.lowercased())
                tenants.append("bench-tenant-\(c / 100)")
                owners.append("owner\(c)@bench.example.com")
                names.append(FakeGoogleCalendar.calendarID(c))
                settings.append(
                    #"{"calendarID":\#(jsonString(FakeGoogleCalendar.calendarID(c))),"timeZone":"\#(FakeGoogleCalendar.zone(of: c).name)"}"#)
                sealed.append(
                    try vault.seal(
                        ConnectionCredentials(
                            refreshToken: FakeGoogleCalendar.refreshToken(c), accessToken: FakeGoogleCalendar.accessToken(c),
                            accessTokenExpiresAt: expires), for: id))
            }
            let parameters: [any PostgresBindable] = [
                arrayLiteral(ids), arrayLiteral(tenants), arrayLiteral(owners), arrayLiteral(names), arrayLiteral(settings),
                arrayLiteral(sealed),
            ]
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO calendar.connections (id, tenant_id, owner, kind, name, settings, sealed_credentials, next_sync_at)
                    SELECT u.id, u.tenant, u.owner, 'google', u.name, u.settings, u.sealed, now() + interval '10 years'
                    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
                        AS u(id, tenant, owner, name, settings, sealed)
                    """, parameters)
            }
        }
        say("\(n) connections inserted in \(fixed(seconds(ContinuousClock.now - clock))) s")

        // The broker: the events exchange and a queue of our own for every meeting event.
        let topology = ServiceQueues.eventsTopology(prefix: prefix) + Bench.countTopology(queue: countQueue, exchange: exchange)
        let bus = Publisher(configuration: broker, topology: topology, name: "publisher", logger: logger)
        publisher = bus
        let connectDeadline = ContinuousClock.now + .seconds(30)
        while !bus.isConnected {
            guard ContinuousClock.now < connectDeadline else { throw BenchFailure("cannot connect to RabbitMQ at \(broker)") }
            try await Task.sleep(for: .milliseconds(50))
        }

        // calendar-monitor's machinery, wired as CalendarMonitorApp wires it.
        let http = HTTPClient(
            rateLimit: options.requestsPerSecond.map { RateLimiter(perSecond: Double($0), burst: max(1, $0 * 2)) }, logger: logger)
        let outbox = try Outbox(schema: MeetingsSchema.name)
        let wakeup = WakeSignal()
        let syncScheduler = SyncScheduler(
            store: ConnectionStore(pool: pool, outbox: outbox, vault: vault), meetings: MeetingSync(pool: pool, outbox: outbox),
            providers: [.google: google.provider(http: http, logger: logger)], settings: configuration.scheduler,
            wakeup: wakeup, logger: logger)
        let outboxRelay = OutboxRelay(outbox: outbox, pool: pool, publisher: bus, exchange: exchange, logger: logger)
        scheduler = Task { try await syncScheduler.run() }
        relay = Task { try await outboxRelay.run() }

        let backend = try await watcher.withConnection { db in try db.queryOne("SELECT pg_backend_pid() AS pid")!.int("pid") }
        let postmaster = CPUSample.stat("/proc/\(backend)/stat")?.parent
        let bench = Bench(
            options: options, fake: fake, watcher: watcher, broker: broker, countQueue: countQueue,
            wakeup: wakeup, postmaster: postmaster,
            brokerPIDs: CPUSample.brokerPIDs(profile: environment["ATTACHE_STACK_PROFILE"] ?? "bench"))
        if postmaster == nil { say("PostgreSQL runs elsewhere: its CPU is not measured") }
        if bench.brokerPIDs.isEmpty { say("RabbitMQ's process not found: its CPU is not measured") }

        var problems: [String] = []

        // 1. Full.
        say("full cycle: every calendar read in full")
        let full = try await bench.cycle("full")
        report(full)
        if full.published != n * m { problems.append("full cycle published \(full.published) events for \(n * m) new events") }
        if full.rowsWritten != n * m { problems.append("full cycle wrote \(full.rowsWritten) rows for \(n * m) new events") }
        try await bench.resetCountQueue(exchange: exchange)

        // 2. Incremental.
        let changes = fake.change(options.changes, seed: 0x00C0_FFEE)
        say("incremental cycle: \(changes.total) events changed (\(changes.retitled) retitled, \(changes.moved) moved, \(changes.deleted) deleted)")
        let incremental = try await bench.cycle("incremental")
        report(incremental)
        if incremental.published != changes.total {
            problems.append("incremental cycle published \(incremental.published) events for \(changes.total) changes")
        }
        if incremental.rowsWritten != changes.total {
            problems.append("incremental cycle wrote \(incremental.rowsWritten) rows for \(changes.total) changes")
        }
        if incremental.fake.fullListings > 0 {
            problems.append("incremental cycle read \(incremental.fake.fullListings) calendars in full instead of with their sync token")
        }
        let drained = try await bench.drainPublished()
        say("incremental cycle published \(drained.upserted) meeting.upserted, \(drained.cancelled) meeting.cancelled, about \(drained.meetings) meetings")
        if drained.upserted != changes.published.upserted || drained.cancelled != changes.published.cancelled || drained.other != 0
            || drained.meetings != changes.total
        {
            problems.append(
                "incremental cycle published \(drained.upserted) upserted + \(drained.cancelled) cancelled + \(drained.other) other events "
                    + "about \(drained.meetings) meetings; expected \(changes.published.upserted) + \(changes.published.cancelled) about \(changes.total)")
        }
        problems += drained.problems

        // 3. No change.
        say("no-change cycle: nothing changed at the source")
        let nochange = try await bench.cycle("nochange")
        report(nochange)
        if nochange.published != 0 { problems.append("no-change cycle published \(nochange.published) events") }
        if nochange.rowsWritten != 0 { problems.append("no-change cycle wrote \(nochange.rowsWritten) rows") }

        let tokenRequests = full.fake.tokenRequests + incremental.fake.tokenRequests + nochange.fake.tokenRequests
        print("calendar.connections: \(n)")
        print("calendar.events: \(n * m)")
        print("calendar.concurrency: \(options.concurrency)")
        print("calendar.pool: \(options.pool)")
        print("calendar.full.events_per_s: \(Int((Double(n * m) / full.seconds).rounded()))")
        printFigures(full, "full", connections: n)
        printCPU(full, "full")
        print("calendar.incremental.changed: \(changes.total)")
        printFigures(incremental, "incremental", connections: n)
        printFigures(nochange, "nochange", connections: n)
        print("calendar.oauth_refreshes: \(tokenRequests)")
        print("calendar.sync_failures: \(full.failuresSeen + incremental.failuresSeen + nochange.failuresSeen)")
        if !problems.isEmpty {
            for problem in problems { say("FAILED: \(problem)") }
            status = 1
        }
    } catch {
        say("FAILED: \(error)")
        status = 1
    }

    // Tear down: stop the machinery, remove the bench's queues and database.
    scheduler?.cancel()
    relay?.cancel()
    _ = await scheduler?.result
    _ = await relay?.result
    await publisher?.close()
    fake.stop()
    do {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.deleteQueue(countQueue)
            try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
        }
    } catch {
        say("cannot delete the bench's queues \(countQueue), \(ServiceQueues.unroutedQueue(prefix: prefix)): \(error)")
    }
    do {
        _ = try await admin.withConnection { try $0.execute("DROP DATABASE \(database) WITH (FORCE)") }
    } catch {
        say("cannot drop database \(database): \(error)")
        if status == 0 { status = 1 }
    }
    return status
}

LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
exit(await run(options))
