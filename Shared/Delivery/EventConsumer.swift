import Bus
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Shared
import Store
import Synchronization
import Telemetry
import Tracing

/// Consumes a service's work queue and runs the matching handler for each message, one at a
/// time in queue order. Messages of a type with a batch handler that arrived together (up to
/// `batchLimit`, on their first delivery) are handed to it at once instead, still in order with
/// the rest; if the batch handler throws, they are handled one by one. Messages of types whose
/// handlers share a transaction (`EventRoutes.Batching.sharedTransaction`) that arrived together
/// are handled in one, and acknowledged together when it commits.
///
/// A handler that throws is retried through the service's delay queues with increasing delay;
/// after `maxAttempts` failures, or at once for a malformed message, an unknown type or a
/// `PermanentFailure`, the message is parked in the dead-letter queue with the error, the
/// attempt count and its original routing key. Either way the original is acknowledged only
/// after the retry or parked copy is confirmed by the broker, so nothing is lost in between.
///
/// A failure because the database is unreachable is not the handler's: the consumer pauses (it
/// takes no more work and `isPaused` turns readiness off), waits until the database answers,
/// and handles the same message again without counting an attempt, so an outage of any length
/// parks nothing.
public struct EventConsumer: Service {
    public let queues: ServiceQueues
    let routes: EventRoutes
    let consumer: Consumer
    let publisher: Publisher
    let pool: PostgresPool
    let inbox: Inbox
    let revisions: Revisions
    let outbox: Outbox
    let maxAttempts: Int
    let batchLimit: Int
    let outageCheckInterval: Duration
    let logger: Logger
    private let state = State()

    private final class State: Sendable {
        let paused = Atomic(false)
        let stopping = Atomic(false)
    }

    public init(
        queues: ServiceQueues, routes: EventRoutes, broker: AMQPConfiguration, publisher: Publisher, pool: PostgresPool,
        outbox: Outbox, prefetch: UInt16 = 20, maxAttempts: Int = 5, batchLimit: Int = 100,
        outageCheckInterval: Duration = .seconds(1), logger: Logger
    ) throws {
        if let declared = Subscriptions.routingKeys(for: queues.service), declared != routes.routingKeys {
            throw SubscriptionMismatch(service: queues.service, handled: routes.routingKeys, declared: declared)
        }
        self.queues = queues
        self.routes = routes
        self.publisher = publisher
        self.pool = pool
        self.inbox = try Inbox(schema: outbox.schema)
        self.revisions = try Revisions(schema: outbox.schema)
        self.outbox = outbox
        self.maxAttempts = max(1, maxAttempts)
        self.batchLimit = max(1, batchLimit)
        self.outageCheckInterval = outageCheckInterval
        self.logger = logger
        consumer = Consumer(
            configuration: broker, queue: queues.workQueue, topology: queues.topology(routingKeys: routes.routingKeys),
            prefetch: prefetch, logger: logger)
    }

    public var isConnected: Bool { consumer.isConnected }
    /// Waiting out a database outage: taking no work.
    public var isPaused: Bool { state.paused.load(ordering: .relaxed) }

    public func run() async {
        await withGracefulShutdownHandler {
            // The broker's deliveries are gathered as they come, so that what arrived while a
            // handler ran can be taken together.
            let arrived = Mailbox<InboundMessage>()
            async let gathered: Void = {
                for await message in consumer.messages { arrived.put(message) }
                arrived.finish()
            }()
            while case let messages = await arrived.take(upTo: batchLimit), !messages.isEmpty {
                await process(messages)
            }
            await gathered
        } onGracefulShutdown: {
            // Stop new deliveries; the loop above finishes what was already delivered.
            state.stopping.store(true, ordering: .relaxed)
            consumer.stop()
        }
        await consumer.close()
    }

