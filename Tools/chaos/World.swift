import Foundation
import Synchronization
import TestSupport

/// The meetings the suite puts in the calendar: one iCalendar file that grows wave by wave,
/// each meeting starting a little over two minutes after it is written, so that its bot joins
/// (two minutes early) a few seconds later.
final class MeetingCalendar: Sendable {
    let path: String
    private let events = Mutex<[String]>([])

    init(path: String) { self.path = path }

    static func stamp(_ date: Date) -> String {
        let format = Date.ISO8601FormatStyle().year().month().day().timeZone(separator: .omitted)
            .time(includingFractionalSeconds: false).dateTimeSeparator(.standard).timeSeparator(.omitted)
            .dateSeparator(.omitted)
        return date.formatted(format)
    }

    /// Adds `count` meetings whose bots join from `leadSeconds` from now, `spacing` apart, and
    /// rewrites the file at once (renamed into place: the monitor never reads half a file).
    /// Returns their UIDs.
    func add(wave: String, count: Int, leadSeconds: Double, spacing: Double) throws -> [String] {
        let now = Date()
        var uids: [String] = []
        var added: [String] = []
        for index in 0..<count {
            let uid = "chaos-\(wave)-\(index)@attache.test"
            uids.append(uid)
            let start = now.addingTimeInterval(120 + leadSeconds + spacing * Double(index))
            added.append(
                """
                BEGIN:VEVENT\r
                UID:\(uid)\r
                DTSTAMP:\(Self.stamp(now))\r
                DTSTART:\(Self.stamp(start))\r
                DTEND:\(Self.stamp(start.addingTimeInterval(1800)))\r
                SUMMARY:Chaos \(wave) meeting \(index)\r
                LOCATION:https://example.zoom.us/j/9\(String(format: "%09d", abs(uid.hashValue) % 1_000_000_000))\r
                ORGANIZER;CN=Alex Rivera:mailto:alex@example.com\r
                ATTENDEE:mailto:sam@example.com\r
                END:VEVENT\r

                """)
        }
        let body = events.withLock { events in
            events += added
            return events.joined()
        }
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Attache//Chaos//EN\r\n\(body)END:VCALENDAR\r\n"
        let temporary = path + ".tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else { throw POSIXError(.EIO) }
        return uids
    }
}

/// Plays the meeting provider (a fake Recall.ai outside the services, so that a killed
/// bot-gateway cannot take the provider down with it): every bot created joins at its time,
/// records, hears two lines, and leaves; every step is a signed webhook that the fake sends
/// again every second until the gateway answers 2xx, as Svix does (on a longer schedule).
final class Calls: Sendable {
    static let lines = [
        ("Alex Rivera", "Thanks everyone, let's look at the plan."),
        ("Sam Chen", "Can you send the action items after the call?"),
    ]

    let recall: FakeRecall
    private let driven = Mutex<Set<String>>([])
    /// Webhooks the fake gave up on (every retry refused or unreachable): the provider's loss.
    private let undelivered = Mutex<Int>(0)
    private let tasks = Mutex<[Task<Void, Never>]>([])

    init(recall: FakeRecall) { self.recall = recall }

    var undeliveredWebhooks: Int { undelivered.withLock { $0 } }

    /// Bots created so far, by meeting id (lowercase).
    func botsByMeeting() -> [String: [String]] {
        var bots: [String: [String]] = [:]
        for bot in recall.created {
            let meeting = (bot.json["metadata"] as? [String: Any])?["meeting_id"] as? String ?? "?"
            bots[meeting, default: []].append(bot.id)
        }
        return bots
    }

    /// Watches for new bots until cancelled.
    func run() async {
        while !Task.isCancelled {
            for bot in recall.created {
                let isNew = driven.withLock { $0.insert(bot.id).inserted }
                guard isNew else { continue }
                let joinAt = (bot.json["join_at"] as? String).flatMap {
                    try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
                }
                let task = Task { await self.play(bot.id, joinAt: joinAt) }
                tasks.withLock { $0.append(task) }
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }

    private func play(_ botID: String, joinAt: Date?) async {
        do {
            if let joinAt, joinAt > Date() { try await Task.sleep(for: .seconds(joinAt.timeIntervalSinceNow)) }
            try await step { try await self.recall.advance(botID, to: "joining_call") }
            try await Task.sleep(for: .milliseconds(300))
            try await step { try await self.recall.advance(botID, to: "in_call_recording") }
            for (speaker, text) in Self.lines {
                try await Task.sleep(for: .milliseconds(500))
                try await step { try await self.recall.speak(botID, speaker: speaker, text: text) }
            }
            try await Task.sleep(for: .milliseconds(500))
            try await step { try await self.recall.advance(botID, to: "call_ended") }
            try await Task.sleep(for: .milliseconds(300))
            try await step { try await self.recall.advance(botID, to: "done") }
        } catch {
            // Cancelled at the end of the run.
        }
    }

    private func step(_ send: @Sendable () async throws -> [Int?]) async throws {
        let statuses = try await send()
        if let last = statuses.last ?? nil, (200..<300).contains(last) { return }
        undelivered.withLock { $0 += 1 }
    }
}
