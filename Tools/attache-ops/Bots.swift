import Foundation
import Store

/// `attache-ops bots list|show`: meeting bots as bot-gateway keeps them, and their problems.
struct Bots {
    let pool: PostgresPool

    func list(limit: Int) async throws {
        let rows = try await pool.withConnection { db in
            try db.query(
                """
                SELECT b.bot_id, b.meeting_id, b.provider, b.status, b.sub_code, b.status_at, b.join_at,
                    (SELECT string_agg(p.problem, ', ' ORDER BY p.detected_at) FROM gateway.bot_problems p
                     WHERE p.bot_id = b.bot_id) AS problems
                FROM gateway.bots b ORDER BY b.updated_at DESC LIMIT $1
                """, [limit])
        }
        if rows.isEmpty { print("no bots") }
        for row in rows {
            let subCode = try row.optionalString("sub_code").map { " (\($0))" } ?? ""
            let since = try row.optionalDate("status_at").map { " since \($0.formatted(.iso8601))" } ?? ""
            print(
                "\(try row.string("bot_id"))  meeting \(try row.string("meeting_id"))  \(try row.string("provider"))  "
                    + "\(try row.string("status"))\(subCode)\(since)")
            if let problems = try row.optionalString("problems") { print("    problems: \(problems)") }
        }
    }

    /// `id` is the bot's or its meeting's.
    func show(_ id: String) async throws -> Bool {
        try await pool.withConnection { db in
            guard
                let bot = try db.queryOne(
                    "SELECT * FROM gateway.bots WHERE bot_id = $1 OR meeting_id::text = lower($1) ORDER BY created_at DESC LIMIT 1",
                    [id])
            else { return false }
            let botID = try bot.string("bot_id")
            print("bot \(botID) (\(try bot.string("provider"))) for meeting \(try bot.string("meeting_id"))")
            print("  joins    \(try bot.optionalDate("join_at")?.formatted(.iso8601) ?? "(not known)")")
            print("  status   \(try bot.string("status"))\(try bot.optionalString("sub_code").map { " (\($0))" } ?? "")")
            print("\nhistory (by the provider's time; * is the bot's status at the time)")
            for change in try db.query(
                "SELECT event, status, sub_code, changed_at, applied FROM gateway.bot_status_history WHERE bot_id = $1 ORDER BY changed_at, id",
                [botID])
            {
                let mark = try change.bool("applied") ? "*" : " "
                print(
                    "  \(mark) \(try change.date("changed_at").formatted(.iso8601))  \(try change.string("status"))"
                        + (try change.optionalString("sub_code").map { " (\($0))" } ?? ""))
            }
            for problem in try db.query(
                "SELECT problem, explanation, detected_at FROM gateway.bot_problems WHERE bot_id = $1 ORDER BY detected_at",
                [botID])
            {
                print(
                    "problem   \(try problem.string("problem")) at \(try problem.date("detected_at").formatted(.iso8601)): "
                        + (try problem.string("explanation")))
            }
            return true
        }
    }
}