    /// Runs of first deliveries of one batch-handled type go to the batch handler, runs of types
    /// that share a transaction are handled in one; the rest, one at a time.
    func process(_ messages: [InboundMessage]) async {
        enum Run: Equatable {
            case batchHandler(MessageType)
            case sharedTransaction
        }
        var run: [(InboundMessage, EnvelopeHeader)] = []
        var kind = Run.sharedTransaction
        func joinable(_ message: InboundMessage) -> (Run, EnvelopeHeader)? {
            guard message.headers[DeliveryHeader.attempts] == nil,
                let header = try? MessageCoding.decode(EnvelopeHeader.self, from: message.body)
            else { return nil }
            if routes.batchHandlers[header.type] != nil { return (.batchHandler(header.type), header) }
            if routes.sharingTransactions.contains(header.type) { return (.sharedTransaction, header) }
            return nil
        }
        func flush() async {
            switch kind {
            case .batchHandler: await process(batch: run)
            case .sharedTransaction: await process(together: run)
            }
            run = []
        }
        for message in messages {
            let joining = joinable(message)
            if !run.isEmpty, joining?.0 != kind { await flush() }
            if let (joiningKind, header) = joining {
                kind = joiningKind
                run.append((message, header))
            } else {
                await process(message)
            }
        }
        if !run.isEmpty { await flush() }
    }

    /// Handles a run of messages in one transaction, each message's `once` in a savepoint of it.
    /// Those whose handler failed were undone alone and are handled again by themselves, after the
    /// others commit; if the transaction itself fails, every message is handled by itself.
    private func process(together run: [(InboundMessage, EnvelopeHeader)]) async {
        guard run.count > 1 else {
            for (message, _) in run { await process(message) }
            return
        }
        let started = ContinuousClock.now
        let outcome: (failed: Set<Int>, actions: [@Sendable () -> Void])
        do {
            outcome = try await pool.withSession { session in
                _ = try await session.run { try $0.execute("BEGIN") }
                do {
                    let shared = SharedTransaction(session: session)
                    var failed: Set<Int> = []
                    for (index, (message, header)) in run.enumerated() {
                        guard let handler = routes.handlers[header.type] else {
                            failed.insert(index)
                            continue
                        }
                        var logger = logger
                        logger[metadataKey: "message_id"] = "\(header.id)"
                        logger[metadataKey: "message_type"] = "\(header.type)"
                        let context = HandlerContext(
                            messageID: header.id, messageType: header.type, previousFailures: 0, pool: pool, outbox: outbox,
                            logger: logger, revisions: revisions, inbox: inbox, shared: shared)
                        let span =
                            Telemetry.isTracing
                            ? MessageTracing.startProcessing(message, header: header, queue: queues.workQueue) : nil
                        defer { span?.end() }
                        do {
                            try await MessageTracing.within(span) { try await handler(message.body, context) }
                        } catch {
                            failed.insert(index)  // handled again by itself, in a span of its own
                        }
                    }
                    _ = try await session.run { try $0.execute("COMMIT") }
                    return (failed, shared.committedActions)
                } catch {
                    _ = try? await session.run { try $0.execute("ROLLBACK") }
                    throw error
                }
            }
        } catch {
            logger.warning(
                "a shared transaction failed; handling its messages one by one",
                metadata: ["messages": "\(run.count)", "error": "\(error)"])
            for (message, _) in run { await process(message) }
            return
        }
        outbox.committed()
        for action in outcome.actions { action() }
        let elapsed = ContinuousClock.now - started
        for (index, (message, header)) in run.enumerated() where !outcome.failed.contains(index) {
            message.ack()
            count(header.type, outcome: "handled")
            Timer(
                label: "attache_handler_duration_seconds",
                dimensions: [("service", queues.service), ("type", header.type.description)]
            ).record(
                duration: elapsed)
        }
        for index in outcome.failed.sorted() { await process(run[index].0) }
    }

