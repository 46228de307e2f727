import Foundation
import HTTPClient
import Logging
import Metrics
import Resilience
import ServiceLifecycle

/// Reads the calendar at start and then every poll interval, and syncs it. A failing cycle
/// (calendar unreachable, unparseable, database down) is logged and counted, and the next
/// cycle comes sooner, backing off up to the poll interval.
struct CalendarPoller: Service {
    let source: CalendarSource
    let sync: MeetingSync
    let http: HTTPClient
    let timeZone: TimeZone
    let interval: Duration
    let windowBehind: Duration
    let windowAhead: Duration
    let logger: Logger

    func run() async throws {
        let backoff = Backoff(initial: .seconds(1), maximum: interval)
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do {
                let events = try ICalendar.events(from: try await read(), defaultTimeZone: timeZone)
                let report = try await sync.apply(events, now: Date(), windowBehind: windowBehind, windowAhead: windowAhead)
                failures = 0
                Counter(label: "attache_calendar_sync_cycles_total", dimensions: [("outcome", "ok")]).increment()
                logger.info(
                    "calendar synced",
                    metadata: [
                        "source": "\(source)", "events": "\(events.count)", "created": "\(report.created)",
                        "updated": "\(report.updated)", "cancelled": "\(report.cancelled)",
                        "unchanged": "\(report.unchanged)", "elapsed": "\(ContinuousClock.now - started)",
                    ])
            } catch {
                failures += 1
                Counter(label: "attache_calendar_sync_cycles_total", dimensions: [("outcome", "failed")]).increment()
                logger.error("calendar sync failed", metadata: ["source": "\(source)", "error": "\(error)"])
            }
            let wait = failures == 0 ? interval : backoff.delay(forAttempt: failures)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
        }
    }

    private func read() async throws -> String {
        switch source {
        case .file(let path):
            return try String(contentsOfFile: path, encoding: .utf8)
        case .url(let url):
            let response = try await http.send(OutboundRequest(url: url.absoluteString, headers: [("Accept", "text/calendar")]))
            guard response.isSuccess else {
                throw HTTPClientError.unexpectedStatus(url: "\(source)", status: response.status, body: String(response.text.prefix(200)))
            }
            return response.text
        }
    }
}
