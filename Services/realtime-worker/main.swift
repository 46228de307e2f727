import Delivery
import HummingbirdWebSocket
import Runtime

await ServiceMain.run(RealtimeConfiguration.self) { configuration, logger in
    let engines = try VoiceEngines(configuration)
    for problem in engines.unavailable {
        logger.warning("calls will go without the agent until this is fixed", metadata: ["problem": "\(problem)"])
    }
    let runtime = try await ServiceRuntime.start(
        configuration.common, schema: SessionsSchema.name, migrations: SessionsSchema.migrations, logger: logger)
    // A mistake in a tenant's directory file stops the service now, not a call later.
    do { try configuration.companies.validate() } catch {
        throw ConfigurationError(setting: "ATTACHE_DIRECTORY_DIR", problem: "\(error)")
    }
    let calls = LiveCalls()
    let handlers = CallHandlers(
        calls: calls, engines: engines, companies: configuration.companies,
        recorder: TurnRecorder(pool: runtime.pool, agentName: configuration.voiceSettings.agentName, logger: logger),
        instanceID: configuration.instanceID, mediaURL: configuration.publicURL)
    var routes = EventRoutes()
    handlers.register(in: &routes)
    if configuration.cameraTokenKeyIsEphemeral {
        logger.warning(
            "no ATTACHE_CAMERA_TOKEN_KEY: camera pages are refused, as nothing else holds this start's key; give bot-gateway and this service the same key"
        )
    }
    let media = MediaRoutes(
        calls: calls, pool: runtime.pool, gate: CameraGate(key: configuration.cameraTokenKey, logger: logger),
        page: CameraPage(
            agentName: configuration.voiceSettings.agentName, company: configuration.voiceSettings.company,
            loadsLiveKit: configuration.avatar == .heygen), logger: logger)
    try await runtime.run(
        handling: routes, with: [CallReaper(calls: calls, pool: runtime.pool, logger: logger)],
        server: media.server()
    ) { router in
        media.register(on: router)
    }
}
