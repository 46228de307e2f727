import Bus
import Foundation
import Logging
import Store
import Synchronization

/// What a user would notice of one meeting, each expected a fixed number of times:
/// - `stored`: the meeting, in calendar-monitor's table (1);
/// - `classified`: its classification (1);
/// - `materials`: the prep materials message the owner receives (1: two are a duplicate the
///   owner sees);
/// - `bot_requested`: bots created at the meeting provider (1: two bots would both join the
///   call), counted at the fake provider itself;
/// - `bot_recorded`: the bot in bot-gateway's table (1);
/// - `call_completed`: the call's session, ended and reported (1);
/// - `transcript_lines`: the lines the call heard, stored (2: one per line spoken);
/// - `verdict`: the post-call review's result (1).
struct Effects {
    static let expected: [(name: String, count: Int)] = [
        ("stored", 1), ("classified", 1), ("materials", 1), ("bot_requested", 1), ("bot_recorded", 1),
        ("call_completed", 1), ("transcript_lines", Calls.lines.count), ("verdict", 1),
    ]

    /// counts[effect][uid]
    var counts: [String: [String: Int]] = [:]
    var uids: [String] = []

    /// Expected effects missing, summed over meetings and effects.
    var lost: Int {
        Self.expected.reduce(0) { sum, effect in
            sum + uids.reduce(0) { $0 + max(0, effect.count - (counts[effect.name]?[$1] ?? 0)) }
        }
    }

    /// Effects that happened more often than once per meeting (or than the lines spoken).
    var duplicated: Int {
        Self.expected.reduce(0) { sum, effect in
            sum + uids.reduce(0) { $0 + max(0, (counts[effect.name]?[$1] ?? 0) - effect.count) }
        }
    }

    var complete: Bool { lost == 0 }

    /// One line per effect that is off, for the log.
    var problems: [String] {
        Self.expected.compactMap { effect in
            let missing = uids.filter { (counts[effect.name]?[$0] ?? 0) < effect.count }
            let extra = uids.filter { (counts[effect.name]?[$0] ?? 0) > effect.count }
            guard !missing.isEmpty || !extra.isEmpty else { return nil }
            return "\(effect.name): \(missing.count) meetings short (e.g. \(missing.prefix(3).joined(separator: ", "))), "
                + "\(extra.count) over (e.g. \(extra.prefix(3).joined(separator: ", ")))"
        }
    }

    /// Reads every effect of the meetings `uids` from the services' tables (and the fake
    /// provider's bots).
    static func count(_ uids: [String], pool: PostgresPool, botsByMeeting: [String: [String]]) async throws -> Effects {
        var effects = Effects()
        effects.uids = uids
        let list = "{" + uids.joined(separator: ",") + "}"
        let result = try await pool.withConnection { db -> [String: [String: Int]] in
            var counts: [String: [String: Int]] = [:]
            // The meeting ids calendar-monitor gave the events (its own ids, not the UIDs).
            var uidOf: [String: String] = [:]
            for row in try db.query(
                "SELECT external_id, id::text AS id FROM calendar.meetings WHERE external_id = ANY($1::text[])", [list])
            {
                let uid = try row.string("external_id")
                uidOf[try row.string("id")] = uid
                counts["stored", default: [:]][uid, default: 0] += 1
            }
            let ids = "{" + uidOf.keys.joined(separator: ",") + "}"
            let queries: [(String, String)] = [
                (
                    "classified",
                    "SELECT meeting_id::text AS id, count(*) AS n FROM classifier.classifications WHERE meeting_id = ANY($1::uuid[]) GROUP BY 1"
                ),
                (
                    "materials",
                    """
                    SELECT w.meeting_id::text AS id, count(*) AS n FROM prep.notifications n JOIN prep.workflows w ON w.id = n.workflow_id
                    WHERE n.kind = 'materials' AND w.meeting_id = ANY($1::uuid[]) GROUP BY 1
                    """
                ),
                (
                    "bot_recorded",
                    "SELECT meeting_id::text AS id, count(*) AS n FROM gateway.bots WHERE meeting_id = ANY($1::uuid[]) GROUP BY 1"
                ),
                (
                    "call_completed",
                    "SELECT meeting_id::text AS id, count(*) AS n FROM realtime.sessions WHERE completed_at IS NOT NULL AND meeting_id = ANY($1::uuid[]) GROUP BY 1"
                ),
                (
                    "transcript_lines",
                    """
                    SELECT s.meeting_id::text AS id, count(*) AS n FROM realtime.turns t JOIN realtime.sessions s ON s.id = t.session_id
                    WHERE t.source = 'provider' AND s.meeting_id = ANY($1::uuid[]) GROUP BY 1
                    """
                ),
                (
                    "verdict",
                    "SELECT meeting_id::text AS id, count(*) AS n FROM monitoring.results WHERE status <> 'pending' AND meeting_id = ANY($1::uuid[]) GROUP BY 1"
                ),
            ]
            for (effect, sql) in queries {
                for row in try db.query(sql, [ids]) {
                    guard let uid = uidOf[try row.string("id")] else { continue }
                    counts[effect, default: [:]][uid, default: 0] += try row.int("n")
                }
            }
            for (id, uid) in uidOf { counts["bot_requested", default: [:]][uid] = botsByMeeting[id]?.count ?? 0 }
            return counts
        }
        effects.counts = result
        return effects
    }
}

/// Every event on the bus, as a copy bound to all routing keys (a quorum queue of its own, so
/// that it survives the broker's faults too): what the duplicated-deliveries fault sends again.
final class Tap: Sendable {
    let consumer: Consumer
    let queue: String
    private let seen = Mutex<(ids: Set<String>, messages: [InboundMessage])>(([], []))

    init(broker: AMQPConfiguration, prefix: String, topology: Topology, logger: Logger) {
        queue = "\(prefix).chaos-tap"
        consumer = Consumer(
            configuration: broker, queue: queue,
            topology: topology
                + Topology(
                    queues: [.quorum(queue)],
                    bindings: [.init(queue: queue, exchange: "\(prefix).events", routingKey: "#")]),
            prefetch: 200, logger: logger)
    }

    func run() async {
        for await message in consumer.messages {
            message.ack()
            let id = message.messageID ?? UUID().uuidString
            seen.withLock { seen in
                if seen.ids.insert(id).inserted { seen.messages.append(message) }
            }
        }
    }

    /// Events seen so far about the meetings `meetingIDs` (lowercase ids), for sending again.
    func messages(about meetingIDs: Set<String>) -> [InboundMessage] {
        seen.withLock { $0.messages }.filter { message in
            guard let object = try? JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any],
                let payload = object["payload"] as? [String: Any]
            else { return false }
            let meeting = (payload["meeting_id"] as? String) ?? ((payload["meeting"] as? [String: Any])?["meeting_id"] as? String)
            return meeting.map { meetingIDs.contains($0.lowercased()) } ?? false
        }
    }

    var count: Int { seen.withLock { $0.messages.count } }
}
