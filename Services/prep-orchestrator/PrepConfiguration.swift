import Runtime

struct PrepConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("prep-orchestrator", defaultHTTPPort: 8083)

    var common: CommonConfiguration
    var botName: String
    /// Upper bound on how late a due timer fires when nothing wakes the timer loop sooner.
    var timerPollInterval: Duration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        botName = env.string("ATTACHE_BOT_NAME", default: "Attaché")
        timerPollInterval = .milliseconds(try env.integer("ATTACHE_TIMER_POLL_MS", default: 500, in: 10...60_000))
    }
}
