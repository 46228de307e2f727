import CallAccess
import Crypto
import Foundation
import Runtime
import VoicePipeline

/// The realtime worker's settings, read once at start.
struct RealtimeConfiguration: ServiceConfiguration {
    static let identity = ServiceIdentity("realtime-worker", defaultHTTPPort: 8085)

    enum SpeechToTextEngine: String, CaseIterable, Sendable { case pocketsphinx, deepgram }
    enum TextToSpeechEngine: String, CaseIterable, Sendable { case espeak, elevenlabs }
    /// ElevenLabs' WebSocket input stream, or its HTTP stream (with timestamps): one request a
    /// sentence either way.
    enum ElevenLabsTransport: String, CaseIterable, Sendable { case websocket, http }
    enum ChatEngine: String, CaseIterable, Sendable { case local, openai }
    /// `visemes`: the page draws a face from our own speech's phonemes; `heygen`: HeyGen renders
    /// the agent, voice and all, in a LiveKit room the page shows.
    enum AvatarEngine: String, CaseIterable, Sendable { case visemes, heygen }

    var common: CommonConfiguration
    /// This replica's name in session ownership.
    var instanceID: String
    /// Where camera webpages reach this replica (its media WebSocket and pages).
    var publicURL: String
    /// Checks the camera tokens that bot-gateway mints into the camera URL it gives the bot.
    var cameraTokenKey: SymmetricKey
    /// No key was configured and none is required (no public address): one made up at start,
    /// which no other process shares, so camera pages are refused until the key is set.
    var cameraTokenKeyIsEphemeral: Bool
    var speechToText: SpeechToTextEngine
    /// Phrases the offline recogniser listens for, one per line (ATTACHE_STT_PHRASES_FILE).
    var phrases: [String]
    var textToSpeech: TextToSpeechEngine
    var voice: String
    var chat: ChatEngine
    /// Cloud endpoints. Their keys may be missing: calls then go without an agent, each with a
    /// log line naming the setting (see `VoiceEngines`).
    var chatEndpoint: String
    var chatModel: String
    var chatAPIKey: String?
    var deepgramURL: String
    var deepgramAPIKey: String?
    var elevenLabsURL: String
    var elevenLabsAPIKey: String?
    var elevenLabsVoiceID: String
    var elevenLabsTransport: ElevenLabsTransport
    var avatar: AvatarEngine
    var heyGenURL: String
    var heyGenAPIKey: String?
    /// nil lets HeyGen choose; the voice, nil, is the avatar's own.
    var heyGenAvatarID: String?
    var heyGenVoiceID: String?
    var voiceSettings: VoiceConfiguration
    /// Tenants' directory files, for the company each tenant's agent names (`company`).
    var directoryFolder: URL
    var companies: TenantCompanies { TenantCompanies(folder: directoryFolder, fallback: voiceSettings.company) }

