import Foundation
import Logging
import Resilience
import Synchronization

/// Consumes one queue with manual acknowledgements and a bounded prefetch, over its own
/// connection on a dedicated thread.
///
/// Messages arrive on `messages`; each must be settled with `ack()` or `reject(requeue:)`, which
/// wakes the thread to send it at once. After a lost connection the thread reconnects with
/// backoff, redeclares its topology and subscribes again; the broker redelivers what was not
/// acknowledged, and settlements for deliveries of the old connection are discarded.
public final class Consumer: Sendable, Acknowledging {
    /// A settlement queued for the thread. A struct rather than a tuple: arrays of tuples need
    /// their type metadata looked up at run time on every use.
    fileprivate struct PendingSettlement {
        var tag: UInt64
        var generation: Int
        var outcome: Settlement
    }
    fileprivate typealias Settlements = [PendingSettlement]

    private struct Shared {
        var settlements: Settlements = []
        var stopRequested = false
        var closeRequested = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Every delivery, in broker order. Finishes after `stop()` once the broker has confirmed
    /// that it will deliver nothing more.
    public let messages: AsyncStream<InboundMessage>
    public let queue: String
    private let shared = Mutex(Shared())
    private let wakeup = Wakeup()
    private let connected = Atomic<Bool>(false)
    /// Set when a settlement is queued: lets the thread look for settlements between two
    /// deliveries without taking the lock.
    private let settlementsQueued = Atomic<Bool>(false)

    public var isConnected: Bool { connected.load(ordering: .relaxed) }

    public init(
        configuration: AMQPConfiguration, queue: String, topology: Topology = Topology(), prefetch: UInt16 = 50,
        logger: Logger
    ) {
        self.queue = queue
        let (messages, continuation) = AsyncStream<InboundMessage>.makeStream()
        self.messages = messages
        let thread = Thread { [self] in
            var loop = ConsumerLoop(
                consumer: self, configuration: configuration, topology: topology, prefetch: prefetch,
                output: continuation, logger: logger)
            loop.run()
        }
        thread.name = "bus-consume-\(queue)"
        thread.start()
    }

    /// Stops new deliveries. Messages already delivered can still be settled until `close()`.
    public func stop() {
        shared.withLock { $0.stopRequested = true }
        wakeup.signal()
    }

    /// Sends the remaining settlements, closes the connection and waits for the thread to end.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = shared.withLock { shared in
                shared.stopRequested = true
                shared.closeRequested = true
                if !shared.exited { shared.exitWaiters.append(continuation) }
                return shared.exited
            }
            if exited { continuation.resume() } else { wakeup.signal() }
        }
    }

    func settle(_ message: InboundMessage, outcome: Settlement) {
        shared.withLock {
            $0.settlements.append(
                PendingSettlement(tag: message.deliveryTag, generation: message.connectionGeneration, outcome: outcome))
        }
        settlementsQueued.store(true, ordering: .releasing)
        wakeup.signal()
    }

    // MARK: Thread side

    /// Moves the queued settlements into `settlements` (which must be empty) and returns the
    /// stop and close requests. The two arrays swap buffers, so that neither side allocates in
    /// the steady state.
    fileprivate func takeRequests(into settlements: inout Settlements) -> (stop: Bool, close: Bool) {
        settlementsQueued.store(false, ordering: .relaxed)
        return shared.withLock { shared in
            swap(&shared.settlements, &settlements)
            return (shared.stopRequested, shared.closeRequested)
        }
    }

    /// Moves the settlements queued since the last take into `settlements` (which must be
    /// empty); returns false without locking if there are none.
    fileprivate func takeSettlements(into settlements: inout Settlements) -> Bool {
        guard settlementsQueued.exchange(false, ordering: .acquiring) else { return false }
        shared.withLock { swap(&$0.settlements, &settlements) }
        return true
    }

    fileprivate func exit() {
        let waiters = shared.withLock { shared in
            shared.exited = true
            defer { shared.exitWaiters.removeAll() }
            return shared.exitWaiters
        }
        connected.store(false, ordering: .relaxed)
        for waiter in waiters { waiter.resume() }
    }

    fileprivate func setConnected(_ value: Bool) { connected.store(value, ordering: .relaxed) }
    fileprivate func wait(socket: Int32?, timeout: Duration) -> Bool { wakeup.wait(socket: socket, timeout: timeout) }
}

