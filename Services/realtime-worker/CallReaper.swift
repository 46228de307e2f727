import Foundation
import Logging
import ServiceLifecycle
import Store

/// Closes this replica's calls that another replica saw end (the end reached it, not us), and
/// every live call when the service stops, so that no call work outlives it.
struct CallReaper: Service {
    let calls: LiveCalls
    let pool: PostgresPool
    let logger: Logger
    var interval: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await closeEndedCalls()
            }
        }
        let live = await calls.liveMeetings
        await calls.closeAll()
        if !live.isEmpty { logger.info("closed live call pipelines at shutdown", metadata: ["count": "\(live.count)"]) }
    }

    func closeEndedCalls() async {
        let live = await calls.liveMeetings
        guard !live.isEmpty else { return }
        do {
            let ended = try await pool.withConnection { db in
                try db.query(
                    "SELECT meeting_id FROM realtime.sessions WHERE meeting_id = ANY($1::uuid[]) AND ended_at IS NOT NULL",
                    ["{" + live.map { $0.uuidString.lowercased() }.joined(separator: ",") + "}"]
                ).map { try $0.uuid("meeting_id") }
            }
            for meetingID in ended {
                try await calls.closeEnded(meetingID: meetingID, recordingIn: pool)
                logger.info("call pipeline closed", metadata: ["meeting_id": "\(meetingID)"])
            }
        } catch {
            logger.warning("could not check for ended calls", metadata: ["error": "\(error)"])
        }
    }
}
