import Delivery
import HTTPClient
import Recall
import Runtime
import ServiceLifecycle
import SpeechEngines

await ServiceMain.run(GatewayConfiguration.self) { configuration, logger in
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: GatewaySchema.name, migrations: GatewaySchema.migrations, logger: logger)
    let http = HTTPClient(logger: logger)
    let camera = try configuration.simulatedCameraRealtimeURL.map { _ in
        SimulatedCamera(voice: try ESpeakSynthesizer(voice: "en-us+klatt", wordsPerMinute: 160), http: http, logger: logger)
    }
    let simulated = SimulatedMeeting(
        webhookURL: configuration.webhookURL, secret: configuration.webhookSecret,
        callLength: configuration.simulatedCallLength, http: http, camera: camera,
        cameraLink: configuration.cameraLink, logger: logger)
    let provider: any MeetingBotProvider =
        configuration.recall.map {
            RecallProvider(
                client: RecallClient(configuration: $0, logger: logger),
                settings: .init(
                    transcriptWebhookURL: configuration.webhookURL, automaticLeave: configuration.automaticLeave),
                cameraURL: { [link = configuration.cameraLink] in link.url(for: $0) })
        } ?? simulated
    let receiver = WebhookReceiver(
        secret: configuration.webhookSecret, pool: runtime.pool, outbox: runtime.outbox, provider: provider.name,
        logger: logger)
    var routes = EventRoutes()
    BotJoinHandler(provider: provider, earlyJoin: configuration.earlyJoin).register(in: &routes)
    let googlePush = configuration.googlePush.map {
        GooglePushReceiver(settings: $0, pool: runtime.pool, outbox: runtime.outbox, logger: logger)
    }
    let slack = configuration.slack.map {
        SlackReceiver(settings: $0, recorder: SlackStore(pool: runtime.pool, outbox: runtime.outbox), logger: logger)
    }
    let twilio = configuration.twilio.map {
        TwilioStatusReceiver(
            settings: $0,
            publicURL: configuration.publicURL.hasSuffix("/")
                ? String(configuration.publicURL.dropLast()) : configuration.publicURL, pool: runtime.pool,
            outbox: runtime.outbox, logger: logger)
    }
    let watch = BotWatch(pool: runtime.pool, outbox: runtime.outbox, settings: configuration.botWatch, logger: logger)
    let artifacts = ArtifactsCollector(pool: runtime.pool, outbox: runtime.outbox, provider: provider, logger: logger)
    // The simulated meeting runs its calls; Recall runs its own.
    let services: [any Service] = (provider is SimulatedMeeting ? [simulated] : []) + [watch, artifacts]
    try await runtime.run(handling: routes, with: services) { router in
        receiver.register(on: router)
        googlePush?.register(on: router)
        slack?.register(on: router)
        twilio?.register(on: router)
    }
}
