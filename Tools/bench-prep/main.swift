import Bus
import Delivery
import Foundation
import HTTPClient
import Logging
import Shared
import Store
import Synchronization

/// bench-prep: the preparation workflow under a burst, through a running prep-orchestrator
/// (ATTACHE_AMQP_URL, ATTACHE_BUS_PREFIX, ATTACHE_DATABASE_URL: the service's own).
///
///   bench-prep COUNT [ANSWERS_PER_SECOND]
///
/// Publishes COUNT meeting.classified events at once, due now; waits for every owner's
/// notification; half of the owners answer on the prep page over HTTP, one after another at
/// ANSWERS_PER_SECOND (default 200); waits for their
/// prep.materials.ready. Prints `prep.notify_latency.p99_ms`, `prep.materials_latency.p95_ms`,
/// `prep.workflows_per_s` and `prep.duplicate_effects`.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-prep: \(message)\n".utf8))
    exit(2)
}

func progress(_ message: String) { FileHandle.standardError.write(Data("\(message)\n".utf8)) }

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

guard let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init), count > 1 else {
    fail("usage: bench-prep COUNT [ANSWERS_PER_SECOND]")
}
let environment = ProcessInfo.processInfo.environment
let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
let prefix = environment["ATTACHE_BUS_PREFIX"] ?? "attache"
let pool = PostgresPool(url: environment["ATTACHE_DATABASE_URL"] ?? "postgresql://postgres@127.0.0.1:5432/attache", size: 4)
let logger = Logger(label: "bench-prep")
let exchange = ServiceQueues.eventsExchange(prefix: prefix)
let watch = "\(prefix).bench.materials"
let consumer = Consumer(
    configuration: broker, queue: watch,
    topology: ServiceQueues.subscriptionsTopology(prefix: prefix)
        + Topology(
            queues: [.quorum(watch)],
            bindings: [.init(queue: watch, exchange: exchange, routingKey: PrepMaterialsReady.messageType.routingKey)]),
    prefetch: 500, logger: logger)
let publisher = Publisher(configuration: broker, topology: ServiceQueues.subscriptionsTopology(prefix: prefix), logger: logger)
while !consumer.isConnected { try await Task.sleep(for: .milliseconds(50)) }

/// The materials as they arrive, by meeting.
let arrivals = Mutex<[UUID: [Date]]>([:])
let expectedMaterials = count / 2
let draining = Task {
    var received = 0
    for await message in consumer.messages {
        message.ack()
        if let envelope = try? MessageCoding.decode(Envelope<PrepMaterialsReady>.self, from: message.body) {
            arrivals.withLock { $0[envelope.payload.meetingID, default: []].append(Date()) }
            received += 1
            if received >= expectedMaterials { break }
        }
    }
}

let start = Date().addingTimeInterval(3 * 86_400)
let meetings = (0..<count).map { index in
    MeetingSnapshot(
        meetingID: UUID(), revision: 1, source: "bench", externalID: "bench-\(index)", title: "Platform staff meeting \(index)",
        description: "Weekly sync.", start: start, end: start.addingTimeInterval(3600),
        organizer: Participant(email: "owner\(index)@example.com"), attendees: [], conferenceURL: nil)
}
let events = try meetings.map { meeting -> (UUID, OutgoingMessage) in
    let envelope = Envelope(
        tenantID: "default", correlationID: meeting.meetingID,
        payload: MeetingClassified(
            meeting: meeting, meetingType: "staff_meeting", rule: "bench", matchedKeywords: [], prepTriggerAt: Date(),
            reminderAt: start.addingTimeInterval(-7200), botJoinAt: start.addingTimeInterval(-120),
            prepQuestions: ["What do you want from this meeting?", "Anything to announce?", "Who needs a heads-up?"],
            contextRequired: ["big_rocks", "staffing", "decisions"]))
    return (
        meeting.meetingID,
        OutgoingMessage(
            exchange: exchange, routingKey: envelope.type.routingKey, body: try MessageCoding.encode(envelope),
            messageID: envelope.id.uuidString, type: envelope.type.description)
    )
}
// A message is published when it is handed to the broker: batches of 100, each stamped as it goes.
var published: [UUID: Date] = [:]
let began = Date()
for batch in stride(from: 0, to: events.count, by: 100) {
    let slice = events[batch..<min(batch + 100, events.count)]
    let now = Date()
    for (meeting, _) in slice { published[meeting] = now }
    try await publisher.publish(slice.map(\.1))
}
progress("published \(count) meeting.classified in \(String(format: "%.2f", Date().timeIntervalSince(began))) s")

