import ClassificationRules
import Runtime

struct ClassifierConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("classifier", defaultHTTPPort: 8082)

    var common: CommonConfiguration
    var rules: ClassificationRules
    /// How long before the start the bot joins, so that it is in the room when people arrive.
    var botJoinLead: Duration

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        rules = try Self.rules(env)
        botJoinLead = .seconds(60 * (try env.integer("ATTACHE_BOT_JOIN_MINUTES_BEFORE", default: 2, in: 0...60)))
    }

    /// The rules file is part of the configuration: if it does not load, nothing starts, and
    /// the error names the file, line and rule (never half-applied).
    static func rules(_ env: Environment) throws(ConfigurationError) -> ClassificationRules {
        let path = env.string("ATTACHE_CLASSIFIER_RULES", default: "deploy/config/classifier-rules.yaml")
        do {
            return try ClassificationRules.load(fileAt: path)
        } catch {
            throw ConfigurationError(
                setting: "ATTACHE_CLASSIFIER_RULES", problem: "names a rules file that cannot be used: \(error)")
        }
    }
}
