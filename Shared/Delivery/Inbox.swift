import Foundation
import Store

/// Remembers which messages a service has already handled. Claiming a message id in the same
/// transaction as the handler's effects makes a redelivered or duplicated message a no-op.
public struct Inbox: Sendable {
    public let schema: String

    public init(schema: String) throws {
        self.schema = try validatedIdentifier(schema)
    }

    /// Returns false when the message was already handled.
    public func claim(messageID: UUID, type: String, on connection: PostgresConnection) throws -> Bool {
        try connection.execute(
            "INSERT INTO \(schema).inbox (message_id, message_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [messageID, type]) == 1
    }

    /// Claims many at once; returns the ids not handled before.
    public func claim(messageIDs: [UUID], type: String, on connection: PostgresConnection) throws -> Set<UUID> {
        Set(
            try connection.query(
                """
                INSERT INTO \(schema).inbox (message_id, message_type) SELECT u.id, $2 FROM unnest($1::uuid[]) AS u(id)
                ON CONFLICT DO NOTHING RETURNING message_id
                """, [PostgresArray(messageIDs), type]
            ).map { try $0.uuid("message_id") })
    }
}
