import Foundation
import Logging
import ServiceLifecycle
import Store

/// Once a day, deletes materials older than the retention (30 days by default) with their files.
struct MaterialsSweep: Service {
    let pool: PostgresPool
    let store: any MaterialsStore
    var retentionDays = 30
    var interval: Duration = .seconds(24 * 3600)
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let deleted = try await sweep()
                if deleted > 0 { logger.info("old materials deleted", metadata: ["count": "\(deleted)"]) }
            } catch {
                logger.warning("deleting old materials failed; will try again", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Deletes each old generation's files from the store, then its row (and embedded files).
    @discardableResult
    func sweep() async throws -> Int {
        let days = retentionDays
        let old = try await pool.withConnection { db in
            try db.query(
                """
                SELECT m.id, w.tenant_id, w.meeting_id FROM prep.materials m JOIN prep.workflows w ON w.id = m.workflow_id
                WHERE m.created_at < now() - make_interval(days => $1)
                """, [days]
            ).map { MaterialsKey(id: try $0.uuid("id"), tenant: try $0.string("tenant_id"), meeting: try $0.uuid("meeting_id")) }
        }
        for key in old {
            try await store.remove(MaterialsRendering.fileNames, key: key)
            _ = try await pool.withConnection { db in try db.execute("DELETE FROM prep.materials WHERE id = $1", [key.id]) }
        }
        return old.count
    }
}
