import Foundation
import Logging
import Resilience
import Synchronization

/// Publishes persistent messages with publisher confirms over its own connection.
///
/// librabbitmq blocks, so the connection lives on a dedicated thread; async callers queue
/// batches and are resumed when the broker has confirmed every message of their batch. Batches
/// queued by concurrent callers share one stream of confirms, which is what makes confirms cheap.
/// After a broker restart the thread reconnects with backoff and redeclares its topology;
/// messages that were in flight when the connection dropped fail, and their callers retry.
public final class Publisher: Sendable {
    private struct Shared {
        var queued: [QueuedPublish] = []
        var closing = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let shared = Mutex(Shared())
    private let wakeup = Wakeup()
    private let connected = Atomic<Bool>(false)
    private let timeout: Duration

    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    public init(
        configuration: AMQPConfiguration, topology: Topology = Topology(), name: String = "publisher",
        timeout: Duration = .seconds(30), logger: Logger
    ) {
        self.timeout = timeout
        let thread = Thread { [self] in
            var loop = PublisherLoop(
                publisher: self, configuration: configuration, topology: topology, connectionName: name, logger: logger)
            loop.run()
        }
        thread.name = "bus-\(name)"
        thread.start()
    }

    public func publish(_ message: OutgoingMessage) async throws {
        try await publish([message])
    }

    /// Returns once the broker has confirmed every message; throws if any was rejected, the
    /// connection dropped before confirmation, or the deadline passed.
    public func publish(_ messages: [OutgoingMessage]) async throws {
        guard !messages.isEmpty else { return }
        let deadline = ContinuousClock.now + timeout
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = shared.withLock { shared in
                guard !shared.closing else { return false }
                shared.queued.append(QueuedPublish(messages: messages, continuation: continuation, deadline: deadline))
                return true
            }
            if accepted { wakeup.signal() } else { continuation.resume(throwing: BusError.closed) }
        }
    }

    /// Waits for queued and in-flight messages to be confirmed, then closes the connection.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = shared.withLock { shared in
                shared.closing = true
                if !shared.exited { shared.exitWaiters.append(continuation) }
                return shared.exited
            }
            if exited { continuation.resume() } else { wakeup.signal() }
        }
    }

    // MARK: Thread side

    fileprivate func takeQueued() -> (batches: [QueuedPublish], closing: Bool) {
        shared.withLock { shared in
            defer { shared.queued.removeAll(keepingCapacity: true) }
            return (shared.queued, shared.closing)
        }
    }

    fileprivate func failExpiredQueued(now: ContinuousClock.Instant) {
        let expired = shared.withLock { shared in
            let expired = shared.queued.filter { $0.deadline <= now }
            shared.queued.removeAll { $0.deadline <= now }
            return expired
        }
        for batch in expired {
            batch.continuation.resume(
                throwing: BusError.publishTimedOut(routingKey: batch.messages[0].routingKey, after: timeout))
        }
    }

    fileprivate var hasQueued: Bool { shared.withLock { !$0.queued.isEmpty } }

    /// Closing with nothing left to send: the only way out while the broker is unreachable.
    fileprivate var isClosingWithNothingQueued: Bool { shared.withLock { $0.closing && $0.queued.isEmpty } }

    fileprivate func exit() {
        let waiters = shared.withLock { shared in
            shared.exited = true
            for batch in shared.queued { batch.continuation.resume(throwing: BusError.closed) }
            shared.queued.removeAll()
            defer { shared.exitWaiters.removeAll() }
            return shared.exitWaiters
        }
        connected.store(false, ordering: .relaxed)
        for waiter in waiters { waiter.resume() }
    }

    fileprivate func setConnected(_ value: Bool) { connected.store(value, ordering: .relaxed) }
    fileprivate func wait(socket: Int32?, timeout: Duration) { wakeup.wait(socket: socket, timeout: timeout) }
    fileprivate var confirmTimeout: Duration { timeout }
}

private struct QueuedPublish {
    var messages: [OutgoingMessage]
    var continuation: CheckedContinuation<Void, any Error>
    var deadline: ContinuousClock.Instant
}

/// The publisher's thread: owns the connection and the confirm bookkeeping.
private struct PublisherLoop {
    private struct InFlightBatch {
        var remaining: Int
        var continuation: CheckedContinuation<Void, any Error>
        var deadline: ContinuousClock.Instant
        var routingKey: String
        var rejected = false
        /// Holds a mandatory message, which the broker may return.
        var hasMandatory: Bool
        /// Why a message of the batch was returned, if one was.
        var returned: String?

        /// Counts one message of the batch as settled; returns how many remain.
        mutating func settleOne(rejected: Bool) -> Int {
            remaining -= 1
            self.rejected = self.rejected || rejected
            return remaining
        }
    }

    let publisher: Publisher
    let configuration: AMQPConfiguration
    let topology: Topology
    let connectionName: String
    let logger: Logger
    private let backoff = Backoff()
    private var connection: AMQPConnection?
    private var nextDeliveryTag: UInt64 = 1
    private var oldestUnconfirmed: UInt64 = 1
    private var batchOfTag: [UInt64: Int] = [:]
    private var inFlight: [Int: InFlightBatch] = [:]
    private var nextBatchID = 0
    private var failedAttempts = 0
    private var nextConnectAttempt = ContinuousClock.now

    init(
        publisher: Publisher, configuration: AMQPConfiguration, topology: Topology, connectionName: String, logger: Logger
    ) {
        self.publisher = publisher
        self.configuration = configuration
        self.topology = topology
        self.connectionName = connectionName
        self.logger = logger
    }

