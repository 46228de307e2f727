import Delivery
import Runtime

await ServiceMain.run("prep-orchestrator") { environment, logger in
    let configuration = try PrepConfiguration(environment)
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations, logger: logger)
    let wakeup = WakeSignal()
    var routes = EventRoutes()
    WorkflowHandlers(timers: wakeup).register(in: &routes)
    OwnerNotifications().register(in: &routes)
    let timers = WorkflowTimers(
        pool: runtime.pool, outbox: runtime.outbox, wakeup: wakeup, botName: configuration.botName,
        pollInterval: configuration.timerPollInterval, logger: logger)
    try await runtime.run([runtime.outboxRelay(), timers, try runtime.consumer(routes)])
}
