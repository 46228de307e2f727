import Foundation
import HTTPClient
import Logging
import Store

/// bench-console: how fast the operators' console answers on real volumes.
///
///   bench-console DATABASE_URL CONSOLE_URL [MEETINGS] [TURNS_PER_CALL]
///
/// The database's six schemas must already be migrated, as the services migrate them (the
/// script starts each service once for that), and `attache-ops serve` must be listening at
/// CONSOLE_URL with ATTACHE_OPS_TOKEN from the environment. Writes MEETINGS meetings (default
/// 10 000), each with its whole life as the services record it (classification, workflow and
/// steps, notification, bot and statuses, a call of TURNS_PER_CALL turns (default 10, so
/// 100 000 turns) and its verdict), and a calendar connection for every fifth meeting, then signs in and asks for each page of the console as an
/// operator would, 30 times after 3 unmeasured.
///
/// Prints per page `console.<page>.p50_ms` and `.p95_ms` (the time to the whole answer, over
/// HTTP on loopback), then `console.slowest.p95_ms` and the counts seeded.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-console: \(message)\n".utf8))
    exit(2)
}

func say(_ message: String) { FileHandle.standardError.write(Data("==> \(message)\n".utf8)) }

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: bench-console DATABASE_URL CONSOLE_URL [MEETINGS] [TURNS_PER_CALL]") }
let databaseURL = arguments[1]
let consoleURL = arguments[2]
let meetingCount = arguments.count > 3 ? Int(arguments[3]) ?? 0 : 10_000
let turnsPerCall = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 10
guard meetingCount > 0, turnsPerCall > 0 else { fail("MEETINGS and TURNS_PER_CALL are positive whole numbers") }
guard let token = ProcessInfo.processInfo.environment["ATTACHE_OPS_TOKEN"] else { fail("ATTACHE_OPS_TOKEN is required") }

let pool = PostgresPool(url: databaseURL, size: 1)
say("writing \(meetingCount) meetings with \(meetingCount * turnsPerCall) turns")
let seeded = try await Volumes(pool: pool, meetings: meetingCount, turnsPerCall: turnsPerCall).write()

let client = try await ConsoleClient(base: consoleURL, token: token)
let sample = try await pool.withConnection { db in
    try db.query("SELECT id, title, organizer->>'email' AS owner FROM calendar.meetings ORDER BY id LIMIT 30").map {
        (id: try $0.uuid("id"), title: try $0.string("title"), owner: try $0.string("owner"))
    }
}
let middle = try await pool.withConnection { db in
    try db.queryOne("SELECT start_at FROM calendar.meetings ORDER BY start_at OFFSET $1 LIMIT 1", [meetingCount / 2])!
        .date("start_at")
}
let day = ISO8601DateFormatter.string(from: middle, timeZone: .gmt, formatOptions: [.withFullDate])

// Each page as an operator reaches it; the `i`th request of a page varies what it asks for.
let pages: [(name: String, path: @Sendable (Int) -> String)] = [
    ("meetings", { _ in "/meetings" }),
    ("meetings_by_title", { i in "/meetings?title=" + sample[i % sample.count].title.split(separator: " ")[0] }),
    ("meetings_by_owner", { i in "/meetings?owner=" + sample[i % sample.count].owner }),
    ("meetings_on_a_day", { _ in "/meetings?from=\(day)&to=\(day)" }),
    ("story", { i in "/meetings/\(sample[i % sample.count].id.uuidString.lowercased())" }),
    ("workflows", { _ in "/workflows" }),
    ("workflows_by_state", { _ in "/workflows?state=materials_sent" }),
    ("workflows_page_50", { _ in "/workflows?page=50" }),
    ("calls", { _ in "/calls" }),
    ("calls_by_status", { _ in "/calls?status=fail" }),
    ("calls_page_50", { _ in "/calls?page=50" }),
    ("connections", { _ in "/connections" }),
    ("connections_page_20", { _ in "/connections?page=20" }),
    ("parked", { _ in "/parked" }),
    ("system", { _ in "/system" }),
]

var slowest = 0.0
var lines: [String] = []
for page in pages {
    for i in 0..<3 { _ = try await client.get(page.path(i)) }
    var times: [Double] = []
    for i in 0..<30 {
        let began = ContinuousClock.now
        let length = try await client.get(page.path(i))
        times.append((ContinuousClock.now - began).milliseconds)
        if length == 0 { fail("\(page.path(i)) answered an empty page") }
    }
    times.sort()
    let p50 = times[times.count / 2]
    let p95 = times[Int((Double(times.count) * 0.95).rounded(.up)) - 1]
    slowest = max(slowest, p95)
    say("\(page.name): p50 \(String(format: "%.1f", p50)) ms, p95 \(String(format: "%.1f", p95)) ms")
    lines.append("console.\(page.name).p50_ms: \(String(format: "%.1f", p50))")
    lines.append("console.\(page.name).p95_ms: \(String(format: "%.1f", p95))")
}
for line in lines { print(line) }
print("console.slowest.p95_ms: \(String(format: "%.1f", slowest))")
print("console.meetings: \(seeded.meetings)")
print("console.turns: \(seeded.turns)")

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15 }
}
