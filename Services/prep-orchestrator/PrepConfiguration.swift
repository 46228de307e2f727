import Crypto
import Foundation
import LanguageModel
import Mail
import ObjectStore
import Runtime
import Slack
import Twilio

struct PrepConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("prep-orchestrator", defaultHTTPPort: 8083)

    var common: CommonConfiguration
    var steps: PrepSteps.Settings
    /// Upper bound on how late a due step runs when nothing wakes the engine sooner.
    var stepPollInterval: Duration
    /// How long a replica holds a step it claimed before another may take it over.
    var stepLease: Duration
    enum ContextSource: String, CaseIterable, Sendable { case folder, http }
    var contextSource: ContextSource
    /// The tenants' context folders (the embedded context provider).
    var contextFolder: URL
    /// The context service (`http`): its base URL and bearer token.
    var contextURL: String?
    var contextToken: String?
    var contextTimeout: Duration
    var contextAttempts: Int
    enum Generator: String, CaseIterable, Sendable { case embedded, llm }
    var generator: Generator
    /// The language model for `llm` (the same settings as realtime-worker's).
    var languageModel: OpenAIChatModel.Configuration?
    /// Where materials are kept: PostgreSQL (embedded) or an S3-compatible store.
    var objectStore: S3Client.Configuration?
    /// Signs materials links; shared by every replica, since any of them may serve a link.
    var signingKey: SymmetricKey
    /// Whether the signing key was made up at start (links then die with the process).
    var signingKeyIsEphemeral: Bool
    var linkLifetime: Duration
    var retentionDays: Int
    /// Slack as the owner's first channel, before the local one (`ATTACHE_SLACK_BOT_TOKEN`).
    var slack: SlackClient.Configuration?
    /// SMS through Twilio after Slack (`ATTACHE_TWILIO_ACCOUNT_SID`), to the numbers in the
    /// tenants' directory files.
    var twilio: TwilioClient.Configuration?
    /// bot-gateway's `/webhooks/twilio/status` as Twilio reaches it: texts ask for status reports
    /// there, so that an undelivered one moves on to the next channel.
    var twilioStatusCallback: String?
    /// E-mail over SMTP (`ATTACHE_SMTP_URL`), from `emailFrom`.
    var smtp: SMTPConfiguration?
    var emailFrom: MailAddress?
    var directoryFolder: URL
    /// The owner's channels in order, where the directory gives no order of its own; those not
    /// configured are passed over, and the local one always comes last.
    var channelOrder: [String]

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        steps = PrepSteps.Settings()
        steps.botName = env.string("ATTACHE_BOT_NAME", default: "Attaché")
        steps.ownerWait = .seconds(3600 * (try env.integer("ATTACHE_PREP_OWNER_WAIT_HOURS", default: 24, in: 1...168)))
        steps.stopBefore = .seconds(60 * (try env.integer("ATTACHE_PREP_STOP_BEFORE_MINUTES", default: 30, in: 0...1440)))
        steps.botRequestLead = .seconds(60 * (try env.integer("ATTACHE_BOT_REQUEST_LEAD_MINUTES", default: 60, in: 0...1440)))
        let publicURL = try env.url("ATTACHE_PREP_PUBLIC_URL")
        steps.publicURL = publicURL.map { String($0.absoluteString.trimmingSuffix("/")) } ?? "http://127.0.0.1:\(common.httpPort)"
        stepPollInterval = .milliseconds(try env.integer("ATTACHE_TIMER_POLL_MS", default: 500, in: 10...60_000))
        stepLease = try env.seconds("ATTACHE_PREP_STEP_LEASE_SECONDS", default: 120, in: 5...3600)
        contextSource = try env.choice("ATTACHE_CONTEXT_PROVIDER", default: .folder)
        contextFolder = URL(fileURLWithPath: env.string("ATTACHE_CONTEXT_DIR", default: "deploy/config/context"))
        if contextSource == .http {
            contextURL = try env.url("ATTACHE_CONTEXT_URL")?.absoluteString.trimmingSuffix("/").description
            guard contextURL != nil else {
                throw ConfigurationError(
                    setting: "ATTACHE_CONTEXT_URL", problem: "is required with ATTACHE_CONTEXT_PROVIDER=http")
            }
            contextToken = try env.string(
                "ATTACHE_CONTEXT_TOKEN", requiredWith: "ATTACHE_CONTEXT_PROVIDER=http", hint: "the context service's bearer token"
            )
        }
        contextTimeout = .milliseconds(try env.integer("ATTACHE_CONTEXT_TIMEOUT_MS", default: 10_000, in: 100...120_000))
        contextAttempts = try env.integer("ATTACHE_CONTEXT_ATTEMPTS", default: 2, in: 1...10)
        generator = try env.choice("ATTACHE_PREP_GENERATOR", default: .embedded)
        if generator == .llm {
            languageModel = OpenAIChatModel.Configuration(
                baseURL: (try env.url("ATTACHE_LLM_BASE_URL")?.absoluteString) ?? "https://api.openai.com/v1",
                apiKey: try env.string(
                    "ATTACHE_LLM_API_KEY", requiredWith: "ATTACHE_PREP_GENERATOR=llm", hint: "the model's API key"),
                model: env.string("ATTACHE_LLM_MODEL", default: "gpt-4o-mini"), firstTokenTimeout: .seconds(60),
                idleTimeout: .seconds(30), requestTimeout: .seconds(180))
        }
        enum MaterialsStoreKind: String, CaseIterable { case database, s3 }
        if try env.choice("ATTACHE_MATERIALS_STORE", default: MaterialsStoreKind.database) == .s3 {
            let required = "ATTACHE_MATERIALS_STORE=s3"
            guard let url = try env.url("ATTACHE_S3_URL") else {
                throw ConfigurationError(setting: "ATTACHE_S3_URL", problem: "is required with \(required): the store's endpoint")
            }
            objectStore = S3Client.Configuration(
                endpoint: url.absoluteString, bucket: env.string("ATTACHE_S3_BUCKET", default: "attache-materials"),
                region: env.string("ATTACHE_S3_REGION", default: "us-east-1"),
                accessKey: try env.string("ATTACHE_S3_ACCESS_KEY", requiredWith: required, hint: "the store's access key"),
                secretKey: try env.string("ATTACHE_S3_SECRET_KEY", requiredWith: required, hint: "the store's secret key"))
        }
        linkLifetime = .seconds(3600 * (try env.integer("ATTACHE_MATERIALS_LINK_HOURS", default: 24, in: 1...168)))
        retentionDays = try env.integer("ATTACHE_MATERIALS_RETENTION_DAYS", default: 30, in: 1...3650)
        directoryFolder = URL(fileURLWithPath: env.string("ATTACHE_DIRECTORY_DIR", default: "deploy/config/directory"))
        channelOrder = env.string("ATTACHE_OWNER_CHANNELS", default: "slack,sms,email,local").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = channelOrder.first(where: { !OwnerDirectory.channelNames.contains($0) }) {
            throw ConfigurationError(
                setting: "ATTACHE_OWNER_CHANNELS",
                problem: "names \(unknown); the channels are \(OwnerDirectory.channelNames.sorted().joined(separator: ", "))")
        }
        twilioStatusCallback = try env.url("ATTACHE_TWILIO_STATUS_CALLBACK_URL")?.absoluteString
        if let url = env.optionalString("ATTACHE_SMTP_URL") {
            let required = "ATTACHE_SMTP_URL"
            guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
                throw ConfigurationError(setting: required, problem: "must be smtp://host:port or smtps://host:port")
            }
            let user = env.optionalString("ATTACHE_SMTP_USER")
            let password =
                user == nil
                ? nil : try env.string("ATTACHE_SMTP_PASSWORD", requiredWith: "ATTACHE_SMTP_USER", hint: "the SMTP password")
            smtp = SMTPConfiguration(
                url: url,
                startTLS: try env.choice("ATTACHE_SMTP_STARTTLS", default: SMTPStartTLSSetting.required).value,
                username: user,
                password: password,
                caFile: env.optionalString("ATTACHE_SMTP_CA_FILE"))
            emailFrom = MailAddress(
                try env.string("ATTACHE_SMTP_FROM", requiredWith: required, hint: "the address e-mails come from"),
                displayName: env.string("ATTACHE_SMTP_FROM_NAME", default: "Attaché"))
        }
        if let account = env.optionalString("ATTACHE_TWILIO_ACCOUNT_SID") {
            let required = "ATTACHE_TWILIO_ACCOUNT_SID"
            twilio = TwilioClient.Configuration(
                baseURL: (try env.url("ATTACHE_TWILIO_API_URL")?.absoluteString) ?? "https://api.twilio.com",
                accountSID: account,
                authToken: try env.string("ATTACHE_TWILIO_AUTH_TOKEN", requiredWith: required, hint: "the account's auth token"),
                from: try env.string(
                    "ATTACHE_TWILIO_FROM", requiredWith: required, hint: "the sending number (E.164) or a Messaging Service SID"))
        }
        if let token = env.optionalString("ATTACHE_SLACK_BOT_TOKEN") {
            guard token.hasPrefix("xoxb-") else {
                throw ConfigurationError(setting: "ATTACHE_SLACK_BOT_TOKEN", problem: "must be a bot token (xoxb-…)")
            }
            slack = SlackClient.Configuration(
                baseURL: (try env.url("ATTACHE_SLACK_API_URL")?.absoluteString) ?? "https://slack.com/api", botToken: token)
        }
        if let encoded = env.optionalString("ATTACHE_PREP_SIGNING_KEY") {
            guard let key = Data(base64Encoded: encoded), key.count >= 32 else {
                throw ConfigurationError(setting: "ATTACHE_PREP_SIGNING_KEY", problem: "must be at least 32 random bytes, base64")
            }
            signingKey = SymmetricKey(data: key)
            signingKeyIsEphemeral = false
        } else if publicURL != nil {
            // Behind a public address any replica may serve a link: all must sign with one key.
            throw ConfigurationError(
                setting: "ATTACHE_PREP_SIGNING_KEY",
                problem: "is required when ATTACHE_PREP_PUBLIC_URL is set (every replica must sign links with the same key)")
        } else {
            signingKey = SymmetricKey(size: .bits256)
            signingKeyIsEphemeral = true
        }
    }
}

/// ATTACHE_SMTP_STARTTLS: `required` (the default), `opportunistic` or `off`.
enum SMTPStartTLSSetting: String, CaseIterable, Sendable {
    case required, opportunistic, off

    var value: SMTPConfiguration.StartTLS {
        switch self {
        case .required: .required
        case .opportunistic: .opportunistic
        case .off: .off
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : self[...]
    }
}
