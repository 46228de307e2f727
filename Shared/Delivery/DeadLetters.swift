import Bus
import Foundation

/// A message waiting in a service's dead-letter queue.
public struct ParkedMessage: Sendable {
    public var messageID: String?
    public var type: String?
    public var originalRoutingKey: String
    public var error: String
    public var attempts: Int
    public var parkedAt: String?
    public var body: String
}

/// Operator actions on parked messages.
public enum DeadLetters {
    /// Up to `limit` parked messages, oldest first. Listing does not consume them: they are
    /// taken unacknowledged and given back when the channel closes.
    public static func list(_ queues: ServiceQueues, broker: AMQPConfiguration, limit: Int = 100) async throws
        -> [ParkedMessage]
    {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            var parked: [ParkedMessage] = []
            while parked.count < limit, let message = try channel.get(queue: queues.deadLetterQueue) {
                parked.append(
                    ParkedMessage(
                        messageID: message.messageID, type: message.type,
                        originalRoutingKey: message.headers[DeliveryHeader.originalRoutingKey]?.description
                            ?? message.routingKey,
                        error: message.headers[DeliveryHeader.error]?.description ?? "(no reason recorded)",
                        attempts: Int(message.headers[DeliveryHeader.attempts]?.intValue ?? 0),
                        parkedAt: message.headers[DeliveryHeader.parkedAt]?.description,
                        body: String(decoding: message.body, as: UTF8.self)))
            }
            return parked
        }
    }

    /// Puts parked messages back on the service's work queue with a fresh attempt count: all of
    /// them, or only the one with `messageID`. Returns how many were replayed. Only the messages
    /// parked when the replay starts are considered, so a message that fails again at once is
    /// not replayed twice.
    public static func replay(_ queues: ServiceQueues, broker: AMQPConfiguration, messageID: String? = nil) async throws
        -> Int
    {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            var replayed = 0
            for _ in 0..<(try channel.messageCount(queue: queues.deadLetterQueue)) {
                guard let message = try channel.get(queue: queues.deadLetterQueue) else { break }
                guard messageID == nil || message.messageID == messageID else { continue }
                var headers = message.headers
                for key in [DeliveryHeader.attempts, DeliveryHeader.error, DeliveryHeader.parkedAt, DeliveryHeader.parkedBy] {
                    headers[key] = nil
                }
                headers[DeliveryHeader.replayedAt] = .string(Date().formatted(.iso8601))
                try channel.publish(
                    OutgoingMessage(
                        exchange: "", routingKey: queues.workQueue, body: message.body, messageID: message.messageID,
                        type: message.type, headers: headers, mandatory: true))
                try channel.ack(message)
                replayed += 1
            }
            return replayed
        }
    }
}