    init(_ env: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, env)
        let host = ProcessInfo.processInfo.hostName
        instanceID = env.string("ATTACHE_INSTANCE_ID", default: "\(host)-\(ProcessInfo.processInfo.processIdentifier)")
        // Replicas scaled from one definition (docker compose --scale) share their settings:
        // "{hostname}" becomes each one's own name, by which the others' pages reach it.
        let publicURLSetting = "ATTACHE_REALTIME_PUBLIC_URL"
        let ownPublicURL = env.optionalString(publicURLSetting)?.replacingOccurrences(of: "{hostname}", with: host)
        publicURL =
            (try Environment(ownPublicURL.map { [publicURLSetting: $0] } ?? [:]).url(publicURLSetting)?.absoluteString)
            ?? "http://127.0.0.1:\(common.httpPort)"
        (cameraTokenKey, cameraTokenKeyIsEphemeral) = try Self.cameraTokenKey(env, publicURLSet: ownPublicURL != nil)
        speechToText = try env.choice("ATTACHE_STT", default: .pocketsphinx)
        phrases = try Self.phrases(env)
        textToSpeech = try env.choice("ATTACHE_TTS", default: .espeak)
        voice = env.string("ATTACHE_TTS_VOICE", default: "en-us+klatt")
        chat = try env.choice("ATTACHE_LLM", default: .local)
        chatEndpoint = (try env.url("ATTACHE_LLM_BASE_URL")?.absoluteString) ?? "https://api.openai.com/v1"
        chatModel = env.string("ATTACHE_LLM_MODEL", default: "gpt-4o-mini")
        chatAPIKey = Self.secret("ATTACHE_LLM_API_KEY", env)
        deepgramURL =
            (try env.url("ATTACHE_DEEPGRAM_URL", schemes: Self.streamingSchemes)?.absoluteString) ?? "wss://api.deepgram.com"
        deepgramAPIKey = Self.secret("ATTACHE_DEEPGRAM_API_KEY", env)
        elevenLabsURL =
            (try env.url("ATTACHE_ELEVENLABS_URL", schemes: Self.streamingSchemes)?.absoluteString) ?? "wss://api.elevenlabs.io"
        elevenLabsAPIKey = Self.secret("ATTACHE_ELEVENLABS_API_KEY", env)
        // ElevenLabs' "Rachel", a premade voice every account has.
        elevenLabsVoiceID = env.string("ATTACHE_ELEVENLABS_VOICE_ID", default: "21m00Tcm4TlvDq8ikWAM")
        elevenLabsTransport = try env.choice("ATTACHE_ELEVENLABS_TRANSPORT", default: .websocket)
        avatar = try env.choice("ATTACHE_AVATAR", default: .visemes)
        heyGenURL = (try env.url("ATTACHE_HEYGEN_URL")?.absoluteString) ?? "https://api.heygen.com"
        heyGenAPIKey = Self.secret("ATTACHE_HEYGEN_API_KEY", env)
        heyGenAvatarID = Self.secret("ATTACHE_HEYGEN_AVATAR_ID", env)
        heyGenVoiceID = Self.secret("ATTACHE_HEYGEN_VOICE_ID", env)
        var voiceSettings = VoiceConfiguration()
        voiceSettings.agentName = env.string("ATTACHE_AGENT_NAME", default: voiceSettings.agentName)
        voiceSettings.company = env.string("ATTACHE_COMPANY_NAME", default: voiceSettings.company)
        voiceSettings.turns.endpointing = .milliseconds(
            try env.integer("ATTACHE_ENDPOINTING_MS", default: 300, in: 10...5000))
        voiceSettings.turns.utteranceEnd = .milliseconds(
            try env.integer("ATTACHE_UTTERANCE_END_MS", default: 1000, in: 1000...5000))
        voiceSettings.turns.bargeInMinimumSpeech = .milliseconds(
            try env.integer("ATTACHE_BARGE_IN_MIN_MS", default: 60, in: 20...2000))
        voiceSettings.turns.wordlessInterruption = .milliseconds(
            try env.integer("ATTACHE_BARGE_IN_WORDLESS_MS", default: 1500, in: 300...10000))
        self.voiceSettings = voiceSettings
        directoryFolder = URL(fileURLWithPath: env.string("ATTACHE_DIRECTORY_DIR", default: "deploy/config/directory"))
    }

    /// Streaming engines' base URLs: WebSocket ones, or their HTTP forms, which the WebSocket
    /// client takes as well (and ElevenLabs' HTTP transport needs).
    private static let streamingSchemes = ["wss", "ws", "https", "http"]

    private static func cameraTokenKey(_ env: Environment, publicURLSet: Bool) throws(ConfigurationError) -> (
        SymmetricKey, Bool
    ) {
        let setting = "ATTACHE_CAMERA_TOKEN_KEY"
        if let encoded = env.optionalString(setting) {
            guard let key = CameraToken.key(base64: encoded) else {
                throw ConfigurationError(
                    setting: setting, problem: "must be at least \(CameraToken.minimumKeyBytes) random bytes, base64")
            }
            return (key, false)
        }
        guard !publicURLSet else {
            // Reachable from outside: bot-gateway mints the tokens the pages bring, so both
            // must hold the same key.
            throw ConfigurationError(
                setting: setting,
                problem:
                    "is required when ATTACHE_REALTIME_PUBLIC_URL is set (give bot-gateway and every realtime-worker replica the same key: openssl rand -base64 32)"
            )
        }
        return (SymmetricKey(size: .bits256), true)
    }

    private static func secret(_ name: String, _ env: Environment) -> String? {
        env.optionalString(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    private static func phrases(_ env: Environment) throws(ConfigurationError) -> [String] {
        guard let path = env.optionalString("ATTACHE_STT_PHRASES_FILE") else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(setting: "ATTACHE_STT_PHRASES_FILE", problem: "cannot read \(path)")
        }
        let phrases = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !phrases.isEmpty else {
            throw ConfigurationError(setting: "ATTACHE_STT_PHRASES_FILE", problem: "\(path) has no phrases")
        }
        return phrases
    }
}
