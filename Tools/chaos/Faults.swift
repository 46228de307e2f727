import Bus
import Crypto
import Delivery
import Foundation
import HTTPClient
import Store
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One wave of meetings per fault: the meetings are written to the calendar, the fault is
/// injected while they flow (some being classified, some prepared, some in their call), and
/// once the wave has every effect — or a deadline passed — each meeting's effects are counted.
struct Faults {
    let supervisor: Supervisor
    let calendar: MeetingCalendar
    let calls: Calls
    let tap: Tap
    let pool: PostgresPool
    let broker: AMQPConfiguration
    let prefix: String
    let stack: String
    let logDir: String
    let perWave: Int
    /// As the services are configured (ATTACHE_RETRY_DELAYS_MS): names their delay queues.
    let retryDelays: [Duration]

    /// Meetings start a little over two minutes after they are written, 0.5 s apart; their
    /// bots are ad hoc (under Recall's 10 minutes for a scheduled bot) and join as soon as they
    /// are created, so a fault injected 4 s in meets every stage at once.
    let lead = 6.0
    let spacing = 0.5
    let deadline: Duration = .seconds(300)

    struct Outcome {
        var lost: Int
        var duplicated: Int
        var recovery: Duration
        var extra: [(String, String)] = []
        var failed: Bool
    }

    /// Runs every fault (or those in `only`) and prints their lines; true if any failed.
    func runAll(only: Set<String>?) async throws -> Bool {
        var faults: [(String, () async throws -> Outcome)] = [("baseline", { try await wave("baseline") { _ in } })]
        for service in Supervisor.services {
            faults.append(("kill9_\(service.replacingOccurrences(of: "-", with: "_"))", { try await killNine(service) }))
        }
        faults += [
            ("sigterm_under_load", sigtermUnderLoad), ("broker_restart", brokerRestart),
            ("postgres_restart", postgresRestart), ("cluster_node_loss", nodeLoss),
            ("duplicated_deliveries", duplicatedDeliveries), ("poison_messages", poison),
            ("forged_webhooks", forgedWebhooks),
        ]
        var failed = false
        for (name, run) in faults where only == nil || only!.contains(name) {
            progress("fault \(name)")
            let outcome = try await run()
            emit("chaos.\(name).lost: \(outcome.lost)")
            emit("chaos.\(name).duplicated_effects: \(outcome.duplicated)")
            emit("chaos.\(name).recovery_s: \(String(format: "%.1f", outcome.recovery.seconds))")
            for (key, value) in outcome.extra { emit("chaos.\(name).\(key): \(value)") }
            failed = failed || outcome.failed || outcome.lost > 0 || outcome.duplicated > 0
        }
        let everyUID = waveUIDs.withLock { $0.values.flatMap { $0 } }
        // Every meeting of the run once more: a late duplicate of an earlier wave shows here.
        let all = try await count(everyUID)
        emit("chaos.all.meetings: \(everyUID.count)")
        emit("chaos.all.lost: \(all.lost)")
        emit("chaos.all.duplicated_effects: \(all.duplicated)")
        emit("chaos.all.undelivered_webhooks: \(calls.undeliveredWebhooks)")
        for problem in all.problems { progress("all: \(problem)") }
        return failed || all.lost > 0 || all.duplicated > 0
    }

    // MARK: - The wave

    private let waveUIDs = WaveRegistry()

    /// Writes a wave's meetings, runs `fault` (given the moment the wave started) beside them,
    /// waits for every effect, and counts. Recovery: from the fault's start until the wave has
    /// every effect (for the baseline: from the same moment, the time the wave needs anyway).
    func wave(
        _ name: String, faultAfter: Duration = .seconds(4), settle: Duration = .seconds(3),
        _ fault: @escaping @Sendable (ContinuousClock.Instant) async throws -> Void
    ) async throws -> Outcome {
        let uids = try calendar.add(wave: name, count: perWave, leadSeconds: lead, spacing: spacing)
        waveUIDs.set(name, uids)
        let started = ContinuousClock.now
        try await Task.sleep(until: started + faultAfter)
        let faultStart = ContinuousClock.now
        try await fault(started)
        let limit = faultStart + deadline
        var effects = try await count(uids)
        while !effects.complete, ContinuousClock.now < limit {
            try await Task.sleep(for: .milliseconds(500))
            effects = try await count(uids)
        }
        let recovery = ContinuousClock.now - faultStart
        // A duplicate may come after the last missing effect: look again a moment later.
        try await Task.sleep(for: settle)
        if name == "baseline", ProcessInfo.processInfo.environment["ATTACHE_CHAOS_SABOTAGE"] == "1" {
            try await sabotage(uids)
        }
        effects = try await count(uids)
        for problem in effects.problems { progress("\(name): \(problem)") }
        return Outcome(lost: effects.lost, duplicated: effects.duplicated, recovery: recovery, failed: false)
    }

