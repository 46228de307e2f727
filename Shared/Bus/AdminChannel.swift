#if canImport(Glibc)
    import Foundation
    import Glibc
#endif

/// A blocking, single-threaded channel for operator work and tests: declare or delete queues,
/// take messages one at a time (basic.get), publish with a confirm. Not for hot paths (use
/// `Publisher` and `Consumer`); not Sendable: use it from one thread.
public final class AdminChannel {
    private let connection: AMQPConnection
    private var nextDeliveryTag: UInt64 = 1

    public init(configuration: AMQPConfiguration) throws(BusError) {
        connection = try AMQPConnection.open(configuration: configuration, name: "admin")
        try connection.enablePublisherConfirms()
    }

    public func declare(_ topology: Topology) throws(BusError) { try connection.declare(topology) }
    public func deleteQueue(_ name: String) throws(BusError) { try connection.deleteQueue(name) }
    public func messageCount(queue: String) throws(BusError) -> Int { try connection.messageCount(queue: queue) }
    /// Messages waiting and consumers attached: how the console sees a service's replicas.
    public func counts(queue: String) throws(BusError) -> (messages: Int, consumers: Int) {
        try connection.counts(queue: queue)
    }

    /// The next message of `queue`, unacknowledged: settle it with `ack`/`requeue`, or close
    /// the channel to give every unsettled message back to the queue.
    public func get(queue: String) throws(BusError) -> InboundMessage? {
        try connection.get(queue: queue, acknowledger: nil)
    }

    public func ack(_ message: InboundMessage) throws(BusError) {
        try connection.settle(deliveryTag: message.deliveryTag, outcome: .ack)
    }

    /// Publishes and waits for the broker's confirm.
    public func publish(_ message: OutgoingMessage, timeout: Duration = .seconds(10)) throws(BusError) {
        try connection.publish(message)
        let tag = nextDeliveryTag
        nextDeliveryTag += 1
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !connection.hasBufferedInput {
                var descriptor = pollfd(fd: connection.socketDescriptor, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 100)
            }
            while let frame = try connection.readFrame() {
                switch frame {
                case .publishConfirmed(let confirmed, let multiple) where confirmed == tag || (multiple && confirmed >= tag):
                    return
                case .publishRejected(let rejected, let multiple) where rejected == tag || (multiple && rejected >= tag):
                    throw .publishRejected(routingKey: message.routingKey)
                default:
                    continue
                }
            }
        }
        throw .publishTimedOut(routingKey: message.routingKey, after: timeout)
    }

    public func close() { connection.close() }
}

extension AdminChannel {
    /// Opens a channel on a thread of its own, runs `body` there, and returns its result:
    /// blocking broker work without blocking Swift's cooperative threads.
    public static func run<T: Sendable>(
        _ configuration: AMQPConfiguration, _ body: @escaping @Sendable (AdminChannel) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body(try AdminChannel(configuration: configuration)) })
            }
            thread.name = "bus-admin"
            thread.start()
        }
    }
}
