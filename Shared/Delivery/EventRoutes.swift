import Bus
import Foundation
import Logging
import Shared
import Store
import Synchronization

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
    /// The transaction of the messages handled together with this one, if it is so handled.
    let shared: SharedTransaction?

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
        logger: Logger, revisions: Revisions, inbox: Inbox, shared: SharedTransaction? = nil
    ) {
        self.messageID = messageID
        self.messageType = messageType
        self.previousFailures = previousFailures
        self.pool = pool
        self.outbox = outbox
        self.logger = logger
        self.revisions = revisions
        self.inbox = inbox
        self.shared = shared
    }

    /// Runs `body` in one transaction that first records this message in the inbox. Returns nil
    /// without running `body` when the message was already handled: its effects, and the events
    /// it appended to the outbox, happened once already.
    ///
    /// Handled together with other messages (`EventRoutes.Batching.sharedTransaction`), `body`
    /// runs in a savepoint of their shared transaction instead, and commits with them.
    public func once<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T? {
        let inbox = inbox
        let messageID = messageID
        let type = messageType.description
        let claimed: @Sendable (PostgresConnection) throws -> T? = { connection in
            guard try inbox.claim(messageID: messageID, type: type, on: connection) else { return nil }
            return try body(connection)
        }
        let result: T?
        if let shared {
            result = try await shared.inSavepoint(claimed)
        } else {
            result = try await pool.transaction(claimed)
            if result != nil { outbox.committed() }
        }
        if result == nil { logger.debug("duplicate message ignored") }
        return result
    }

    /// Runs `action` once this message's effects are committed: at once after `once`, or, for a
    /// message handled together with others, when their shared transaction commits. For what
    /// must not happen before the database shows the effects, such as waking a loop that reads them.
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if let shared { shared.afterCommit(action) } else { action() }
    }
}

/// One transaction for several messages handled together: each message's `once` is a savepoint
/// of it, so a message that fails is undone alone and the others stay.
final class SharedTransaction: Sendable {
    let session: PostgresSession
    private let actions = Mutex<[@Sendable () -> Void]>([])

    init(session: PostgresSession) { self.session = session }

    func inSavepoint<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await session.run { connection in
            try connection.execute("SAVEPOINT message")
            do {
                let result = try body(connection)
                try connection.execute("RELEASE SAVEPOINT message")
                return result
            } catch {
                _ = try? connection.execute("ROLLBACK TO SAVEPOINT message")
                _ = try? connection.execute("RELEASE SAVEPOINT message")
                throw error
            }
        }
    }

    func afterCommit(_ action: @escaping @Sendable () -> Void) { actions.withLock { $0.append(action) } }

    /// What the handlers asked to run after the commit.
    var committedActions: [@Sendable () -> Void] { actions.withLock { $0 } }
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
    private(set) var sharingTransactions: Set<MessageType> = []

    /// How messages of a type that arrived together may be handled.
    public enum Batching: Sendable {
        /// One transaction each: for handlers with effects outside the database (a call to a
        /// vendor, a live call's state), or that read the database other than through `once`.
        case none
        /// In one transaction with the other messages of such types that arrived together, each
        /// message's `once` in a savepoint of it; they are acknowledged together once it commits,
        /// and one that fails is undone alone and handled again by itself. For handlers whose
        /// every read and write is inside `context.once`, and whose other effects wait for
        /// `context.afterCommit`: an earlier message's writes are not committed while a later
        /// one's handler runs, so another connection would not see them (or wait for their locks).
        case sharedTransaction
    }

    public init() {}

    public mutating func on<P: EventPayload>(
        _ type: P.Type, batching: Batching = .none,
        _ handler: @escaping @Sendable (Envelope<P>, HandlerContext) async throws -> Void
    ) {
        if case .sharedTransaction = batching { sharingTransactions.insert(P.messageType) }
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
