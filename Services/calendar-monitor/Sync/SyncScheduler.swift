import Delivery
import Foundation
import Logging
import Metrics
import Resilience
import ServiceLifecycle
import Synchronization

/// Syncs every active connection on its own schedule: each poll interval (with jitter, so that
/// connections added together do not stay in lockstep), or sooner when a push notification or
/// an operator asks. At most `concurrency` syncs run at once, across all replicas' claims; a
/// failing connection backs off on its own without delaying the others; one whose
/// authorisation was withdrawn stops, and its owner is told.
package struct SyncScheduler: Service {
    package struct Settings: Sendable {
        var interval: Duration
        var concurrency: Int
        var windowBehind: Duration
        var windowAhead: Duration
        /// How long a claimed connection is reserved for the replica that claimed it.
        var lease: Duration = .seconds(300)
        /// How often recording a sync's outcome is tried again while the database does not answer.
        var recordRetry: Duration = .seconds(1)
        /// The clock the sync window is placed by; tests fix it.
        var now: @Sendable () -> Date = { Date() }
    }

    let store: ConnectionStore
    let meetings: MeetingSync
    let providers: [ProviderKind: any CalendarProvider]
    let settings: Settings
    /// Woken when a connection becomes due early, and whenever a sync finishes (a slot is free).
    let wakeup: WakeSignal
    let logger: Logger

    package init(
        store: ConnectionStore, meetings: MeetingSync, providers: [ProviderKind: any CalendarProvider], settings: Settings,
        wakeup: WakeSignal, logger: Logger
    ) {
        self.store = store
        self.meetings = meetings
        self.providers = providers
        self.settings = settings
        self.wakeup = wakeup
        self.logger = logger
    }

    private final class RunningCount: Sendable {
        let value = Atomic<Int>(0)
    }

    package func run() async throws {
        let running = RunningCount()
        await withDiscardingTaskGroup { group in
            await wakeup.run(every: .seconds(1)) {
                let free = settings.concurrency - running.value.load(ordering: .relaxed)
                guard free > 0 else { return }
                let claimed: [ClaimedConnection]
                do {
                    claimed = try await store.claimDue(limit: free, lease: settings.lease)
                } catch {
                    logger.error("cannot claim calendar connections", metadata: ["error": "\(error)"])
                    return
                }
                for connection in claimed {
                    running.value.add(1, ordering: .relaxed)
                    group.addTask {
                        await sync(connection)
                        running.value.subtract(1, ordering: .relaxed)
                        wakeup.wake()
                    }
                }
            }
        }
    }

    func sync(_ claimed: ClaimedConnection) async {
        let started = ContinuousClock.now
        let now = settings.now()
        let window = DateInterval(
            start: now.addingTimeInterval(-settings.windowBehind.secondsValue),
            end: now.addingTimeInterval(settings.windowAhead.secondsValue))
        var logger = logger
        logger[metadataKey: "connection"] = "\(claimed.id)"
        do {
            let connection = try claimed.connection.get()
            logger[metadataKey: "provider"] = "\(connection.kind.rawValue)"
            guard let provider = providers[connection.kind] else {
                throw CalendarSyncError.failed("no \(connection.kind.rawValue) provider is configured in this service")
            }
            let batch = try await provider.sync(connection, window: window)
            let report = try await meetings.apply(batch, from: connection, window: window)
            let skipped = batch.skipped.map(SkipReport.init)
            try await store.recordSuccess(
                connection, cursor: batch.cursor, credentials: batch.refreshedCredentials,
                settings: batch.updatedSettings, skipped: skipped, nextSyncIn: jittered(settings.interval))
            count(connection.kind.rawValue, "ok", started)
            if let skipped, skipped.count > 0 {
                logger.warning(
                    "calendar events skipped: they cannot be read; the rest of the calendar was synced",
                    metadata: ["skipped": "\(skipped.count)", "events": "\(skipped.first.joined(separator: " | "))"])
            }
            logger.info(
                "calendar synced",
                metadata: [
                    "created": "\(report.created)", "updated": "\(report.updated)", "cancelled": "\(report.cancelled)",
                    "unchanged": "\(report.unchanged)", "skipped": "\(skipped?.count ?? 0)", "full": "\(batch.isComplete)",
                    "elapsed": "\(ContinuousClock.now - started)",
                ])
        } catch CalendarSyncError.authorizationRevoked(let reason) {
            count(claimed.kind, "revoked", started)
            logger.warning(
                "calendar authorisation withdrawn; connection stopped until its owner reconnects it",
                metadata: ["reason": "\(reason)"])
            guard case .success(let connection) = claimed.connection else { return }
            await record("the withdrawn authorisation", logger: logger) {
                try await store.markNeedsReauthorisation(connection, reason: reason)
            }
        } catch {
            let delay: Duration
            if case CalendarSyncError.rateLimited(let asked?) = error {
                delay = asked
            } else {
                delay = Backoff(initial: .seconds(30), maximum: settings.interval)
                    .delay(forAttempt: claimed.consecutiveFailures + 1)
            }
            count(claimed.kind, "failed", started)
            logger.error("calendar sync failed", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
            await record("the failed sync", logger: logger) {
                try await store.recordFailure(claimed.id, error: "\(error)", retryIn: delay)
            }
        }
    }

    /// Recording a sync's outcome is what frees its claim: a sync that failed because the
    /// database went away records its failure as soon as the database answers again, so that
    /// the connection waits out its backoff rather than the rest of the lease.
    private func record(_ what: String, logger: Logger, _ write: () async throws -> Void) async {
        let giveUp = ContinuousClock.now + settings.lease
        var warned = false
        while true {
            do {
                return try await write()
            } catch {
                guard ContinuousClock.now + settings.recordRetry < giveUp, !Task.isShuttingDownGracefully else {
                    return logger.error("cannot record \(what); the lease expires instead", metadata: ["error": "\(error)"])
                }
                if !warned {
                    logger.warning("cannot record \(what) yet; trying again", metadata: ["error": "\(error)"])
                    warned = true
                }
                try? await Task.sleep(for: settings.recordRetry)
            }
        }
    }

    private func jittered(_ interval: Duration) -> Duration {
        .nanoseconds(Int64(interval.secondsValue * Double.random(in: 0.9...1.1) * 1e9))
    }

    private func count(_ provider: String, _ outcome: String, _ started: ContinuousClock.Instant) {
        Counter(label: "attache_calendar_syncs_total", dimensions: [("provider", provider), ("outcome", outcome)]).increment()
        Timer(label: "attache_calendar_sync_duration_seconds", dimensions: [("provider", provider)])
            .record(duration: ContinuousClock.now - started)
    }
}

/// A connection claimed for a sync. Its credentials may fail to open (no key, another key):
/// that is the connection's failure, not the claim's.
struct ClaimedConnection: Sendable {
    var id: UUID
    var kind: String
    var consecutiveFailures: Int
    var connection: Result<CalendarConnection, any Error>
}
