import CallAnalysis
import Foundation
import LanguageModel
import Runtime

struct MonitoringConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("monitoring-worker", defaultHTTPPort: 8086)

    enum Analyser: String, CaseIterable { case embedded, llm }

    var common: CommonConfiguration
    var cycle: MonitoringCycle.Settings
    var analyser: Analyser
    /// The model for `ATTACHE_MONITORING_ANALYSER=llm` (and the diagnosis' written summary).
    var languageModel: OpenAIChatModel.Configuration?
    /// The intent taxonomy: `ATTACHE_INTENTS_FILE`, else deploy/config/intents.yaml where it
    /// exists (a checkout), else the same taxonomy built into CallAnalysis.
    var intentsFile: String?
    var latencyBudget: LatencyBudget
    /// Verdicts as Langfuse scores, with both keys set.
    var langfuse: LangfuseScores.Configuration?

    static let shippedIntents = "deploy/config/intents.yaml"

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        // The design's cadence: a heartbeat a minute, a cycle at most every five minutes, ten
        // sessions analysed and three diagnosed (one after another) a cycle.
        cycle = MonitoringCycle.Settings(
            heartbeat: try env.seconds("ATTACHE_MONITORING_HEARTBEAT_SECONDS", default: 60, in: 1...3600),
            interval: try env.seconds("ATTACHE_MONITORING_CYCLE_SECONDS", default: 300, in: 1...86_400),
            sessionsPerCycle: try env.integer("ATTACHE_MONITORING_SESSIONS_PER_CYCLE", default: 10, in: 1...100_000),
            diagnosesPerCycle: try env.integer("ATTACHE_MONITORING_DIAGNOSES_PER_CYCLE", default: 3, in: 0...100_000),
            attempts: try env.integer("ATTACHE_MONITORING_ATTEMPTS", default: 3, in: 1...20))
        analyser = try env.choice("ATTACHE_MONITORING_ANALYSER", default: .embedded)
        if analyser == .llm {
            languageModel = OpenAIChatModel.Configuration(
                baseURL: (try env.url("ATTACHE_LLM_BASE_URL")?.absoluteString) ?? "https://api.openai.com/v1",
                apiKey: try env.string(
                    "ATTACHE_LLM_API_KEY", requiredWith: "ATTACHE_MONITORING_ANALYSER=llm", hint: "the judge model's API key"),
                model: env.string("ATTACHE_LLM_MODEL", default: "gpt-4o-mini"), firstTokenTimeout: .seconds(60),
                idleTimeout: .seconds(30), requestTimeout: .seconds(180))
        }
        intentsFile =
            env.optionalString("ATTACHE_INTENTS_FILE")
            ?? (FileManager.default.fileExists(atPath: Self.shippedIntents) ? Self.shippedIntents : nil)
        latencyBudget = LatencyBudget(
            voiceToVoiceMs: Double(try env.integer("ATTACHE_MONITORING_LATENCY_BUDGET_MS", default: 800, in: 100...10_000)))
        if let publicKey = env.optionalString("ATTACHE_LANGFUSE_PUBLIC_KEY") {
            langfuse = LangfuseScores.Configuration(
                baseURL: (try env.url("ATTACHE_LANGFUSE_URL")?.absoluteString) ?? "https://cloud.langfuse.com",
                publicKey: publicKey,
                secretKey: try env.string(
                    "ATTACHE_LANGFUSE_SECRET_KEY", requiredWith: "ATTACHE_LANGFUSE_PUBLIC_KEY",
                    hint: "the Langfuse project's secret key (sk-lf-…)"))
        } else if env.optionalString("ATTACHE_LANGFUSE_SECRET_KEY") != nil {
            throw ConfigurationError(
                setting: "ATTACHE_LANGFUSE_PUBLIC_KEY", problem: "is required with ATTACHE_LANGFUSE_SECRET_KEY (pk-lf-…)")
        }
    }
}
