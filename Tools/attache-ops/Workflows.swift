import Foundation
import OpsConsole
import Store

/// `attache-ops workflows list|show`: prep-orchestrator's workflows, read from its schema.
struct Workflows {
    let pool: PostgresPool

    func list(state: String?, limit: Int) async throws {
        let workflows = try await OpsQueries(pool: pool).workflows(state: state, limit: limit)
        if workflows.isEmpty { print(state.map { "no workflows in state \($0)" } ?? "no workflows") }
        for workflow in workflows {
            print(
                "\(workflow.id.uuidString.lowercased())  \(workflow.state)  \(workflow.meetingType)  "
                    + "“\(workflow.title)” at \(workflow.start)  "
                    + "steps \(workflow.finishedSteps)/\(workflow.steps)  v\(workflow.definitionVersion)")
        }
    }

    /// `id` is the workflow's or its meeting's.
    func show(_ id: UUID) async throws -> Bool {
        try await pool.withConnection { db in
            guard
                let workflow = try db.queryOne(
                    """
                    SELECT id, meeting_id, meeting->>'title' AS title, meeting_type, state, meeting->>'start' AS start,
                        definition_version, created_at, finished_at
                    FROM prep.workflows WHERE id = $1 OR meeting_id = $1
                    """, [id])
            else { return false }
            let workflowID = try workflow.uuid("id")
            print("workflow \(workflowID) (definition v\(try workflow.int("definition_version")))")
            print(
                "  meeting   “\(try workflow.string("title"))” \(try workflow.string("meeting_id")) at \(try workflow.string("start"))"
            )
            print("  type      \(try workflow.string("meeting_type"))")
            print(
                "  state     \(try workflow.string("state"))\(try workflow.optionalDate("finished_at").map { ", finished \($0.formatted(.iso8601))" } ?? "")"
            )
            print("\nsteps")
            for step in try db.query(
                """
                SELECT step, state, outcome, attempts, due_at, last_error, output->>'not_reached_by' AS not_reached_by,
                    round(extract(epoch FROM finished_at - started_at) * 1000) AS took_ms
                FROM prep.steps WHERE workflow_id = $1 ORDER BY coalesce(started_at, due_at), id
                """, [workflowID])
            {
                let took = try step.optionalString("took_ms").map { " in \($0) ms" } ?? ""
                print(
                    "  \(try step.string("step").padding(toLength: 24, withPad: " ", startingAt: 0)) "
                        + "\(try step.optionalString("outcome") ?? "\(try step.string("state")), due \(try step.date("due_at").formatted(.iso8601))")"
                        + "  attempts \(try step.int("attempts"))\(took)")
                if let error = try step.optionalString("last_error") { print("      last error: \(error)") }
                if let channels = try step.optionalString("not_reached_by") { print("      not reached by \(channels)") }
            }
            let context = try db.query(
                "SELECT kind, status, jsonb_array_length(items) AS items, reason, attempts, duration_ms FROM prep.context WHERE workflow_id = $1 ORDER BY kind",
                [workflowID])
            if !context.isEmpty { print("\ncontext") }
            for branch in context {
                let result =
                    try branch.string("status") == "available"
                    ? "\(try branch.int("items")) item(s)" : "unavailable: \(try branch.optionalString("reason") ?? "")"
                print(
                    "  \(try branch.string("kind")): \(result)  (\(try branch.int("attempts")) attempt(s), \(try branch.int("duration_ms")) ms)"
                )
            }
            let answers = try db.queryOne(
                "SELECT count(*) FILTER (WHERE NOT skipped) AS answered, count(*) FILTER (WHERE skipped) AS skipped FROM prep.answers WHERE workflow_id = $1",
                [workflowID])
            if let answers { print("\nanswers   \(try answers.int("answered")) answered, \(try answers.int("skipped")) skipped") }
            for materials in try db.query(
                "SELECT id, generation, generator, stored_in, created_at FROM prep.materials WHERE workflow_id = $1 ORDER BY generation",
                [workflowID])
            {
                print(
                    "materials \(try materials.int("generation")): \(try materials.string("id")) by \(try materials.string("generator")), "
                        + "stored in \(try materials.optionalString("stored_in") ?? "(not yet)")")
            }
            for note in try db.query(
                "SELECT kind, channel, created_at FROM prep.notifications WHERE workflow_id = $1 ORDER BY created_at",
                [workflowID])
            {
                print(
                    "message   \(try note.string("kind")) via \(try note.string("channel")) at \(try note.date("created_at").formatted(.iso8601))"
                )
            }
            // The way each message went through the owner's channels, where one outside was tried.
            let deliveries = try db.query(
                """
                SELECT kind, array_to_string(chain, ' → ') AS chain, chain[position + 1] AS channel, state,
                    array_to_string(failures, '; ') AS failures, updated_at
                FROM prep.deliveries WHERE workflow_id = $1 ORDER BY created_at
                """, [workflowID])
            if !deliveries.isEmpty { print("\ndeliveries") }
            for delivery in deliveries {
                print(
                    "  \(try delivery.string("kind").padding(toLength: 12, withPad: " ", startingAt: 0)) "
                        + "\(try delivery.string("state")) via \(try delivery.string("channel"))  "
                        + "(\(try delivery.string("chain")), at \(try delivery.date("updated_at").formatted(.iso8601)))")
                let failures = try delivery.string("failures")
                if !failures.isEmpty { print("      not reached by \(failures)") }
            }
            return true
        }
    }
}
