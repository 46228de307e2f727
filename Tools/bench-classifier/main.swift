import Bus
import ClassificationRules
import Delivery
import Foundation
import Logging
import Shared

/// bench-classifier: how fast meetings are classified.
///
///   bench-classifier inprocess RULES.yaml MEETINGS.jsonl [COUNT]
///       classifies the labelled meetings over and over, in this process
///   bench-classifier bus MEETINGS.jsonl COUNT
///       publishes COUNT meeting.upserted events to a running classifier service (ATTACHE_AMQP_URL,
///       ATTACHE_BUS_PREFIX) and times the COUNT meeting.classified events coming back
///
/// Prints `classifier.inprocess.per_s: …` or `classifier.bus.per_s: …`.
struct Meeting: Decodable {
    var title: String
    var description: String?
    var attendeeCount: Int

    enum CodingKeys: String, CodingKey {
        case title, description
        case attendeeCount = "attendee_count"
    }
}

func meetings(_ path: String) throws -> [Meeting] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try JSONDecoder().decode(Meeting.self, from: Data($0.utf8))
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-classifier: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "inprocess":
    guard arguments.count >= 3 else { fail("usage: bench-classifier inprocess RULES.yaml MEETINGS.jsonl [COUNT]") }
    let rules = try ClassificationRules.load(fileAt: arguments[1])
    let facts = try meetings(arguments[2]).map {
        MeetingFacts(
            title: $0.title, description: $0.description ?? "", attendeeCount: $0.attendeeCount,
            start: Date().addingTimeInterval(86_400))
    }
    let count = arguments.count > 3 ? Int(arguments[3]) ?? 200_000 : 200_000
    let now = Date()
    var checksum = 0
    for meeting in facts { checksum &+= rules.classify(meeting, now: now).meetingType.count }  // warm-up
    let started = ContinuousClock.now
    for index in 0..<count { checksum &+= rules.classify(facts[index % facts.count], now: now).meetingType.count }
    let elapsed = (ContinuousClock.now - started).secondsValue
    FileHandle.standardError.write(
        Data("classified \(count) in \(String(format: "%.3f", elapsed)) s (checksum \(checksum))\n".utf8))
    print("classifier.inprocess.per_s: \(Int(Double(count) / elapsed))")

case "bus":
    guard arguments.count >= 3, let count = Int(arguments[2]) else { fail("usage: bench-classifier bus MEETINGS.jsonl COUNT") }
    let environment = ProcessInfo.processInfo.environment
    let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
    let prefix = environment["ATTACHE_BUS_PREFIX"] ?? "attache"
    let logger = Logger(label: "bench-classifier")
    let samples = try meetings(arguments[1])
    let exchange = ServiceQueues.eventsExchange(prefix: prefix)
    let watch = "\(prefix).bench.classified"
    let consumer = Consumer(
        configuration: broker, queue: watch,
        topology: ServiceQueues.subscriptionsTopology(prefix: prefix)
            + Topology(
                queues: [.quorum(watch)],
                bindings: [.init(queue: watch, exchange: exchange, routingKey: MeetingClassified.messageType.routingKey)]),
        prefetch: 200, logger: logger)
    let publisher = Publisher(
        configuration: broker, topology: ServiceQueues.subscriptionsTopology(prefix: prefix), logger: logger)
    while !consumer.isConnected { try await Task.sleep(for: .milliseconds(50)) }
    let start = Date().addingTimeInterval(7 * 86_400)
    let events = (0..<count).map { index -> OutgoingMessage in
        let sample = samples[index % samples.count]
        let meeting = MeetingSnapshot(
            meetingID: UUID(), revision: 1, source: "bench", externalID: "bench-\(index)", title: sample.title,
            description: sample.description ?? "", start: start, end: start.addingTimeInterval(1800),
            organizer: Participant(email: "owner@example.com"),
            attendees: (0..<max(0, sample.attendeeCount - 1)).map { Participant(email: "p\($0)@example.com") },
            conferenceURL: nil)
        let envelope = Envelope(
            tenantID: "bench", correlationID: meeting.meetingID,
            payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: []))
        return OutgoingMessage(
            exchange: exchange, routingKey: envelope.type.routingKey, body: try! MessageCoding.encode(envelope),
            messageID: envelope.id.uuidString, type: envelope.type.description)
    }
    let started = ContinuousClock.now
    let publishing = Task {
        for batch in stride(from: 0, to: events.count, by: 500) {
            try await publisher.publish(Array(events[batch..<min(batch + 500, events.count)]))
        }
    }
    var received = 0
    for await message in consumer.messages {
        message.ack()
        received += 1
        if received == count { break }
    }
    let elapsed = (ContinuousClock.now - started).secondsValue
    try await publishing.value
    await consumer.close()
    await publisher.close()
    // The other services' queues hold a copy of every event and nobody consumes them here: left,
    // they would pile up in the broker run after run. The classifier's own queue is its to keep.
    let classifierQueues = ServiceQueues(prefix: prefix, service: "classifier")
    let leftovers = ServiceQueues.subscriptionsTopology(prefix: prefix).queues.map(\.name)
        .filter { $0 != classifierQueues.workQueue && $0 != classifierQueues.deadLetterQueue }
    try await AdminChannel.run(broker) { channel in
        defer { channel.close() }
        for queue in [watch] + leftovers { try channel.deleteQueue(queue) }
    }
    FileHandle.standardError.write(
        Data("\(count) meetings classified through the bus in \(String(format: "%.3f", elapsed)) s\n".utf8))
    print("classifier.bus.per_s: \(Int(Double(count) / elapsed))")

default:
    fail("usage: bench-classifier inprocess RULES.yaml MEETINGS.jsonl [COUNT] | bus MEETINGS.jsonl COUNT")
}
