import Bus
import Foundation
import Logging
import Shared
import Store

/// What a handler gets besides its envelope: the way to make its effects happen exactly once.
public struct HandlerContext: Sendable {
    public let messageID: UUID
    public let messageType: MessageType
    /// How many times handling this message failed before (0 on the first delivery).
    public let previousFailures: Int
    public let pool: PostgresPool
    public let outbox: Outbox
    public let logger: Logger
    public let revisions: Revisions
    let inbox: Inbox

    /// For running a handler outside a consumer (tests, tools); consumers build their own.
    public init(
        messageID: UUID, messageType: MessageType, previousFailures: Int = 0, pool: PostgresPool, outbox: Outbox,
        logger: Logger
    ) throws {
        self.init(
            messageID: messageID, messageType: messageType, previousFailures: previousFailures, pool: pool,
            outbox: outbox, logger: logger, revisions: try Revisions(schema: outbox.schema),
            inbox: try Inbox(schema: outbox.schema))
    }

    init(
        messageID: UUID, messageType: MessageType, previousFailures: Int, pool: PostgresPool, outbox: Outbox,
        logger: Logger, revisions: Revisions, inbox: Inbox
    ) {
        self.messageID = messageID
        self.messageType = messageType
        self.previousFailures = previousFailures
        self.pool = pool
        self.outbox = outbox
        self.logger = logger
        self.revisions = revisions
        self.inbox = inbox
    }

    /// Runs `body` in one transaction that first records this message in the inbox. Returns nil
    /// without running `body` when the message was already handled: its effects, and the events
    /// it appended to the outbox, happened once already.
    public func once<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T? {
        let inbox = inbox
        let messageID = messageID
        let type = messageType.description
        let result: T? = try await pool.transaction { connection in
            guard try inbox.claim(messageID: messageID, type: type, on: connection) else { return nil }
            return try body(connection)
        }
        if result == nil {
            logger.debug("duplicate message ignored")
        } else {
            outbox.committed()
        }
        return result
    }
}

/// What a batch handler gets besides its envelopes: the way to make the batch's effects happen
/// exactly once, in one transaction.
public struct BatchContext: Sendable {
    public let messageType: MessageType
    public let messageIDs: [UUID]
    public let pool: PostgresPool
    public let outbox: Outbox
    public let logger: Logger
    public let revisions: Revisions
    let inbox: Inbox

    /// For running a batch handler outside a consumer (tests, tools); consumers build their own.
    public init(messageType: MessageType, messageIDs: [UUID], pool: PostgresPool, outbox: Outbox, logger: Logger) throws {
        self.init(
            messageType: messageType, messageIDs: messageIDs, pool: pool, outbox: outbox, logger: logger,
            revisions: try Revisions(schema: outbox.schema), inbox: try Inbox(schema: outbox.schema))
    }

    init(
        messageType: MessageType, messageIDs: [UUID], pool: PostgresPool, outbox: Outbox, logger: Logger,
        revisions: Revisions, inbox: Inbox
    ) {
        self.messageType = messageType
        self.messageIDs = messageIDs
        self.pool = pool
        self.outbox = outbox
        self.logger = logger
        self.revisions = revisions
        self.inbox = inbox
    }

    /// Runs `body` in one transaction that first records every message of the batch in the inbox,
    /// with the ids of those not handled before; returns nil without running `body` when none is new.
    public func once<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection, Set<UUID>) throws -> T) async throws -> T? {
        let (inbox, messageIDs, type) = (inbox, messageIDs, messageType.description)
        let result: T? = try await pool.transaction { connection in
            let fresh = try inbox.claim(messageIDs: messageIDs, type: type, on: connection)
            return fresh.isEmpty ? nil : try body(connection, fresh)
        }
        if result != nil { outbox.committed() }
        return result
    }
}

/// A failure that retrying cannot fix (a payload that breaks a business rule, a reference to
/// something that will never exist): the message is parked at once.
public struct PermanentFailure: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Which handler runs for which message type.
public struct EventRoutes: Sendable {
    typealias ErasedHandler = @Sendable ([UInt8], HandlerContext) async throws -> Void
    typealias ErasedBatchHandler = @Sendable ([[UInt8]], BatchContext) async throws -> Void
    private(set) var handlers: [MessageType: ErasedHandler] = [:]
    private(set) var batchHandlers: [MessageType: ErasedBatchHandler] = [:]

    public init() {}

    public mutating func on<P: EventPayload>(
        _ type: P.Type, _ handler: @escaping @Sendable (Envelope<P>, HandlerContext) async throws -> Void
    ) {
        handlers[P.messageType] = { body, context in
            let envelope: Envelope<P>
            do {
                envelope = try MessageCoding.decode(Envelope<P>.self, from: body)
            } catch {
                throw PermanentFailure("malformed \(P.messageType) payload: \(DecodingProblem(error))")
            }
            try await handler(envelope, context)
        }
    }

    /// As `on(_:_:)`, with a second handler for several messages of the type that have arrived
    /// together: it must have the same effects as `handler` applied to each in order, in one
    /// transaction (`BatchContext.once`). If it throws, the messages are handled one by one, so
    /// one bad message costs only itself.
    public mutating func on<P: EventPayload>(
        _ type: P.Type, _ handler: @escaping @Sendable (Envelope<P>, HandlerContext) async throws -> Void,
        batched: @escaping @Sendable ([Envelope<P>], BatchContext) async throws -> Void
    ) {
        on(type, handler)
        batchHandlers[P.messageType] = { bodies, context in
            try await batched(try bodies.map { try MessageCoding.decode(Envelope<P>.self, from: $0) }, context)
        }
    }

    /// Routing keys to bind the work queue with: one per message name.
    public var routingKeys: [String] { Set(handlers.keys.map(\.routingKey)).sorted() }
}

/// A decoding error as one readable line (the default description is a nested dump).
public struct DecodingProblem: CustomStringConvertible {
    let error: any Error
    public init(_ error: any Error) { self.error = error }

    public var description: String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \((path(context).isEmpty ? "" : path(context) + ".") + key.stringValue)"
        case .typeMismatch(let type, let context):
            return "field \(path(context)) is not \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "field \(path(context)) is null, expected \(type)"
        case .dataCorrupted(let context):
            return path(context).isEmpty ? context.debugDescription : "field \(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