// Every owner asked.
// Counting is cheap enough to poll without slowing the service; the rows are read once.
var asked: [(meeting: UUID, at: Date, link: String)] = []
let waitUntil = Date().addingTimeInterval(600)
while true {
    let recorded = try await pool.withConnection { db in
        try db.queryOne("SELECT count(*) AS n FROM prep.notifications WHERE kind = 'prep'")!.int("n")
    }
    if recorded >= count { break }
    guard Date() < waitUntil else { fail("only \(recorded) of \(count) owners were asked within 10 minutes") }
    try await Task.sleep(for: .milliseconds(20))
}
asked = try await pool.withConnection { db in
    try db.query(
        """
        SELECT w.meeting_id, n.created_at, n.text FROM prep.notifications n JOIN prep.workflows w ON w.id = n.workflow_id
        WHERE n.kind = 'prep'
        """
    ).map { row in
        let text = try row.string("text")
        let link = text.split(separator: "\n").first { $0.hasPrefix("Start prep: ") }.map { String($0.dropFirst(12)) } ?? ""
        return (try row.uuid("meeting_id"), try row.date("created_at"), link)
    }
}
guard asked.count == count, asked.allSatisfy({ published[$0.meeting] != nil }) else {
    fail("\(asked.count) owners were asked about \(count) meetings published")
}
let lastAsked = asked.map(\.at).max()!
let notifyLatencies = asked.map { ($0.at.timeIntervalSince(published[$0.meeting]!)) * 1000 }
let workflowsPerSecond = Double(count) / lastAsked.timeIntervalSince(began)
progress(
    "\(count) owners asked; the last \(String(format: "%.2f", lastAsked.timeIntervalSince(began))) s after the first publish")

// Half the owners answer, at a steady rate (an open loop: an owner finishes when it is their
// turn, however busy the service is, so a slow service is measured as slow rather than sent
// fewer answers).
let http = HTTPClient(retry: .none, logger: logger)
let answering = Array(asked.prefix(expectedMaterials))
let answerRate = Double(CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 200)
let answersBegan = ContinuousClock.now
let finished = try await withThrowingTaskGroup(of: (UUID, Date).self) { group in
    for (index, owner) in answering.enumerated() {
        group.addTask {
            try await Task.sleep(until: answersBegan + .seconds(Double(index) / answerRate), clock: .continuous)
            let body = "answer_0=Agree+the+plan&skip_1=on&answer_2=The+team&action=finish"
            let response = try await http.send(
                OutboundRequest(
                    method: "POST", url: owner.link, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(body.utf8)))
            guard response.status == 200 else {
                throw HTTPClientError.unexpectedStatus(url: "the prep page", status: response.status, body: response.text)
            }
            return (owner.meeting, Date())
        }
    }
    var finished: [UUID: Date] = [:]
    while let (meeting, at) = try await group.next() { finished[meeting] = at }
    return finished
}
progress("\(finished.count) owners answered on the prep page")

_ = try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await draining.value }
    group.addTask {
        try await Task.sleep(for: .seconds(600))
        fail("only \(arrivals.withLock { $0.count }) of \(expectedMaterials) materials arrived within 10 minutes")
    }
    try await group.next()
    group.cancelAll()
}
let arrived = arrivals.withLock { $0 }
let materialsLatencies = finished.compactMap { meeting, at in arrived[meeting]?.first.map { $0.timeIntervalSince(at) * 1000 } }

// Where the time goes: the owner's finish to the materials message, by the database's own clock.
let inService = try await pool.withConnection { db in
    try db.query(
        """
        SELECT extract(epoch FROM n.created_at - t.used_at) * 1000 AS ms
        FROM prep.notifications n JOIN prep.owner_tokens t ON t.workflow_id = n.workflow_id
        WHERE n.kind = 'materials' AND t.used_at IS NOT NULL
        """
    ).compactMap { Double(try $0.string("ms")) }
}

let duplicates =
    try await pool.withConnection { db in
        try db.queryOne(
            """
            SELECT (SELECT count(*) FROM (SELECT workflow_id, kind FROM prep.notifications GROUP BY 1, 2 HAVING count(*) > 1) n)
                 + (SELECT count(*) FROM prep.materials WHERE generation > 1) AS n
            """)!.int("n")
    } + arrived.values.filter { $0.count > 1 }.count

await consumer.close()
await publisher.close()
try await AdminChannel.run(broker) { channel in
    defer { channel.close() }
    try channel.deleteQueue(watch)
}
print("prep.notify_latency.p50_ms: \(Int(percentile(notifyLatencies, 0.5)))")
print("prep.notify_latency.p99_ms: \(Int(percentile(notifyLatencies, 0.99)))")
print("prep.materials_latency.p50_ms: \(Int(percentile(materialsLatencies, 0.5)))")
print("prep.materials_latency.p95_ms: \(Int(percentile(materialsLatencies, 0.95)))")
print("prep.materials_in_service.p95_ms: \(Int(percentile(inService, 0.95)))")
print("prep.workflows_per_s: \(Int(workflowsPerSecond))")
print("prep.answers_per_s: \(Int(answerRate))")
print("prep.duplicate_effects: \(duplicates)")
