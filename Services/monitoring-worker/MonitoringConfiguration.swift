import Runtime

struct MonitoringConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("monitoring-worker", defaultHTTPPort: 8086)

    var common: CommonConfiguration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
    }
}
