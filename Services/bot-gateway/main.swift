import Delivery
import HTTPClient
import Runtime
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
    let receiver = WebhookReceiver(
        secret: configuration.webhookSecret, pool: runtime.pool, outbox: runtime.outbox, provider: simulated.name,
        logger: logger)
    var routes = EventRoutes()
    BotJoinHandler(provider: simulated).register(in: &routes)
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
    try await runtime.run(handling: routes, with: [simulated]) { router in
        receiver.register(on: router)
        googlePush?.register(on: router)
        slack?.register(on: router)
        twilio?.register(on: router)
    }
}
