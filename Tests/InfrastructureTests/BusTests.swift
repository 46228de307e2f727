import Bus
import Foundation
import TestSupport
import Testing

@Suite("Bus over librabbitmq")
struct BusTests {
    let logger = TestStack.logger

    private func messages(_ count: Int, to queue: String) -> [OutgoingMessage] {
        (0..<count).map {
            OutgoingMessage(
                exchange: "", routingKey: queue, body: Array("message \($0)".utf8), messageID: "id-\($0)",
                type: "test.v1", headers: ["x-sequence": .int(Int64($0)), "x-note": .string("n\($0)")])
        }
    }

    private func remaining(in queue: String, broker: AMQPConfiguration) async throws -> Int {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            return try channel.messageCount(queue: queue)
        }
    }

    private func delete(_ queue: String, broker: AMQPConfiguration) async throws {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.deleteQueue(queue)
        }
    }

    @Test("published messages arrive in order with their properties, and acks remove them")
    func publishConsumeAck() async throws {
        let broker = try TestStack.broker()
        let queue = TestStack.uniqueName("roundtrip")
        let topology = Topology(queues: [.quorum(queue)])
        let publisher = Publisher(configuration: broker, topology: topology, logger: logger)
        let consumer = Consumer(configuration: broker, queue: queue, topology: topology, prefetch: 10, logger: logger)

        try await publisher.publishEventually(messages(25, to: queue))
        let received = try await consumer.messages.take(25)
        await consumer.close()

        #expect(received.map(\.messageID) == (0..<25).map { "id-\($0)" })
        #expect(received.map { String(decoding: $0.body, as: UTF8.self) } == (0..<25).map { "message \($0)" })
        #expect(received[7].headers["x-sequence"] == .int(7))
        #expect(received[7].headers["x-note"] == .string("n7"))
        #expect(received[7].type == "test.v1")
        #expect(received.allSatisfy { !$0.redelivered })
        #expect(try await remaining(in: queue, broker: broker) == 0)
        await publisher.close()
        try await delete(queue, broker: broker)
    }

    @Test("a message its consumer never acknowledged is redelivered after that consumer dies")
    func unackedIsRedelivered() async throws {
        let broker = try TestStack.broker()
        let queue = TestStack.uniqueName("redeliver")
        let topology = Topology(queues: [.quorum(queue)])
        let publisher = Publisher(configuration: broker, topology: topology, logger: logger)
        try await publisher.publishEventually(messages(1, to: queue))

        let first = Consumer(configuration: broker, queue: queue, topology: topology, logger: logger)
        let unacked = try await first.messages.take(1, ack: false)
        #expect(unacked.first?.redelivered == false)
        await first.close()  // its connection closes with the message still unacknowledged

        let second = Consumer(configuration: broker, queue: queue, topology: topology, logger: logger)
        let redelivered = try await second.messages.take(1)
        await second.close()
        #expect(redelivered.first?.messageID == "id-0")
        #expect(redelivered.first?.redelivered == true)
        #expect(try await remaining(in: queue, broker: broker) == 0)
        await publisher.close()
        try await delete(queue, broker: broker)
    }

    @Test("prefetch bounds how many unacknowledged messages a consumer holds")
    func prefetchIsBounded() async throws {
        let broker = try TestStack.broker()
        let queue = TestStack.uniqueName("prefetch")
        let topology = Topology(queues: [.quorum(queue)])
        let publisher = Publisher(configuration: broker, topology: topology, logger: logger)
        try await publisher.publishEventually(messages(30, to: queue))
        let consumer = Consumer(configuration: broker, queue: queue, topology: topology, prefetch: 5, logger: logger)
        let held = try await consumer.messages.take(5, ack: false)
        try await Task.sleep(for: .milliseconds(500))
        // The broker keeps the other 25 ready until some of the 5 are acknowledged.
        #expect(try await remaining(in: queue, broker: broker) == 25)
        held.forEach { $0.ack() }
        _ = try await consumer.messages.take(25)
        await consumer.close()
        #expect(try await remaining(in: queue, broker: broker) == 0)
        await publisher.close()
        try await delete(queue, broker: broker)
    }

    @Test("a consumer whose queue is deleted redeclares it and goes on consuming")
    func consumerRecoversFromDeletedQueue() async throws {
        let broker = try TestStack.broker()
        let queue = TestStack.uniqueName("deleted")
        let topology = Topology(queues: [.quorum(queue)])
        let publisher = Publisher(configuration: broker, topology: Topology(), logger: logger)
        let consumer = Consumer(configuration: broker, queue: queue, topology: topology, logger: logger)
        try await eventually("consumer connected") { consumer.isConnected }
        try await delete(queue, broker: broker)
        try await eventually("queue redeclared") {
            (try? await self.remaining(in: queue, broker: broker)) != nil && consumer.isConnected
        }
        try await publisher.publishEventually(messages(3, to: queue))
        let received = try await consumer.messages.take(3)
        #expect(received.count == 3)
        await consumer.close()
        await publisher.close()
        try await delete(queue, broker: broker)
    }

    @Test("publisher and consumer survive a broker restart: they reconnect, redeclare and go on")
    func survivesBrokerRestart() async throws {
        let broker = try TestStack.chaosBroker()
        try await TestStack.chaos("start-rabbitmq")
        let queue = TestStack.uniqueName("restart")
        let topology = Topology(queues: [.quorum(queue)])
        let publisher = Publisher(configuration: broker, topology: topology, timeout: .seconds(5), logger: logger)
        let consumer = Consumer(configuration: broker, queue: queue, topology: topology, logger: logger)

        try await publisher.publishEventually(messages(1, to: queue))
        #expect(try await consumer.messages.take(1).first?.messageID == "id-0")

        try await TestStack.chaos("restart-rabbitmq")

        try await publisher.publishEventually(
            [OutgoingMessage(exchange: "", routingKey: queue, body: Array("after".utf8), messageID: "after-restart")])
        let received = try await consumer.messages.take(1, within: .seconds(60))
        #expect(received.first?.messageID == "after-restart")
        #expect(publisher.isConnected)
        #expect(consumer.isConnected)
        await consumer.close()
        await publisher.close()
        try await TestStack.chaos("stop-rabbitmq")
    }
}

extension BusTests {
    @Test("a mandatory message no queue takes fails its publish instead of vanishing")
    func mandatoryUnroutableFails() async throws {
        let broker = try TestStack.broker()
        let queue = TestStack.uniqueName("mandatory")
        let publisher = Publisher(configuration: broker, topology: Topology(queues: [.quorum(queue)]), logger: logger)
        let missing = TestStack.uniqueName("missing")
        await #expect {
            try await publisher.publish(OutgoingMessage(exchange: "", routingKey: missing, body: [1], mandatory: true))
        } throws: { error in
            guard case .unroutable(let routingKey, _) = error as? BusError else { return false }
            return routingKey == missing
        }
        // Without the flag the broker drops it and confirms: why retry and park copies set it.
        try await publisher.publish(OutgoingMessage(exchange: "", routingKey: missing, body: [1]))
        // And the publisher goes on working.
        try await publisher.publishEventually([OutgoingMessage(exchange: "", routingKey: queue, body: [2], mandatory: true)])
        #expect(try await remaining(in: queue, broker: broker) == 1)
        await publisher.close()
        try await delete(queue, broker: broker)
    }
}
