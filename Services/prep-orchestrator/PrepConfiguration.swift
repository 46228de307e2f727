import Runtime

struct PrepConfiguration: Sendable {
    var common: CommonConfiguration
    /// How long before the start the bot joins, so that it is in the room when people arrive.
    var earlyJoin: Duration
    var botName: String
    /// Upper bound on how late a due timer fires when nothing wakes the timer loop sooner.
    var timerPollInterval: Duration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(service: "prep-orchestrator", defaultHTTPPort: 8083, environment: env)
        earlyJoin = .seconds(60 * (try env.integer("ATTACHE_EARLY_JOIN_MINUTES", default: 2, in: 0...60)))
        botName = env.string("ATTACHE_BOT_NAME", default: "Attaché")
        timerPollInterval = .milliseconds(try env.integer("ATTACHE_TIMER_POLL_MS", default: 500, in: 10...60_000))
    }
}
