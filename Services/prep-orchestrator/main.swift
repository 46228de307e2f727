import Delivery
import Runtime

await ServiceMain.run(PrepConfiguration.self) { configuration, logger in
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations, logger: logger)
    let wakeup = WakeSignal()
    var routes = EventRoutes()
    WorkflowHandlers(timers: wakeup).register(in: &routes)
    OwnerNotifications().register(in: &routes)
    let timers = WorkflowTimers(
        pool: runtime.pool, outbox: runtime.outbox, wakeup: wakeup, botName: configuration.botName,
        pollInterval: configuration.timerPollInterval, logger: logger)
    try await runtime.run(handling: routes, with: [timers])
}