    mutating func run() {
        let idleWait = configuration.idleWait
        while true {
            let now = ContinuousClock.now
            publisher.failExpiredQueued(now: now)
            expireInFlight(now: now)
            guard let connection, connection.isOpen else {
                if publisher.isClosingWithNothingQueued { break }
                if now < nextConnectAttempt {
                    publisher.wait(socket: nil, timeout: nextConnectAttempt - now)
                } else {
                    connect()
                }
                continue
            }
            let (batches, closing) = publisher.takeQueued()
            for (index, batch) in batches.enumerated() {
                guard connection.isOpen else {
                    // The connection dropped mid-way: what was not sent fails now, like what was.
                    for unsent in batches[index...] {
                        unsent.continuation.resume(
                            throwing: BusError.connectionLost(operation: "publishing", reason: "connection dropped"))
                    }
                    break
                }
                send(batch, on: connection)
            }
            guard connection.isOpen else { continue }
            if closing && inFlight.isEmpty && !publisher.hasQueued {
                connection.close()
                break
            }
            let waitLimit = inFlight.isEmpty ? idleWait : min(idleWait, .milliseconds(100))
            if !connection.hasBufferedInput { publisher.wait(socket: connection.socketDescriptor, timeout: waitLimit) }
            readConfirms(from: connection)
        }
        failInFlight(with: BusError.closed)
        publisher.exit()
    }

    private mutating func connect() {
        do {
            let connection = try AMQPConnection.open(configuration: configuration, name: connectionName)
            try connection.declare(topology)
            try connection.enablePublisherConfirms()
            self.connection = connection
            nextDeliveryTag = 1
            oldestUnconfirmed = 1
            if failedAttempts > 0 { logger.info("publisher reconnected", metadata: ["broker": "\(connection.endpoint)"]) }
            failedAttempts = 0
            publisher.setConnected(true)
        } catch {
            failedAttempts += 1
            nextConnectAttempt = .now + backoff.delay(forAttempt: failedAttempts)
            logger.warning(
                "publisher cannot reach the broker; retrying",
                metadata: ["error": "\(error)", "attempt": "\(failedAttempts)"])
        }
    }

    private mutating func send(_ batch: QueuedPublish, on connection: AMQPConnection) {
        let id = nextBatchID
        nextBatchID += 1
        inFlight[id] = InFlightBatch(
            remaining: batch.messages.count, continuation: batch.continuation, deadline: batch.deadline,
            routingKey: batch.messages[0].routingKey, hasMandatory: batch.messages.contains(where: \.mandatory))
        for message in batch.messages {
            do {
                try connection.publish(message)
                batchOfTag[nextDeliveryTag] = id
                nextDeliveryTag += 1
            } catch {
                dropConnection(because: error)
                return
            }
        }
    }

    private mutating func readConfirms(from connection: AMQPConnection) {
        do {
            while let frame = try connection.readFrame() {
                switch frame {
                case .publishConfirmed(let tag, let multiple): settle(upTo: tag, multiple: multiple, rejected: false)
                case .publishRejected(let tag, let multiple): settle(upTo: tag, multiple: multiple, rejected: true)
                case .publishReturned(let routingKey, let reason):
                    // A return names no delivery tag, so every batch that could hold the returned
                    // message fails: a caller retrying a message that did land only makes a
                    // duplicate, which consumers absorb; losing a message could not be undone.
                    for id in inFlight.keys where inFlight[id]!.hasMandatory {
                        inFlight[id]!.returned = "\(routingKey): \(reason)"
                    }
                case .consumerCancelled, .other: break
                }
            }
        } catch {
            dropConnection(because: error)
        }
    }

    private mutating func settle(upTo tag: UInt64, multiple: Bool, rejected: Bool) {
        let tags: ClosedRange<UInt64> = multiple ? oldestUnconfirmed...max(oldestUnconfirmed, tag) : tag...tag
        for settled in tags {
            // Updated in place: copying the batch out and back would retain and release its
            // continuation and routing key for every message.
            guard let id = batchOfTag.removeValue(forKey: settled),
                let remaining = inFlight[id]?.settleOne(rejected: rejected)
            else { continue }
            guard remaining == 0, let batch = inFlight.removeValue(forKey: id) else { continue }
            if let returned = batch.returned {
                batch.continuation.resume(throwing: BusError.unroutable(routingKey: batch.routingKey, reason: returned))
            } else if batch.rejected {
                batch.continuation.resume(throwing: BusError.publishRejected(routingKey: batch.routingKey))
            } else {
                batch.continuation.resume()
            }
        }
        while oldestUnconfirmed < nextDeliveryTag, batchOfTag[oldestUnconfirmed] == nil { oldestUnconfirmed += 1 }
    }

    private mutating func expireInFlight(now: ContinuousClock.Instant) {
        for (id, batch) in inFlight where batch.deadline <= now {
            inFlight[id] = nil
            batch.continuation.resume(
                throwing: BusError.publishTimedOut(routingKey: batch.routingKey, after: publisher.confirmTimeout))
        }
    }

    private mutating func dropConnection(because error: any Error) {
        logger.warning("publisher lost its broker connection", metadata: ["error": "\(error)"])
        connection = nil
        publisher.setConnected(false)
        failInFlight(with: error)
        failedAttempts = 1
        nextConnectAttempt = .now + backoff.delay(forAttempt: 1)
    }

    private mutating func failInFlight(with error: any Error) {
        for batch in inFlight.values { batch.continuation.resume(throwing: error) }
        inFlight.removeAll()
        batchOfTag.removeAll()
    }
}