    // MARK: - Faults

    /// SIGKILL twice while the wave flows, each time started again a second later.
    func killNine(_ service: String) async throws -> Outcome {
        try await wave("kill9-\(service)") { started in
            for at in [Duration.seconds(4), .seconds(11)] {
                try await Task.sleep(until: started + at)
                await supervisor.kill9(service)
                try await Task.sleep(for: .seconds(1))
                try supervisor.start(service)
            }
        }
    }

    /// SIGTERM to all six at once mid-wave: each must finish what it holds and exit 0 within
    /// its shutdown timeout; then all start again.
    func sigtermUnderLoad() async throws -> Outcome {
        let statuses = StatusBox()
        var outcome = try await wave("sigterm") { _ in
            await withTaskGroup(of: (String, Int32?).self) { group in
                for service in Supervisor.services {
                    group.addTask { (service, await supervisor.terminate(service)) }
                }
                for await (service, status) in group { statuses.set(service, status) }
            }
            try supervisor.startAll()
        }
        let unclean = statuses.all.filter { $0.value != 0 }
        for (service, status) in unclean {
            progress("sigterm: \(service) exited with \(status.map(String.init) ?? "nothing (killed after 60 s)")")
        }
        outcome.extra.append(("unclean_exits", String(unclean.count)))
        outcome.failed = !unclean.isEmpty
        return outcome
    }

    /// Every node of the cluster stopped and started again (the broker is gone meanwhile).
    func brokerRestart() async throws -> Outcome {
        try await wave("broker-restart") { _ in try await shell("\(stack) cluster-restart", logDir: logDir) }
    }

    func postgresRestart() async throws -> Outcome {
        try await wave("postgres-restart") { _ in try await shell("\(stack) restart-postgresql", logDir: logDir) }
    }

    /// Node 1 — the one every client tries first — killed with SIGKILL; the wave must get
    /// through on the other two. The node comes back (and rejoins) only after the count.
    func nodeLoss() async throws -> Outcome {
        let outcome = try await wave("node-loss") { _ in try await shell("\(stack) cluster-kill-node 1", logDir: logDir) }
        progress("node-loss: starting node 1 again")
        try await shell("\(stack) cluster-start-node 1", logDir: logDir)
        return outcome
    }

    /// Every event about the wave's meetings seen so far is published again, same message id,
    /// twice: mid-wave and once the wave is through. No effect may happen twice.
    func duplicatedDeliveries() async throws -> Outcome {
        let publisher = Publisher(configuration: broker, logger: .init(label: "chaos-republish"))
        defer { Task { await publisher.close() } }
        let sent = Tally()
        let republish: @Sendable () async throws -> Void = {
            let ids = try await meetingIDs(waveUIDs.get("duplicates"))
            let messages = tap.messages(about: ids).map { message in
                OutgoingMessage(
                    exchange: "\(prefix).events", routingKey: message.routingKey, body: message.body,
                    messageID: message.messageID, type: message.type, headers: message.headers)
            }
            try await publisher.publish(messages + messages)
            sent.add(messages.count * 2)
        }
        var outcome = try await wave("duplicates", faultAfter: .seconds(12), settle: .seconds(1)) { _ in
            try await republish()
        }
        // Once more with the whole wave's events, then give the copies time to be handled.
        try await republish()
        try await awaitQueuesDrained()
        let again = try await count(waveUIDs.get("duplicates"))
        for problem in again.problems { progress("duplicates (after all copies): \(problem)") }
        outcome.lost = max(outcome.lost, again.lost)
        outcome.duplicated = max(outcome.duplicated, again.duplicated)
        outcome.extra.append(("republished", String(sent.value)))
        return outcome
    }

