import Bus
import Delivery
import Foundation
import Shared
import Store
import TestSupport

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
        let fakeBefore = fake.counts
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
                    "\(name) cycle: not finished after \(options.timeout): \(synced)/\(n) connections synced, outbox \(outbox), \(failing) failing"
                )
            }
        }
        let elapsed = ContinuousClock.now - started
        let cpu = CPUSample.take(postmaster: postmaster, broker: brokerPIDs) - cpuBefore
        let fakeCounts = fake.counts - fakeBefore
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
            var upserted = 0
            var cancelled = 0
            var other = 0
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
                    meetings.insert(
                        try MessageCoding.decode(Envelope<MeetingCancelled>.self, from: message.body).payload.meetingID)
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
