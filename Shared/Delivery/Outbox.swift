import Foundation
import Shared
import Store
import Telemetry

/// Events written in the same transaction as the state change they describe, then published
/// by `OutboxRelay`: an event goes out if and only if its transaction commits.
public final class Outbox: Sendable {
    public let schema: String
    /// Wakes the relay when rows may be waiting.
    let signal = WakeSignal()

    public init(schema: String) throws {
        self.schema = try validatedIdentifier(schema)
    }

    /// Records `envelope` for publication when the surrounding transaction commits.
    public func append<P: EventPayload>(_ envelope: Envelope<P>, on connection: PostgresConnection) throws {
        let envelope = Self.traced(envelope)
        try connection.execute(
            "INSERT INTO \(schema).outbox (message_id, message_type, routing_key, body) VALUES ($1, $2, $3, $4)",
            [
                envelope.id, envelope.type.description, envelope.type.routingKey,
                String(decoding: try MessageCoding.encode(envelope), as: UTF8.self),
            ])
    }

    /// Records `envelope` among writes that commit together (see `BatchedWrites`).
    public func append<P: EventPayload>(_ envelope: Envelope<P>, to writes: inout BatchedWrites) throws {
        let envelope = Self.traced(envelope)
        writes.add(
            """
            INSERT INTO \(schema).outbox (message_id, message_type, routing_key, body)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
            """,
            [
                envelope.id, envelope.type.description, envelope.type.routingKey,
                String(decoding: try MessageCoding.encode(envelope), as: UTF8.self),
            ])
    }

    /// Runs `body` in a transaction, then wakes the relay so that what it appended goes out now
    /// rather than at the next poll.
    public func transaction<T: Sendable>(
        _ pool: PostgresPool, priority: PostgresPool.Priority = .normal,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let result = try await pool.transaction(priority: priority, body)
        committed()
        return result
    }

    /// When tracing, the envelope as it goes out: its `traceparent` names the `create` span
    /// recorded for it, the message's creation context that its consumers link to.
    static func traced<P: EventPayload>(_ envelope: Envelope<P>) -> Envelope<P> {
        guard Telemetry.isTracing,
            let creation = MessageTracing.created(
                messageID: envelope.id.uuidString.lowercased(), routingKey: envelope.type.routingKey,
                traceparent: envelope.traceparent, correlationID: envelope.correlationID.uuidString.lowercased())
        else { return envelope }
        var traced = envelope
        traced.traceparent = creation
        return traced
    }

    /// Tells the relay that new rows may be waiting.
    public func committed() { signal.wake() }
}
