import Delivery
import HTTPClient
import LanguageModel
import Mail
import ObjectStore
import Runtime
import Slack
import Twilio

await ServiceMain.run(PrepConfiguration.self) { configuration, logger in
    if configuration.signingKeyIsEphemeral {
        logger.warning("ATTACHE_PREP_SIGNING_KEY is not set: materials links stop working when this process stops")
    }
    // A mistake in a tenant's directory stops the service now, not a message later.
    let directory = OwnerDirectory(folder: configuration.directoryFolder)
    do { try directory.validate() } catch {
        throw ConfigurationError(setting: "ATTACHE_DIRECTORY_DIR", problem: "\(error)")
    }
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations, logger: logger)
    let wakeup = WakeSignal()
    let links = MaterialsLinks(
        baseURL: configuration.steps.publicURL, key: configuration.signingKey, lifetime: configuration.linkLifetime)
    let provider: any ContextProvider =
        switch configuration.contextSource {
        case .folder: FolderContextProvider(folder: configuration.contextFolder)
        case .http:
            HTTPContextProvider(
                baseURL: configuration.contextURL ?? "", token: configuration.contextToken ?? "",
                http: HTTPClient(retry: .none, logger: logger), requestTimeout: configuration.contextTimeout)
        }
    let store: any MaterialsStore
    if let objectStore = configuration.objectStore {
        let client = S3Client(configuration: objectStore, http: HTTPClient(logger: logger))
        try await client.ensureBucket()
        store = S3MaterialsStore(client: client, lifetime: configuration.linkLifetime)
    } else {
        store = DatabaseMaterialsStore(links: links)
    }
    var channels: [any OwnerChannel] = [LocalChannel()]
    if let twilio = configuration.twilio {
        channels.append(
            SMSChannel(
                client: TwilioClient(configuration: twilio, logger: logger), directory: directory, pool: runtime.pool,
                statusCallback: configuration.twilioStatusCallback))
    }
    let unsubscribe = EmailUnsubscribe(baseURL: configuration.steps.publicURL, key: configuration.signingKey, pool: runtime.pool)
    if let smtp = configuration.smtp, let from = configuration.emailFrom {
        channels.append(
            EmailChannel(
                client: SMTPClient(configuration: smtp, logger: logger), from: from, unsubscribe: unsubscribe))
    }
    let slack = configuration.slack.map { SlackClient(configuration: $0, logger: logger) }
    if let client = slack {
        channels.append(SlackChannel(client: client))
        // A bad token stops nothing (the local channel still reaches the owner) but is said once, at start.
        Task {
            do {
                let identity = try await client.authTest()
                logger.info("Slack connected", metadata: ["team": "\(identity.team)", "bot_user": "\(identity.user)"])
            } catch {
                logger.error("Slack is not usable; owners are reached through the local channel", metadata: ["error": "\(error)"])
            }
        }
    }
    // The configured order, of the channels that are configured; the local one last.
    let order = configuration.channelOrder.filter { $0 != "local" } + ["local"]
    let chain = order.compactMap { name in channels.first { $0.name == name } }
    let steps = PrepSteps(
        pool: runtime.pool,
        context: ContextGatherer(
            provider: provider, timeout: configuration.contextTimeout, attempts: configuration.contextAttempts),
        channels: OwnerChannels(chain: chain, directory: directory),
        generator: configuration.languageModel.map {
            LanguageModelGenerator(model: OpenAIChatModel(configuration: $0, logger: logger), logger: logger)
        } ?? EmbeddedGenerator(),
        store: store, settings: configuration.steps)
    let engine = WorkflowEngine(
        pool: runtime.pool, outbox: runtime.outbox, steps: steps, wakeup: wakeup, pollInterval: configuration.stepPollInterval,
        lease: configuration.stepLease, logger: logger)
    var routes = EventRoutes()
    WorkflowHandlers(wakeup: wakeup, settings: configuration.steps, adopted: engine.adopted, lease: engine.lease)
        .register(in: &routes)
    OwnerNotifications().register(in: &routes)
    DeliveryReports(wakeup: wakeup).register(in: &routes)
    BotProblemNotifications(wakeup: wakeup).register(in: &routes)
    CallReviewNotifications(wakeup: wakeup).register(in: &routes)
    SlackConversation(
        client: slack, pool: runtime.pool, wakeup: wakeup,
        followUps: configuration.languageModel.map {
            AnswerFollowUp(model: OpenAIChatModel(configuration: $0, logger: logger), logger: logger)
        }, logger: logger
    ).register(in: &routes)
    let prepPage = PrepPage(pool: runtime.pool, outbox: runtime.outbox, wakeup: wakeup, logger: logger)
    let materials = MaterialsRoutes(pool: runtime.pool, links: links)
    try await runtime.run(
        handling: routes,
        with: [
            engine,
            MaterialsSweep(pool: runtime.pool, store: store, retentionDays: configuration.retentionDays, logger: logger),
            WorkflowGauges(pool: runtime.pool, logger: logger),
        ]
    ) { router in
        prepPage.register(on: router)
        materials.register(on: router)
        unsubscribe.register(on: router)
    }
}
