import Bus
import Delivery
import Foundation
import Shared
import TestSupport

/// The bus as the end-to-end tests use it: services started with `ATTACHE_BUS_PREFIX` and
/// `ATTACHE_RETRY_DELAYS_MS=200,500,1000` declare their queues under that prefix.
enum SystemBus {
    /// Publishes `envelope` on the prefix's events exchange, as a service would.
    static func publish<P: EventPayload>(_ envelope: Envelope<P>, prefix: String) async throws {
        let publisher = Publisher(
            configuration: try TestStack.broker(), topology: ServiceQueues.subscriptionsTopology(prefix: prefix),
            logger: TestStack.logger)
        do {
            try await publisher.publish(
                OutgoingMessage(
                    exchange: ServiceQueues.eventsExchange(prefix: prefix), routingKey: envelope.type.routingKey,
                    body: try MessageCoding.encode(envelope), messageID: envelope.id.uuidString,
                    type: envelope.type.description))
        } catch {
            await publisher.close()
            throw error
        }
        await publisher.close()
    }

    /// Deletes every queue the services declared under `prefix`.
    static func deleteQueues(prefix: String) async throws {
        try await AdminChannel.run(try TestStack.broker()) { channel in
            defer { channel.close() }
            for service in ServiceBinaries.all {
                let queues = ServiceQueues(
                    prefix: prefix, service: service, retryDelays: [.milliseconds(200), .milliseconds(500), .seconds(1)])
                for queue in [queues.workQueue, queues.deadLetterQueue] + (1...3).map({ queues.retryQueue(forRetry: $0) }) {
                    try channel.deleteQueue(queue)
                }
            }
            try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
        }
    }
}
