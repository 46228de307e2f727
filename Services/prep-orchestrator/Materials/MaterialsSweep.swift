import Foundation
import Logging
import ServiceLifecycle
import Store

/// Once a day, deletes materials older than the retention (30 days by default) with their files.
struct MaterialsSweep: Service {
    let pool: PostgresPool
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

    @discardableResult
    func sweep() async throws -> Int {
        let days = retentionDays
        return try await pool.withConnection { db in
            try db.execute("DELETE FROM prep.materials WHERE created_at < now() - make_interval(days => $1)", [days])
        }
    }
}
