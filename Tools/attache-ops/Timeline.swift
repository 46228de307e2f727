import Bus
import Delivery
import Foundation
import Shared

/// Prints every event on the bus as one readable line, with the time since the first one.
/// Binds a queue of its own to all routing keys; the queue expires a minute after the watcher
/// leaves, so watching leaves nothing behind.
struct Timeline {
    let broker: AMQPConfiguration
    let prefix: String

    /// Returns true when an event named `until` was seen, false if `timeout` passed first.
    func watch(until: String?, timeout: Duration?) async throws -> Bool {
        let queue = "\(prefix).watch.\(UUID().uuidString.prefix(8).lowercased())"
        let consumer = Consumer(
            configuration: broker, queue: queue,
            topology: ServiceQueues.eventsTopology(prefix: prefix)
                + Topology(
                    queues: [Topology.Queue(name: queue, arguments: ["x-expires": .int(60_000)])],
                    bindings: [.init(queue: queue, exchange: ServiceQueues.eventsExchange(prefix: prefix), routingKey: "#")]),
            logger: .init(label: "attache-ops"))
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let stopper = Task {
            if let deadline { try? await Task.sleep(until: deadline) } else { return }
            consumer.stop()
        }
        defer { stopper.cancel() }
        var first: Date?
        for await message in consumer.messages {
            message.ack()
            let line = Self.describe(message.body)
            let at = line.occurredAt ?? Date()
            let offset = at.timeIntervalSince(first ?? at)
            if first == nil { first = at }
            let elapsed = String(format: "+%6.1fs", offset)
            let row = "\(elapsed)  \(line.service.padded(to: 18))  \(line.type.padded(to: 28))  \(line.text)\n"
            FileHandle.standardOutput.write(Data(row.utf8))  // unbuffered: the demo shows it live
            if let until, line.type.hasPrefix(until) {
                await consumer.close()
                return true
            }
        }
        await consumer.close()
        return false
    }

    struct Line {
        var occurredAt: Date?
        var service: String
        var type: String
        var text: String
    }

    static func describe(_ body: [UInt8]) -> Line {
        let decoder = MessageCoding.decoder()
        guard let header = try? decoder.decode(EnvelopeHeader.self, from: Data(body)) else {
            return Line(service: "?", type: "unreadable", text: String(decoding: body.prefix(120), as: UTF8.self))
        }
        func payload<P: EventPayload>(_ type: P.Type) -> (Date, P)? {
            (try? decoder.decode(Envelope<P>.self, from: Data(body))).map { ($0.occurredAt, $0.payload) }
        }
        let time = { (date: Date) in date.formatted(.dateTime.month(.abbreviated).day().hour().minute().second()) }
        let type = header.type.description
        switch header.type {
        case MeetingUpserted.messageType:
            guard let (at, event) = payload(MeetingUpserted.self) else { break }
            let change = event.isNew ? "new" : "changed: \(event.changedFields.joined(separator: ", "))"
            return Line(
                occurredAt: at, service: "calendar-monitor", type: type,
                text: "“\(event.meeting.title)” at \(time(event.meeting.start)) (\(change))")
        case MeetingCancelled.messageType:
            guard let (at, event) = payload(MeetingCancelled.self) else { break }
            return Line(occurredAt: at, service: "calendar-monitor", type: type, text: event.reason)
        case MeetingClassified.messageType:
            guard let (at, event) = payload(MeetingClassified.self) else { break }
            return Line(
                occurredAt: at, service: "classifier", type: type,
                text: "\(event.meetingType) — prep from \(time(event.prepTriggerAt)), rule \(event.rule)")
        case ClassificationCancelled.messageType:
            guard let (at, event) = payload(ClassificationCancelled.self) else { break }
            return Line(occurredAt: at, service: "classifier", type: type, text: event.reason)
        case PrepNotificationSent.messageType:
            guard let (at, event) = payload(PrepNotificationSent.self) else { break }
            return Line(
                occurredAt: at, service: "prep-orchestrator", type: type,
                text: "to \(event.recipient) via \(event.channel): \(event.text.prefix(90))…")
        case PrepMaterialsReady.messageType:
            guard let (at, event) = payload(PrepMaterialsReady.self) else { break }
            return Line(
                occurredAt: at, service: "prep-orchestrator", type: type,
                text: "agenda: \(event.agenda.joined(separator: ", ").prefix(90))…")
        case BotJoinRequested.messageType:
            guard let (at, event) = payload(BotJoinRequested.self) else { break }
            return Line(
                occurredAt: at, service: "prep-orchestrator", type: type,
                text: "\(event.botName) to join “\(event.meetingTitle)” at \(event.meetingURL ?? "(no link)")")
        case BotStatusChanged.messageType:
            guard let (at, event) = payload(BotStatusChanged.self) else { break }
            return Line(
                occurredAt: at, service: "bot-gateway", type: type, text: "bot \(event.botID.prefix(12))… \(event.status)")
        case BotTranscriptReceived.messageType:
            guard let (at, event) = payload(BotTranscriptReceived.self) else { break }
            return Line(occurredAt: at, service: "bot-gateway", type: type, text: "\(event.speaker): \(event.text)")
        case CallCompleted.messageType:
            guard let (at, event) = payload(CallCompleted.self) else { break }
            return Line(
                occurredAt: at, service: "realtime-worker", type: type,
                text: "session \(event.sessionID.uuidString.prefix(8))… ended with \(event.turns.count) turns")
        case MonitoringResultRecorded.messageType:
            guard let (at, event) = payload(MonitoringResultRecorded.self) else { break }
            return Line(
                occurredAt: at, service: "monitoring-worker", type: type,
                text: "verdict \(event.status): \(event.summary)")
        case CallDiagnosed.messageType:
            guard let (at, event) = payload(CallDiagnosed.self) else { break }
            return Line(
                occurredAt: at, service: "monitoring-worker", type: type,
                text: "diagnosis \(event.rootCauses.joined(separator: ", ")): \(event.summary)")
        default:
            break
        }
        return Line(service: "?", type: type, text: "")
    }
}

extension String {
    func padded(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