private struct ConsumerLoop {
    let consumer: Consumer
    let configuration: AMQPConfiguration
    let topology: Topology
    let prefetch: UInt16
    let output: AsyncStream<InboundMessage>.Continuation
    let logger: Logger
    private let backoff = Backoff()
    private var connection: AMQPConnection?
    private var generation = 0
    private var cancelSent = false
    private var finished = false
    private var failedAttempts = 0
    private var nextConnectAttempt = ContinuousClock.now
    private var consumerTag: String
    /// Settlements taken from the consumer, being sent; kept empty between takes.
    private var settlements: Consumer.Settlements = []
    /// Delivery tags of this connection not settled yet, oldest first.
    private var unsettled: [UInt64] = []
    private var lastSettlementSent: ContinuousClock.Instant?

    init(
        consumer: Consumer, configuration: AMQPConfiguration, topology: Topology, prefetch: UInt16,
        output: AsyncStream<InboundMessage>.Continuation, logger: Logger
    ) {
        self.consumer = consumer
        self.configuration = configuration
        self.topology = topology
        self.prefetch = prefetch
        self.output = output
        self.logger = logger
        consumerTag = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))"
    }

    mutating func run() {
        let idleWait = configuration.idleWait
        while true {
            let (stop, close) = consumer.takeRequests(into: &settlements)
            if let connection, connection.isOpen { apply(settlements, on: connection) }
            settlements.removeAll(keepingCapacity: true)
            if close { break }
            if stop { requestStop() }

            guard let connection, connection.isOpen else {
                if stop {
                    finish()
                    _ = consumer.wait(socket: nil, timeout: idleWait)
                } else if ContinuousClock.now < nextConnectAttempt {
                    _ = consumer.wait(socket: nil, timeout: nextConnectAttempt - .now)
                } else {
                    connect()
                }
                continue
            }
            if !connection.hasBufferedInput {
                _ = consumer.wait(socket: connection.socketDescriptor, timeout: idleWait)
            }
            pump(connection)
        }
        lingerAfterLastSettlement()
        connection?.close()
        connection = nil
        finish()
        consumer.exit()
    }

    private mutating func connect() {
        do {
            let connection = try AMQPConnection.open(
                configuration: configuration, name: "consume \(consumer.queue) \(consumerTag)")
            try connection.declare(topology)
            try connection.setPrefetch(prefetch)
            try connection.startConsuming(queue: consumer.queue, consumerTag: consumerTag)
            self.connection = connection
            generation += 1
            unsettled.removeAll()
            cancelSent = false
            if failedAttempts > 0 {
                logger.info("consumer reconnected", metadata: ["queue": "\(consumer.queue)"])
            }
            failedAttempts = 0
            consumer.setConnected(true)
        } catch {
            failedAttempts += 1
            nextConnectAttempt = .now + backoff.delay(forAttempt: failedAttempts)
            logger.warning(
                "consumer cannot reach the broker; retrying",
                metadata: ["queue": "\(consumer.queue)", "error": "\(error)", "attempt": "\(failedAttempts)"])
        }
    }

    /// Reads what is readable now, but returns after a bounded number of deliveries so that
    /// stop and close requests are not starved by a busy queue.
    ///
    /// Settlements queued meanwhile are sent before every read from the socket: held back
    /// until the end of a burst, they would let the prefetch window run dry while the broker
    /// waits for them. Deliveries already read into librabbitmq's buffer are handed over
    /// first, back to back, so that the consuming task finds several waiting instead of
    /// sleeping and being woken for each.
    private mutating func pump(_ connection: AMQPConnection) {
        do {
            for _ in 0..<Int(max(prefetch, 1)) {
                if !connection.hasBufferedInput, consumer.takeSettlements(into: &settlements) {
                    apply(settlements, on: connection)
                    settlements.removeAll(keepingCapacity: true)
                    guard connection.isOpen else { return }
                }
                switch try connection.pollDelivery(generation: generation, acknowledger: consumer) {
                case .message(let message):
                    unsettled.append(message.deliveryTag)
                    output.yield(message)
                case .frame(.consumerCancelled):
                    if cancelSent {
                        finish()
                    } else {
                        // The broker cancelled us (queue deleted or failed over): subscribe again.
                        logger.warning("broker cancelled the consumer; resubscribing", metadata: ["queue": "\(consumer.queue)"])
                        drop(connection)
                    }
                    return
                case .frame:
                    continue
                case .nothing:
                    return
                }
            }
        } catch {
            logger.warning(
                "consumer lost its broker connection", metadata: ["queue": "\(consumer.queue)", "error": "\(error)"])
            drop(connection)
        }
    }

    /// Sends the settlements of this connection. Acks of the oldest unsettled deliveries go
    /// as one basic.ack with `multiple`: one frame, and for a quorum queue one log entry,
    /// where an ack per delivery costs the broker one of each. The others go one frame each,
    /// corked, in as few TCP segments as fit.
    private mutating func apply(_ settlements: Consumer.Settlements, on connection: AMQPConnection) {
        let generation = generation
        let current = settlements.filter { $0.generation == generation }
        guard !current.isEmpty else { return }
        var acked = Set<UInt64>()
        for settlement in current { if case .ack = settlement.outcome { acked.insert(settlement.tag) } }
        var covered = 0
        while covered < unsettled.count, acked.contains(unsettled[covered]) { covered += 1 }
        // Tags grow with every delivery, so the acks up to this tag are exactly the covered ones.
        let ackedUpTo = covered > 1 ? unsettled[covered - 1] : nil
        let settled = Set(current.map(\.tag))
        unsettled.removeAll { settled.contains($0) }
        func send() throws(BusError) {
            if let ackedUpTo { try connection.settle(deliveryTag: ackedUpTo, multiple: true, outcome: .ack) }
            for settlement in current {
                if let ackedUpTo, settlement.tag <= ackedUpTo, case .ack = settlement.outcome { continue }
                try connection.settle(deliveryTag: settlement.tag, outcome: settlement.outcome)
            }
        }
        do {
            // The connection is dropped (closed politely) only after the socket is uncorked.
            let frames = ackedUpTo == nil ? current.count : 1 + current.count - covered
            if frames > 1 { try connection.coalescingWrites(send) } else { try send() }
            lastSettlementSent = .now
        } catch {
            logger.warning("consumer could not acknowledge; the broker will redeliver", metadata: ["error": "\(error)"])
            drop(connection)
        }
    }

    /// RabbitMQ 3.10 quorum queues can put back messages acknowledged just before their channel
    /// closes (seen with plain librabbitmq too), which would redeliver work already done. A
    /// closing consumer therefore waits until its last acknowledgement is half a second old.
    private func lingerAfterLastSettlement() {
        guard let lastSettlementSent, connection?.isOpen == true else { return }
        let remaining = Duration.milliseconds(500) - (ContinuousClock.now - lastSettlementSent)
        if remaining > .zero { Thread.sleep(forTimeInterval: remaining.secondsValue) }
    }

    private mutating func requestStop() {
        guard !cancelSent, !finished else { return }
        cancelSent = true
        guard let connection, connection.isOpen else { return finish() }
        do {
            try connection.requestCancel(consumerTag: consumerTag)
        } catch {
            drop(connection)
            finish()
        }
    }

    private mutating func drop(_ connection: AMQPConnection) {
        connection.close()
        self.connection = nil
        consumer.setConnected(false)
        failedAttempts = 1
        nextConnectAttempt = .now + backoff.delay(forAttempt: 1)
    }

    private mutating func finish() {
        guard !finished else { return }
        finished = true
        output.finish()
    }
}
