import Delivery
import Runtime

await ServiceMain.run("realtime-worker") { environment, logger in
    let common = try CommonConfiguration(service: "realtime-worker", defaultHTTPPort: 8085, environment: environment)
    let runtime = try await ServiceRuntime.start(
        common, schema: SessionsSchema.name, migrations: SessionsSchema.migrations, logger: logger)
    let registry = PipelineRegistry()
    var routes = EventRoutes()
    CallHandlers(registry: registry).register(in: &routes)
    try await runtime.run([
        runtime.outboxRelay(), PipelineShutdown(registry: registry, logger: logger), try runtime.consumer(routes),
    ])
}
