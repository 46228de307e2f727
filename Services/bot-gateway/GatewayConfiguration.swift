import CallAccess
import Crypto
import Foundation
import Recall
import Runtime

struct GatewayConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("bot-gateway", defaultHTTPPort: 8084)

    enum Provider: String, CaseIterable, Sendable {
        /// A local simulated meeting: the embedded default, no account needed.
        case simulated
        /// Real bots through Recall.ai (ATTACHE_RECALL_API_KEY).
        case recall
    }

    var common: CommonConfiguration
    var provider: Provider
    var webhookSecret: WebhookSecret
    /// Where meeting providers reach this gateway (scheme, host, port, optional path prefix).
    var publicURL: String

    var webhookURL: String {
        (publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL) + WebhookReceiver.path
    }
    var simulatedCallLength: Duration
    /// The realtime worker the simulated meeting's camera joins, to speak with the agent.
    var simulatedCameraRealtimeURL: String?
    /// The camera page's address for bots (ATTACHE_CAMERA_PAGE_URL: the realtime workers' public
    /// address), and the key and grace of the tokens in it.
    var cameraPageURL: String
    var cameraTokenKey: SymmetricKey
    var cameraTokenGrace: Duration
    var cameraLink: CameraLink { CameraLink(base: cameraPageURL, key: cameraTokenKey, grace: cameraTokenGrace) }
    /// Google Calendar push notifications; nil (route not served) without ATTACHE_GOOGLE_CHANNEL_SECRET.
    var googlePush: GooglePushReceiver.Settings?
    /// Slack's requests to the app (served only with ATTACHE_SLACK_SIGNING_SECRET).
    var slack: SlackReceiver.Settings?
    /// How long before a meeting's start its bot joins (the design's 2 to 3 minutes).
    var earlyJoin: Duration
    var botWatch: BotWatch.Settings
    /// Twilio's status callbacks (served only with ATTACHE_TWILIO_AUTH_TOKEN).
    var twilio: TwilioStatusReceiver.Settings?
    /// Recall.ai's API and the bots' automatic leaving, with ATTACHE_MEETING_PROVIDER=recall.
    var recall: RecallClient.Configuration?
    var automaticLeave: CreateBot.AutomaticLeave

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        provider = try env.choice("ATTACHE_MEETING_PROVIDER", default: .simulated)
        let publicURL = try env.url("ATTACHE_PUBLIC_URL")
        if let secret = env.optionalString("ATTACHE_WEBHOOK_SECRET") {
            guard let parsed = WebhookSecret(secret) else {
                throw ConfigurationError(
                    setting: "ATTACHE_WEBHOOK_SECRET", problem: "must be whsec_ followed by base64 (as Recall.ai issues it)")
            }
            webhookSecret = parsed
        } else if publicURL != nil {
            // Behind a public address, webhooks may reach any replica: all must share one secret.
            throw ConfigurationError(
                setting: "ATTACHE_WEBHOOK_SECRET",
                problem: "is required when ATTACHE_PUBLIC_URL is set (every replica must verify with the same secret)")
        } else {
            // The simulated meeting posts to this very process and signs with the same secret,
            // so a fresh one per start is enough.
            webhookSecret = .random()
        }
        if publicURL == nil, common.httpPort == 0 {
            throw ConfigurationError(
                setting: "ATTACHE_HTTP_PORT", problem: "cannot be 0 without ATTACHE_PUBLIC_URL: webhooks need a known address")
        }
        self.publicURL = (publicURL ?? URL(string: "http://127.0.0.1:\(common.httpPort)")!).absoluteString
        simulatedCallLength = try env.seconds("ATTACHE_SIMULATED_CALL_SECONDS", default: 12, in: 1...3600)
        simulatedCameraRealtimeURL = try env.url("ATTACHE_SIMULATED_CAMERA_REALTIME_URL")?.absoluteString
        let cameraPageURL = try env.url("ATTACHE_CAMERA_PAGE_URL")?.absoluteString
        // The simulated meeting's camera plays the bot's page, at the realtime worker it is given.
        self.cameraPageURL = cameraPageURL ?? simulatedCameraRealtimeURL ?? "http://127.0.0.1:8085"
        cameraTokenKey = try Self.cameraTokenKey(
            env,
            requiredBy: publicURL != nil
                ? "ATTACHE_PUBLIC_URL"
                : cameraPageURL != nil
                    ? "ATTACHE_CAMERA_PAGE_URL"
                    : simulatedCameraRealtimeURL != nil ? "ATTACHE_SIMULATED_CAMERA_REALTIME_URL" : nil)
        cameraTokenGrace = .seconds(60 * (try env.integer("ATTACHE_CAMERA_TOKEN_GRACE_MINUTES", default: 120, in: 0...1440)))
        googlePush = try GooglePushReceiver.Settings(env)
        slack = try SlackReceiver.Settings(env)
        twilio = try TwilioStatusReceiver.Settings(env)
        automaticLeave = CreateBot.AutomaticLeave(
            everyoneLeftTimeout: try env.seconds("ATTACHE_RECALL_EVERYONE_LEFT_SECONDS", default: 30, in: 1...86_400),
            waitingRoomTimeout: try env.seconds("ATTACHE_RECALL_WAITING_ROOM_SECONDS", default: 1200, in: 1...86_400),
            nooneJoinedTimeout: try env.seconds("ATTACHE_RECALL_NOONE_JOINED_SECONDS", default: 1200, in: 1...86_400),
            inCallNotRecordingTimeout: try env.seconds("ATTACHE_RECALL_NOT_RECORDING_SECONDS", default: 3600, in: 1...86_400))
        if provider == .recall {
            guard publicURL != nil else {
                throw ConfigurationError(
                    setting: "ATTACHE_PUBLIC_URL",
                    problem: "is required with ATTACHE_MEETING_PROVIDER=recall: Recall sends webhooks there")
            }
            guard let key = env.optionalString("ATTACHE_RECALL_API_KEY") else {
                throw ConfigurationError(
                    setting: "ATTACHE_RECALL_API_KEY",
                    problem: "is required with ATTACHE_MEETING_PROVIDER=recall (the workspace's API key)")
            }
            recall = RecallClient.Configuration(
                region: try env.choice("ATTACHE_RECALL_REGION", default: RecallClient.Region.usWest2), apiKey: key,
                baseURL: try env.url("ATTACHE_RECALL_API_URL")?.absoluteString)
        }
        earlyJoin = .seconds(60 * (try env.integer("ATTACHE_BOT_JOIN_MINUTES_BEFORE", default: 2, in: 0...30)))
        botWatch = BotWatch.Settings(
            joinGrace: try env.seconds("ATTACHE_BOT_JOIN_GRACE_SECONDS", default: 300, in: 30...3600),
            waitingRoomStall: try env.seconds("ATTACHE_BOT_WAITING_ROOM_STALL_SECONDS", default: 600, in: 60...7200))
    }

    /// The key of the camera tokens, which the realtime workers check: required as soon as a bot's
    /// page may reach one (`requiredBy` names the setting that says so). Otherwise no page is ever
    /// sent, and a key of this start's own will do.
    private static func cameraTokenKey(_ env: Environment, requiredBy: String?) throws(ConfigurationError) -> SymmetricKey {
        let setting = "ATTACHE_CAMERA_TOKEN_KEY"
        if let encoded = env.optionalString(setting) {
            guard let key = CameraToken.key(base64: encoded) else {
                throw ConfigurationError(
                    setting: setting, problem: "must be at least \(CameraToken.minimumKeyBytes) random bytes, base64")
            }
            return key
        }
        if let requiredBy {
            throw ConfigurationError(
                setting: setting,
                problem:
                    "is required when \(requiredBy) is set (the realtime workers check the camera tokens this gateway mints: give them the same key, openssl rand -base64 32)"
            )
        }
        return SymmetricKey(size: .bits256)
    }
}
