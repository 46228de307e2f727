import Delivery
import Runtime

await ServiceMain.run("monitoring-worker") { environment, logger in
    let common = try CommonConfiguration(service: "monitoring-worker", defaultHTTPPort: 8086, environment: environment)
    let runtime = try await ServiceRuntime.start(
        common, schema: ResultsSchema.name, migrations: ResultsSchema.migrations, logger: logger)
    var routes = EventRoutes()
    CallReview().register(in: &routes)
    try await runtime.run([runtime.outboxRelay(), try runtime.consumer(routes)])
}
