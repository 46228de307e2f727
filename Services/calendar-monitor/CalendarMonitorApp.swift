import Delivery
import Foundation
import HTTPClient
import Resilience
import Runtime

/// The calendar-monitor process: the operator's `connections` commands, or the service. The
/// wiring lives in the library (rather than in main.swift) so that benchmarks can use the
/// same types.
package enum CalendarMonitorApp {
    package static func main() async -> Never {
        if CommandLine.arguments.dropFirst().first == "connections" {
            exit(await ConnectionsCommand.run(Array(CommandLine.arguments.dropFirst(2))))
        }
        await ServiceMain.run(CalendarMonitorConfiguration.self) { configuration, logger in
            let runtime = try await ServiceRuntime.start(
                configuration.common, schema: MeetingsSchema.name, migrations: MeetingsSchema.migrations, logger: logger)
            let store = ConnectionStore(pool: runtime.pool, outbox: runtime.outbox, vault: configuration.vault)
            if let calendar = configuration.defaultCalendar {
                try await store.ensure(
                    tenantID: calendar.tenantID, owner: calendar.owner, kind: .ics, name: "default",
                    settings: ConnectionSettings(location: calendar.location, timeZone: calendar.timeZone))
            }
            // One client, and so one request budget, per provider: Google's quota is not Microsoft's.
            func pacedClient() -> HTTPClient {
                let rate = configuration.requestsPerSecond
                return HTTPClient(rateLimit: RateLimiter(perSecond: Double(rate), burst: max(1, rate * 2)), logger: logger)
            }
            let wakeup = WakeSignal()
            var routes = EventRoutes()
            CalendarPushHandler(wakeup: wakeup).register(in: &routes)
            CalendarSyncRequestHandler(wakeup: wakeup).register(in: &routes)
            var providers: [ProviderKind: any CalendarProvider] = [
                .ics: ICSProvider(http: pacedClient()), .caldav: CalDAVProvider(http: pacedClient()),
            ]
            if let microsoft = configuration.microsoft { providers[.microsoft] = microsoft.provider(http: pacedClient()) }
            if let google = configuration.google { providers[.google] = google.provider(http: pacedClient(), logger: logger) }
            let scheduler = SyncScheduler(
                store: store, meetings: MeetingSync(pool: runtime.pool, outbox: runtime.outbox), providers: providers,
                settings: configuration.scheduler, wakeup: wakeup, logger: logger)
            try await runtime.run(handling: routes, with: [scheduler])
        }
    }
}
