import Foundation
import Store

/// `prep.deliveries`: where each message is on its way through the channel chain, written
/// (and committed) before a channel that sends something outside is tried. A step run again
/// after a crash reads where the chain was instead of starting over; a channel that reports a
/// failure later (an SMS undelivered) bounces the entry, and `continue_delivery` goes on from
/// the next channel. Every change is a compare-and-set on the state, so a late report and a
/// resumed step cannot both move the same message on.
struct DeliveryLedger: Sendable {
    enum State: String, Sendable {
        case pending, sending, deferred, sent, delivered, unknown, bounced
    }

    struct Entry: Sendable {
        var id: UUID
        var message: OwnerMessage
        var chain: [String]
        var position: Int
        var state: State
        var failures: [String]
    }

    struct MovedMeanwhile: Error, CustomStringConvertible {
        var entry: UUID
        var description: String { "delivery \(entry) was moved on by a channel's report meanwhile; trying again" }
    }

    let pool: PostgresPool
    let workflow: UUID
    /// The step that is moving these messages on (the one that sent them, or continue_delivery).
    let step: Int

    private static let columns = "id, message, to_jsonb(chain) AS chain, position, state, to_jsonb(failures) AS failures"

    /// The step's unsettled entry for a message of this kind (a run before a crash started it),
    /// or a new one.
    func open(_ message: OwnerMessage, chain: [String]) async throws -> Entry {
        try await pool.withConnection(priority: .urgent) { db in
            if let row = try db.queryOne(
                "SELECT \(Self.columns) FROM prep.deliveries WHERE step_id = $1 AND NOT settled AND kind = $2",
                [step, message.kind.rawValue])
            {
                return try Self.entry(row)
            }
            let entry = Entry(id: UUID(), message: message, chain: chain, position: 0, state: .pending, failures: [])
            try db.execute(
                """
                INSERT INTO prep.deliveries (id, workflow_id, step_id, kind, message, chain)
                VALUES ($1, $2, $3, $4, $5, $6::text[])
                """,
                [entry.id, workflow, step, message.kind.rawValue, try JSONBValue(message), PostgresArray(chain)])
            return entry
        }
    }

    /// Moves this workflow's bounced entries that are settled to this step, each at the channel
    /// after the one that bounced it, and returns every entry this step has open. `waiting` is
    /// true when a bounced entry's own step has not committed yet: look again later.
    func reopenBounced() async throws -> (entries: [Entry], waiting: Bool) {
        try await pool.withConnection(priority: .urgent) { db in
            try db.execute(
                """
                UPDATE prep.deliveries SET step_id = $2, settled = false, state = 'pending', position = position + 1,
                    updated_at = now()
                WHERE workflow_id = $1 AND state = 'bounced' AND settled
                """, [workflow, step])
            let entries = try db.query(
                "SELECT \(Self.columns) FROM prep.deliveries WHERE step_id = $1 AND NOT settled ORDER BY created_at", [step]
            ).map(Self.entry)
            let waiting = try db.queryOne(
                "SELECT 1 FROM prep.deliveries WHERE workflow_id = $1 AND state = 'bounced' AND NOT settled", [workflow])
            return (entries, waiting != nil)
        }
    }

    /// Sets the entry's place and state if it is still in state `from` (any of them); false when
    /// something else moved it meanwhile (a report bounced it).
    func move(
        _ entry: Entry, from: [State], to state: State, at position: Int, failures: [String], reference: String? = nil
    ) async throws -> Bool {
        try await pool.withConnection(priority: .urgent) { db in
            try db.execute(
                """
                UPDATE prep.deliveries SET state = $3, position = $4, failures = $5::text[],
                    reference = coalesce($6, reference), updated_at = now()
                WHERE id = $1 AND step_id = $7 AND state = ANY($2::text[])
                """,
                [
                    entry.id, PostgresArray(from.map(\.rawValue)), state.rawValue, position, PostgresArray(failures),
                    reference, step,
                ]) == 1
        }
    }

    /// The step's completion: its entries are settled (the notification rows are written beside).
    static func settle(_ entry: UUID, step: Int, into effects: inout StepEffects) {
        effects.write(
            """
            UPDATE prep.deliveries d SET settled = true, updated_at = now()
            FROM unnest($1::uuid[], $2::bigint[]) AS u(id, step_id) WHERE d.id = u.id AND d.step_id = u.step_id
            """, [entry, step])
    }

    private static func entry(_ row: Row) throws -> Entry {
        Entry(
            id: try row.uuid("id"), message: try row.decode(OwnerMessage.self, column: "message"),
            chain: try row.decode([String].self, column: "chain"), position: try row.int("position"),
            state: State(rawValue: try row.string("state")) ?? .pending,
            failures: try row.decode([String].self, column: "failures"))
    }
}
