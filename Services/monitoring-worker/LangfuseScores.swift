import Foundation
import HTTPClient
import Logging
import Store

/// Sends every verdict to Langfuse as scores on the call's session (`POST /api/public/scores`,
/// HTTP Basic auth with the project's public and secret keys): `attache_call_status`
/// (categorical: pass, fail, partial, skipped, error) and `attache_intent_confidence` (numeric,
/// the strongest intent's). Each score's id is derived from the session, so a score sent again
/// after a lost answer replaces itself instead of counting twice. Optional: teams that already
/// watch their agents in Langfuse see ours there.
struct LangfuseScores: Sendable {
    struct Configuration: Sendable {
        var baseURL: String
        var publicKey: String
        var secretKey: String
    }

    struct Refused: Error, CustomStringConvertible {
        var status: Int
        var message: String
        var description: String { "Langfuse answered \(status): \(message)" }
    }

    let configuration: Configuration
    let pool: PostgresPool
    let http: HTTPClient
    let logger: Logger
    /// Sessions exported per cycle, oldest verdict first.
    var batch = 50

    /// Exports the verdicts not exported yet; returns how many sessions were. A session Langfuse
    /// refuses or cannot be reached for stays to be tried next cycle.
    @discardableResult
    func exportPending() async throws -> Int {
        let rows = try await pool.withConnection { [batch] db in
            try db.query(
                """
                SELECT session_id, status, confidence, summary FROM monitoring.results
                WHERE exported_at IS NULL AND analysed_at IS NOT NULL AND status IN ('pass', 'fail', 'partial', 'skipped', 'error')
                ORDER BY analysed_at LIMIT $1
                """, [batch])
        }
        var exported = 0
        for row in rows {
            let session = try row.uuid("session_id")
            do {
                try await send(
                    id: "\(session.uuidString.lowercased())-status", session: session, name: "attache_call_status",
                    value: .string(try row.string("status")), dataType: "CATEGORICAL", comment: try row.optionalString("summary"))
                if let confidence = try row.optionalString("confidence").flatMap(Double.init) {
                    try await send(
                        id: "\(session.uuidString.lowercased())-confidence", session: session, name: "attache_intent_confidence",
                        value: .number(confidence), dataType: "NUMERIC", comment: nil)
                }
            } catch {
                logger.warning(
                    "exporting a verdict to Langfuse failed; the next cycle tries again",
                    metadata: ["session_id": "\(session)", "error": "\(error)"])
                continue
            }
            _ = try await pool.withConnection { db in
                try db.execute("UPDATE monitoring.results SET exported_at = now() WHERE session_id = $1", [session])
            }
            exported += 1
        }
        return exported
    }

    private enum Value: Encodable {
        case string(String)
        case number(Double)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            }
        }
    }

    private struct Score: Encodable {
        var id: String
        var sessionId: String
        var name: String
        var value: Value
        var dataType: String
        var comment: String?
    }

    private func send(id: String, session: UUID, name: String, value: Value, dataType: String, comment: String?)
        async throws
    {
        let body = try JSONEncoder().encode(
            Score(
                id: id, sessionId: session.uuidString.lowercased(), name: name, value: value, dataType: dataType,
                comment: comment))
        let credentials = Data("\(configuration.publicKey):\(configuration.secretKey)".utf8).base64EncodedString()
        let base = configuration.baseURL.hasSuffix("/") ? String(configuration.baseURL.dropLast()) : configuration.baseURL
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: base + "/api/public/scores",
                headers: [("Content-Type", "application/json"), ("Authorization", "Basic \(credentials)")],
                body: Array(body)))
        guard (200..<300).contains(response.status) else {
            throw Refused(status: response.status, message: String(response.text.prefix(200)))
        }
    }
}
