import Dispatch
import Logging
import Synchronization
import Telemetry

/// A fixed set of connections, each confined to its own serial dispatch queue so that blocking
/// libpq calls never run on Swift's cooperative thread pool. Work is a synchronous closure that
/// runs on the connection's queue: a transaction is one closure, which keeps every statement of
/// it on one connection without any async hops in between.
public final class PostgresPool: Sendable {
    private let slots: [Slot]
    private let availability: Mutex<Availability>
    public let url: String

    private struct Availability {
        var free: [Int]
        var waiters: [CheckedContinuation<Int, Never>] = []
        var urgentWaiters: [CheckedContinuation<Int, Never>] = []
    }

    /// Who is served first when every connection is busy.
    public enum Priority: Sendable {
        case normal
        /// Work that finishes what is under way (committing, claiming the next piece): served
        /// before `normal` waiters, so that a flood of new work cannot starve it.
        case urgent
    }

    /// A connection and the queue it is confined to.
    fileprivate final class Slot: @unchecked Sendable {
        // Safe: `connection` and `checkedLosses` are only read or written by blocks running on
        // `queue`, which is serial.
        let queue: DispatchQueue
        let connection: PostgresConnection
        let health: Health
        /// `health.losses` when this connection was last known to work.
        var checkedLosses = 0

        init(index: Int, url: String, health: Health) {
            queue = DispatchQueue(label: "postgres-\(index)")
            connection = PostgresConnection(url: url)
            self.health = health
        }

        func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
            // When tracing, the caller's span goes along to the connection's thread, so that its
            // statements' spans, and events created there, hang under it.
            let carried = CarriedContext.current
            return try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Result { try CarriedContext.restoring(carried) { try self.runHere(body) } })
                }
            }
        }

        /// A connection is checked before it is lent when it has sat idle long, or when any
        /// connection of the pool lost its server since it was last checked: a restart drops
        /// them all, and the others would otherwise fail their next caller one by one.
        private func runHere<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
            let losses = health.losses.load(ordering: .relaxed)
            if losses != checkedLosses || ContinuousClock.now - connection.lastUsed > health.idleCheck {
                connection.verify()
                checkedLosses = losses
            }
            do {
                return try body(connection)
            } catch let error as PostgresError {
                if error.isConnectionLevel { health.losses.add(1, ordering: .relaxed) }
                throw error
            }
        }
    }

    /// What the pool's connections share about the server's health.
    fileprivate final class Health: Sendable {
        /// Connection-level failures seen by any connection of the pool.
        let losses = Atomic(0)
        let idleCheck: Duration

        init(idleCheck: Duration) { self.idleCheck = idleCheck }
    }

    /// How many connections the pool holds.
    public var size: Int { slots.count }

    /// Callers waiting for a connection, and whether none is free: for tests and diagnostics.
    public var waiting: Int { availability.withLock { $0.waiters.count + $0.urgentWaiters.count } }
    public var isExhausted: Bool { availability.withLock { $0.free.isEmpty } }

    /// `idleCheck`: a connection unused for longer is checked (one round trip) before it is lent.
    public init(url: String, size: Int = 4, idleCheck: Duration = .seconds(30)) {
        self.url = url
        let health = Health(idleCheck: idleCheck)
        slots = (0..<max(1, size)).map { Slot(index: $0, url: url, health: health) }
        availability = Mutex(Availability(free: Array(slots.indices)))
    }

    /// Runs `body` with a connection of the pool, on that connection's thread.
    public func withConnection<T: Sendable>(
        priority: Priority = .normal, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let index = await acquire(priority)
        defer { release(index) }
        return try await slots[index].run(body)
    }

    /// Holds one connection for the whole of `body`, across suspension points: for work that
    /// must keep a transaction (and its row locks) open while it awaits something else, such as
    /// the outbox relay holding claimed rows until the broker confirms them.
    public func withSession<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        let index = await acquire(.normal)
        defer { release(index) }
        return try await body(PostgresSession(slot: slots[index]))
    }

    /// Runs `body` inside BEGIN … COMMIT; any thrown error rolls the transaction back.
    public func transaction<T: Sendable>(
        priority: Priority = .normal, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection(priority: priority) { connection in
            try connection.execute("BEGIN")
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Whether the server answers now: for readiness checks.
    public func isReachable() async -> Bool {
        (try? await withConnection { try $0.execute("SELECT 1") }) != nil
    }

    private func acquire(_ priority: Priority) async -> Int {
        if let index = availability.withLock({ $0.free.popLast() }) { return index }
        return await withCheckedContinuation { continuation in
            let index: Int? = availability.withLock { state in
                if let index = state.free.popLast() { return index }
                switch priority {
                case .normal: state.waiters.append(continuation)
                case .urgent: state.urgentWaiters.append(continuation)
                }
                return nil
            }
            if let index { continuation.resume(returning: index) }
        }
    }

    private func release(_ index: Int) {
        let waiter: CheckedContinuation<Int, Never>? = availability.withLock { state in
            if !state.urgentWaiters.isEmpty { return state.urgentWaiters.removeFirst() }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.free.append(index)
            return nil
        }
        waiter?.resume(returning: index)
    }
}

/// One pooled connection lent for the duration of `PostgresPool.withSession`.
public struct PostgresSession: Sendable {
    fileprivate let slot: PostgresPool.Slot

    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await slot.run(body)
    }
}
