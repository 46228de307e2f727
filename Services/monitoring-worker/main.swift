import Delivery
import Runtime

await ServiceMain.run(MonitoringConfiguration.self) { configuration, logger in
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: ResultsSchema.name, migrations: ResultsSchema.migrations, logger: logger)
    var routes = EventRoutes()
    CallReview().register(in: &routes)
    ProviderArtifacts().register(in: &routes)
    try await runtime.run(handling: routes)
}