    /// Malformed bodies, unknown versions and payloads of the wrong shape, published under the
    /// routing keys of real events in the middle of the wave: each must be parked (with a
    /// reason) in the dead-letter queue of every service that receives it, and the wave must
    /// lose nothing beside them.
    func poison() async throws -> Outcome {
        let publisher = Publisher(configuration: broker, logger: .init(label: "chaos-poison"))
        defer { Task { await publisher.close() } }
        let ids = IDBox()
        var outcome = try await wave("poison") { _ in
            var messages: [OutgoingMessage] = []
            for key in ["meeting.upserted", "meeting.classified", "bot.join.requested", "bot.status.changed", "call.completed"] {
                let bodies: [(String, String)] = [
                    ("\(key).v1", "{this is not json"),
                    ("\(key).v99", envelope(type: "\(key).v99", payload: #"{"meeting_id":"\#(UUID())"}"#)),
                    ("\(key).v1", envelope(type: "\(key).v1", payload: #"{"nonsense":true}"#)),
                ]
                for (type, body) in bodies {
                    let id = "poison-\(UUID().uuidString.lowercased())"
                    ids.add(id)
                    messages.append(
                        OutgoingMessage(
                            exchange: "\(prefix).events", routingKey: key, body: Array(body.utf8), messageID: id, type: type))
                }
            }
            try await publisher.publish(messages)
        }
        // Parked at once (they can never succeed), each with its reason.
        var parked: [String: ParkedMessage] = [:]
        let limit = ContinuousClock.now + .seconds(120)
        repeat {
            parked = [:]
            for service in Supervisor.services {
                let queues = ServiceQueues(prefix: prefix, service: service, retryDelays: retryDelays)
                for message in try await DeadLetters.list(queues, broker: broker, limit: 10_000) {
                    if let id = message.messageID, ids.all.contains(id) { parked[id] = message }
                }
            }
            if parked.count == ids.all.count { break }
            try await Task.sleep(for: .seconds(1))
        } while ContinuousClock.now < limit
        let withoutReason = parked.values.filter { $0.error.isEmpty || $0.error == "(no reason recorded)" }
        outcome.extra.append(("parked", "\(parked.count)/\(ids.all.count)"))
        outcome.extra.append(("parked_without_reason", String(withoutReason.count)))
        if let example = parked.values.first { progress("poison: e.g. parked with reason: \(example.error.prefix(160))") }
        // A poison message that vanished instead of being parked is lost too.
        outcome.lost += ids.all.count - parked.count
        outcome.failed = !withoutReason.isEmpty
        return outcome
    }

    /// Webhooks that claim to come from the meeting provider but do not: unsigned, signed with
    /// another secret, a real signature replayed ten minutes later, and a signed body altered.
    /// Each says a real bot's call has ended. None may be accepted, and none may leave a trace.
    func forgedWebhooks() async throws -> Outcome {
        let sent = Tally()
        let accepted = Tally()
        let forgedIDs = IDBox()
        let url = "http://127.0.0.1:\(supervisor.ports["bot-gateway"]!)/webhooks/recall"
        let secret = SymmetricKey(data: Data(base64Encoded: String(FakeRecall.webhookSecret.dropFirst(6)))!)
        let otherSecret = SymmetricKey(size: .bits256)
        @Sendable func sign(_ id: String, _ timestamp: Int, _ body: [UInt8], _ key: SymmetricKey) -> String {
            let code = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + Data(body), using: key)
            return "v1," + Data(code).base64EncodedString()
        }
        var outcome = try await wave("forged", faultAfter: .seconds(9)) { _ in
            let http = HTTPClient(retry: .none, logger: TestStack.logger)
            let ids = try await meetingIDs(waveUIDs.get("forged"))
            let bots = calls.botsByMeeting().filter { ids.contains($0.key) }.flatMap(\.value)
            for bot in bots {
                let body = Array(
                    #"{"event":"bot.call_ended","data":{"data":{"code":"call_ended","sub_code":null,"updated_at":"\#(Date().formatted(.iso8601))"},"bot":{"id":"\#(bot)","metadata":{}}}}"#
                        .utf8)
                let now = Int(Date().timeIntervalSince1970)
                var forgeries: [[(name: String, value: String)]] = []
                func id() -> String {
                    let id = "msg_forged_\(UUID().uuidString.prefix(12).lowercased())"
                    forgedIDs.add(id)
                    return id
                }
                let unsigned = id()
                forgeries.append([("webhook-id", unsigned), ("webhook-timestamp", String(now))])
                let wrongKey = id()
                forgeries.append([
                    ("webhook-id", wrongKey), ("webhook-timestamp", String(now)),
                    ("webhook-signature", sign(wrongKey, now, body, otherSecret)),
                ])
                let replayed = id()
                forgeries.append([
                    ("webhook-id", replayed), ("webhook-timestamp", String(now - 600)),
                    ("webhook-signature", sign(replayed, now - 600, body, secret)),
                ])
                let altered = id()
                forgeries.append([
                    ("webhook-id", altered), ("webhook-timestamp", String(now)),
                    ("webhook-signature", sign(altered, now, Array("{}".utf8), secret)),
                ])
                for headers in forgeries {
                    let status = try? await http.send(
                        OutboundRequest(
                            method: "POST", url: url, headers: [("content-type", "application/json")] + headers, body: body,
                            timeout: .seconds(15))
                    ).status
                    sent.add(1)
                    if let status, (200..<300).contains(status) { accepted.add(1) }
                }
            }
        }
        let list = "{" + forgedIDs.all.joined(separator: ",") + "}"
        let traces = try await pool.withConnection { db in
            try db.queryOne(
                "SELECT count(*) AS n FROM gateway.webhook_receipts WHERE webhook_id = ANY($1::text[])", [list])!.int("n")
        }
        outcome.extra.append(("sent", String(sent.value)))
        outcome.extra.append(("accepted", String(accepted.value)))
        outcome.extra.append(("recorded", String(traces)))
        outcome.failed = accepted.value > 0 || traces > 0 || sent.value == 0
        return outcome
    }

    // MARK: - Helpers

    /// Counts the effects, trying again while the database is away (the suite's own connection
    /// meets the faults too).
    func count(_ uids: [String]) async throws -> Effects {
        let limit = ContinuousClock.now + .seconds(120)
        while true {
            do { return try await Effects.count(uids, pool: pool, botsByMeeting: calls.botsByMeeting()) } catch {
                guard ContinuousClock.now < limit else { throw error }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Proves the count can fail (ATTACHE_CHAOS_SABOTAGE=1, by hand only): one meeting's
    /// materials message deleted and a second bot created at the provider for another, so the
    /// baseline must report lost 1 and duplicated_effects 1.
    func sabotage(_ uids: [String]) async throws {
        let ids = try await meetingIDs(Array(uids.prefix(2))).sorted()
        let (victim, doubled) = (ids[0], ids[1])
        _ = try await pool.withConnection { db in
            try db.execute(
                """
                DELETE FROM prep.notifications WHERE id = (SELECT n.id FROM prep.notifications n JOIN prep.workflows w
                ON w.id = n.workflow_id WHERE n.kind = 'materials' AND w.meeting_id = $1::uuid LIMIT 1)
                """, [victim])
        }
        _ = try calls.recall.createDirectly(body: [
            "meeting_url": "https://example.zoom.us/j/1", "metadata": ["meeting_id": doubled],
        ])
        progress("sabotage: deleted the materials message of \(victim), a second bot for \(doubled)")
    }

    func meetingIDs(_ uids: [String]) async throws -> Set<String> {
        let list = "{" + uids.joined(separator: ",") + "}"
        return try await pool.withConnection { db in
            Set(
                try db.query("SELECT id::text AS id FROM calendar.meetings WHERE external_id = ANY($1::text[])", [list])
                    .map { try $0.string("id").lowercased() })
        }
    }

    /// Until every service's work queue and retry queues are empty.
    func awaitQueuesDrained() async throws {
        let queues = Supervisor.services.flatMap { service -> [String] in
            let q = ServiceQueues(prefix: prefix, service: service, retryDelays: retryDelays)
            return [q.workQueue] + (1...q.retryDelays.count).map { q.retryQueue(forRetry: $0) }
        }
        let broker = broker
        let limit = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < limit {
            let waiting = try await AdminChannel.run(broker) { channel in
                defer { channel.close() }
                return queues.reduce(0) { $0 + ((try? channel.messageCount(queue: $1)) ?? 0) }
            }
            if waiting == 0 { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ChaosError.stuck("the services' queues did not drain within 120 s")
    }

    private func envelope(type: String, payload: String) -> String {
        #"{"id":"\#(UUID())","type":"\#(type)","occurred_at":"\#(Date().formatted(.iso8601))","tenant_id":"default","correlation_id":"\#(UUID())","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","payload":\#(payload)}"#
    }
}

final class WaveRegistry: Sendable {
    private let uids = Mutex<[String: [String]]>([:])
    func set(_ name: String, _ value: [String]) { uids.withLock { $0[name] = value } }
    func get(_ name: String) -> [String] { uids.withLock { $0[name] ?? [] } }
    func withLock<T>(_ body: ([String: [String]]) -> T) -> T { uids.withLock { body($0) } }
}

final class Tally: Sendable {
    private let count = Mutex(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    var value: Int { count.withLock { $0 } }
}

final class IDBox: Sendable {
    private let ids = Mutex<[String]>([])
    func add(_ id: String) { ids.withLock { $0.append(id) } }
    var all: [String] { ids.withLock { $0 } }
}

final class StatusBox: Sendable {
    private let statuses = Mutex<[String: Int32?]>([:])
    func set(_ name: String, _ status: Int32?) { statuses.withLock { $0[name] = status } }
    var all: [String: Int32?] { statuses.withLock { $0 } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