    private func process(batch: [(InboundMessage, EnvelopeHeader)]) async {
        guard batch.count > 1, let type = batch.first?.1.type, let handler = routes.batchHandlers[type] else {
            for (message, _) in batch { await process(message) }
            return
        }
        // A message delivered twice in one batch is handed over once (its copies are acknowledged with it).
        var seen = Set<UUID>()
        let distinct = batch.filter { seen.insert($0.1.id).inserted }
        let context = BatchContext(
            messageType: type, messageIDs: distinct.map(\.1.id), pool: pool, outbox: outbox, logger: logger,
            revisions: revisions, inbox: inbox)
        let started = ContinuousClock.now
        let span =
            Telemetry.isTracing ? MessageTracing.startProcessing(batch: distinct, type: type, queue: queues.workQueue) : nil
        do {
            defer { span?.end() }  // before the messages are handled again one by one, in spans of their own
            try await MessageTracing.within(span) { try await handler(distinct.map(\.0.body), context) }
        } catch {
            logger.warning(
                "batch handler failed; handling its messages one by one",
                metadata: ["message_type": "\(type)", "messages": "\(batch.count)", "error": "\(error)"])
            for (message, _) in batch { await process(message) }
            return
        }
        let elapsed = ContinuousClock.now - started
        for (message, _) in batch {
            message.ack()
            count(type, outcome: "handled")
            Timer(
                label: "attache_handler_duration_seconds", dimensions: [("service", queues.service), ("type", type.description)]
            ).record(duration: elapsed)
        }
    }

    func process(_ message: InboundMessage) async {
        let header = Result { try MessageCoding.decode(EnvelopeHeader.self, from: message.body) }
        guard Telemetry.isTracing else { return await handle(message, header, span: nil) }
        let span = MessageTracing.startProcessing(message, header: try? header.get(), queue: queues.workQueue)
        defer { span.end() }
        await MessageTracing.within(span) { await handle(message, header, span: span) }
    }

    /// `span`: the message's span when tracing, to mark failed when the message is retried or parked.
    private func handle(_ message: InboundMessage, _ decoded: Result<EnvelopeHeader, any Error>, span: (any Span)?) async {
        let previousFailures = Int(message.headers[DeliveryHeader.attempts]?.intValue ?? 0)
        let header: EnvelopeHeader
        do {
            header = try decoded.get()
        } catch {
            MessageTracing.failed(span, error)
            return await park(message, reason: "malformed envelope: \(DecodingProblem(error))", failures: previousFailures)
        }
        var logger = logger
        logger[metadataKey: "message_id"] = "\(header.id)"
        logger[metadataKey: "message_type"] = "\(header.type)"
        logger[metadataKey: "correlation_id"] = "\(header.correlationID)"
        guard let handler = routes.handlers[header.type] else {
            span?.setStatus(SpanStatus(code: .error, message: "no handler for \(header.type)"))
            return await park(
                message, reason: "\(queues.service) has no handler for \(header.type)", failures: previousFailures,
                logger: logger)
        }
        let context = HandlerContext(
            messageID: header.id, messageType: header.type, previousFailures: previousFailures, pool: pool,
            outbox: outbox, logger: logger, revisions: revisions, inbox: inbox)
        while true {
            let started = ContinuousClock.now
            do {
                try await handler(message.body, context)
                message.ack()
                count(header.type, outcome: "handled")
                Timer(
                    label: "attache_handler_duration_seconds",
                    dimensions: [("service", queues.service), ("type", header.type.description)]
                )
                .record(duration: ContinuousClock.now - started)
            } catch let failure as PermanentFailure {
                MessageTracing.failed(span, failure)
                await park(message, reason: failure.reason, failures: previousFailures + 1, logger: logger, type: header.type)
            } catch {
                if await isOutage(error) {
                    if await waitOutOutage(error, logger: logger) { continue }
                    // Shutting down mid-outage: the message goes back to the queue as it came.
                    return message.reject(requeue: true)
                }
                MessageTracing.failed(span, error)
                let failures = previousFailures + 1
                if failures >= maxAttempts {
                    await park(
                        message, reason: "failed \(failures) times; last error: \(error)", failures: failures,
                        logger: logger, type: header.type)
                } else {
                    await retry(message, failures: failures, error: error, logger: logger, type: header.type)
                }
            }
            return
        }
    }

    /// Whether `error` came from the database being out of reach rather than from the handler.
    private func isOutage(_ error: any Error) async -> Bool {
        if let error = error as? PostgresError, error.isConnectionLevel { return true }
        return await !pool.isReachable()
    }

