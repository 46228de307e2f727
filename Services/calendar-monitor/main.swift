import Delivery
import HTTPClient
import Runtime

await ServiceMain.run("calendar-monitor") { environment, logger in
    let configuration = try CalendarMonitorConfiguration(environment)
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: MeetingsSchema.name, migrations: MeetingsSchema.migrations, logger: logger)
    let poller = CalendarPoller(
        source: configuration.source,
        sync: MeetingSync(
            pool: runtime.pool, outbox: runtime.outbox, tenantID: configuration.tenantID,
            sourceKey: configuration.source.key),
        http: HTTPClient(logger: logger), timeZone: configuration.timeZone, interval: configuration.pollInterval,
        windowBehind: configuration.windowBehind, windowAhead: configuration.windowAhead, logger: logger)
    try await runtime.run([runtime.outboxRelay(), poller])
}
