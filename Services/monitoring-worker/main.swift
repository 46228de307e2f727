import CallAnalysis
import Delivery
import HTTPClient
import LanguageModel
import Runtime

await ServiceMain.run(MonitoringConfiguration.self) { configuration, logger in
    // A mistake in the taxonomy stops the service now, naming the file and entry.
    var taxonomy = IntentTaxonomy.bundledDefault
    if let file = configuration.intentsFile {
        do { taxonomy = try IntentTaxonomy.load(from: file) } catch {
            throw ConfigurationError(setting: "ATTACHE_INTENTS_FILE", problem: "\(error)")
        }
    }
    let model = configuration.languageModel.map { OpenAIChatModel(configuration: $0, logger: logger) }
    let analyser: any CallAnalyser =
        if let model { JudgeAnalyser(model: model, taxonomy: taxonomy) } else { EmbeddedAnalyser(taxonomy: taxonomy) }
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: ResultsSchema.name, migrations: ResultsSchema.migrations, logger: logger)
    var routes = EventRoutes()
    CallReview().register(in: &routes)
    ProviderArtifacts().register(in: &routes)
    let cycle = MonitoringCycle(
        pool: runtime.pool, outbox: runtime.outbox, analyser: analyser,
        diagnostician: Diagnostician(taxonomy: taxonomy, latencyBudget: configuration.latencyBudget),
        writer: model.map { DiagnosisWriter(model: $0) },
        langfuse: configuration.langfuse.map {
            LangfuseScores(configuration: $0, pool: runtime.pool, http: HTTPClient(logger: logger), logger: logger)
        }, settings: configuration.cycle, logger: logger)
    try await runtime.run(handling: routes, with: [cycle])
}