    /// Waits until the database answers again; false if the service is stopping first.
    private func waitOutOutage(_ error: any Error, logger: Logger) async -> Bool {
        state.paused.store(true, ordering: .relaxed)
        defer { state.paused.store(false, ordering: .relaxed) }
        logger.warning(
            "the database is unreachable; pausing until it answers (no attempt counted)", metadata: ["error": "\(error)"])
        let started = ContinuousClock.now
        repeat {
            try? await Task.sleep(for: outageCheckInterval)
            if state.stopping.load(ordering: .relaxed) { return false }
        } while await !pool.isReachable()
        logger.notice(
            "the database answers again; resuming",
            metadata: ["paused_s": "\((ContinuousClock.now - started).components.seconds)"])
        Counter(label: "attache_consumer_pauses_total", dimensions: [("service", queues.service)]).increment()
        return true
    }

    private func retry(_ message: InboundMessage, failures: Int, error: any Error, logger: Logger, type: MessageType) async {
        let delayQueue = queues.retryQueue(forRetry: failures)
        logger.warning(
            "handler failed; retrying later",
            metadata: ["error": "\(error)", "attempt": "\(failures)", "of": "\(maxAttempts)", "via": "\(delayQueue)"])
        var headers = message.headers
        headers[DeliveryHeader.attempts] = .int(Int64(failures))
        headers[DeliveryHeader.error] = .string(Self.truncated("\(error)"))
        headers[DeliveryHeader.originalRoutingKey] = .string(originalRoutingKey(of: message))
        await forward(message, to: delayQueue, headers: headers, logger: logger)
        count(type, outcome: "retried")
    }

    private func park(
        _ message: InboundMessage, reason: String, failures: Int, logger: Logger? = nil, type: MessageType? = nil
    ) async {
        let logger = logger ?? self.logger
        logger.error(
            "message parked in the dead-letter queue",
            metadata: ["reason": "\(reason)", "queue": "\(queues.deadLetterQueue)", "attempts": "\(failures)"])
        var headers = message.headers
        headers[DeliveryHeader.attempts] = .int(Int64(failures))
        headers[DeliveryHeader.error] = .string(Self.truncated(reason))
        headers[DeliveryHeader.originalRoutingKey] = .string(originalRoutingKey(of: message))
        headers[DeliveryHeader.parkedAt] = .string(Date().formatted(.iso8601))
        headers[DeliveryHeader.parkedBy] = .string(queues.service)
        await forward(message, to: queues.deadLetterQueue, headers: headers, logger: logger)
        count(type, outcome: "parked")
    }

    /// Publishes a copy to `queue` through the default exchange, then acknowledges the
    /// original. If the copy cannot be confirmed, the original goes back to the queue instead.
    private func forward(_ message: InboundMessage, to queue: String, headers: [String: HeaderValue], logger: Logger) async {
        do {
            try await publisher.publish(
                OutgoingMessage(
                    exchange: "", routingKey: queue, body: message.body, messageID: message.messageID, type: message.type,
                    headers: headers, mandatory: true))
            message.ack()
        } catch {
            logger.error("cannot move message to \(queue); returning it to the queue", metadata: ["error": "\(error)"])
            // A short pause keeps a broker-side refusal from turning into a tight redelivery loop.
            try? await Task.sleep(for: .seconds(1))
            message.reject(requeue: true)
        }
    }

    private func originalRoutingKey(of message: InboundMessage) -> String {
        message.headers[DeliveryHeader.originalRoutingKey]?.description ?? message.routingKey
    }

    private func count(_ type: MessageType?, outcome: String) {
        Counter(
            label: "attache_messages_total",
            dimensions: [("service", queues.service), ("type", type?.description ?? "unreadable"), ("outcome", outcome)]
        ).increment()
    }

    private static func truncated(_ text: String) -> String {
        text.count > 2000 ? String(text.prefix(2000)) + "…" : text
    }
}

/// A service's handlers and its line in `Subscriptions` disagree: it would miss messages, or be
/// sent messages it cannot handle.
public struct SubscriptionMismatch: Error, CustomStringConvertible {
    public var service: String
    public var handled: [String]
    public var declared: [String]

    public var description: String {
        "\(service) handles \(handled.joined(separator: ", ")) but Subscriptions routes it "
            + "\(declared.joined(separator: ", ")): update Shared/Messages/Subscriptions.swift"
    }
}
