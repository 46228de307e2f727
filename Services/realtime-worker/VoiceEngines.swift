import HTTPClient
import LanguageModel
import Logging
import SpeechEngines
import VoicePipeline

/// Builds each call's voice pipeline from the configured engines.
struct VoiceEngines: Sendable {
    let configuration: RealtimeConfiguration
    /// eSpeak NG is one synthesizer per process: built (and its voice checked) once, at start.
    private let espeak: ESpeakSynthesizer?

    init(_ configuration: RealtimeConfiguration) throws {
        self.configuration = configuration
        espeak = configuration.textToSpeech == .espeak ? try ESpeakSynthesizer(voice: configuration.voice) : nil
    }

    /// Throws `EngineUnavailable` when a configured cloud engine has no credentials.
    func pipeline(context: MeetingContext, company: String, sink: any MediaSink, logger: Logger) throws -> VoicePipeline {
        var settings = configuration.voiceSettings
        settings.company = company
        return VoicePipeline(
            configuration: settings, context: context, speechToText: try speechToText(logger: logger),
            chatModel: try chatModel(logger: logger), textToSpeech: try textToSpeech(logger: logger),
            avatar: try avatar(logger: logger), sink: sink, logger: logger)
    }

    /// A chosen cloud engine and the key it needs.
    private struct CloudKey {
        var engine: String
        var setting: String
        var value: String?
        var chosen: Bool
    }

    private var deepgramKey: CloudKey {
        CloudKey(
            engine: "ATTACHE_STT=deepgram", setting: "ATTACHE_DEEPGRAM_API_KEY", value: configuration.deepgramAPIKey,
            chosen: configuration.speechToText == .deepgram)
    }
    private var elevenLabsKey: CloudKey {
        CloudKey(
            engine: "ATTACHE_TTS=elevenlabs", setting: "ATTACHE_ELEVENLABS_API_KEY", value: configuration.elevenLabsAPIKey,
            chosen: configuration.textToSpeech == .elevenlabs)
    }
    private var chatKey: CloudKey {
        CloudKey(
            engine: "ATTACHE_LLM=openai", setting: "ATTACHE_LLM_API_KEY", value: configuration.chatAPIKey,
            chosen: configuration.chat == .openai)
    }

    private var heyGenKey: CloudKey {
        CloudKey(
            engine: "ATTACHE_AVATAR=heygen", setting: "ATTACHE_HEYGEN_API_KEY", value: configuration.heyGenAPIKey,
            chosen: configuration.avatar == .heygen)
    }

    /// Cloud engines configured without their key, for a warning at start.
    var unavailable: [EngineUnavailable] {
        [deepgramKey, elevenLabsKey, chatKey, heyGenKey].filter { $0.chosen && $0.value == nil }
            .map { EngineUnavailable(engine: $0.engine, missing: $0.setting) }
    }

    private func require(_ key: CloudKey) throws(EngineUnavailable) -> String {
        guard let value = key.value else { throw EngineUnavailable(engine: key.engine, missing: key.setting) }
        return value
    }

    private func speechToText(logger: Logger) throws -> any SpeechToText {
        let turns = configuration.voiceSettings.turns
        switch configuration.speechToText {
        case .pocketsphinx:
            var recognition = PocketSphinxRecognizer.Configuration()
            recognition.phrases = configuration.phrases
            recognition.endpointing = turns.endpointing
            recognition.utteranceEnd = turns.utteranceEnd
            return PocketSphinxRecognizer(configuration: recognition)
        case .deepgram:
            var deepgram = DeepgramRecognizer.Configuration(
                apiKey: try require(deepgramKey))
            deepgram.baseURL = configuration.deepgramURL
            deepgram.endpointing = turns.endpointing
            deepgram.utteranceEnd = turns.utteranceEnd
            return DeepgramRecognizer(configuration: deepgram, logger: logger)
        }
    }

    private func textToSpeech(logger: Logger) throws -> any TextToSpeech {
        switch configuration.textToSpeech {
        case .espeak:
            return try espeak ?? ESpeakSynthesizer(voice: configuration.voice)
        case .elevenlabs:
            var elevenLabs = ElevenLabsSynthesizer.Configuration(
                apiKey: try require(elevenLabsKey),
                voiceID: configuration.elevenLabsVoiceID)
            elevenLabs.baseURL = configuration.elevenLabsURL
            switch configuration.elevenLabsTransport {
            case .websocket: return ElevenLabsSynthesizer(configuration: elevenLabs, logger: logger)
            case .http: return ElevenLabsHTTPSynthesizer(configuration: elevenLabs, logger: logger)
            }
        }
    }

    /// nil for the embedded avatar, which needs nothing opened: the page draws it from the visemes.
    private func avatar(logger: Logger) throws -> (any Avatar)? {
        switch configuration.avatar {
        case .visemes:
            return nil
        case .heygen:
            var heyGen = HeyGenAvatar.Configuration(apiKey: try require(heyGenKey), avatarID: configuration.heyGenAvatarID)
            heyGen.baseURL = configuration.heyGenURL
            heyGen.voiceID = configuration.heyGenVoiceID
            return HeyGenAvatar(configuration: heyGen, logger: logger)
        }
    }

    private func chatModel(logger: Logger) throws -> any ChatModel {
        switch configuration.chat {
        case .local:
            return LocalResponder()
        case .openai:
            let apiKey = try require(chatKey)
            return OpenAIChatModel(
                configuration: .init(baseURL: configuration.chatEndpoint, apiKey: apiKey, model: configuration.chatModel),
                logger: logger)
        }
    }
}

struct EngineUnavailable: Error, CustomStringConvertible {
    var engine: String
    var missing: String
    var description: String { "\(engine) is configured but \(missing) is not set" }
}
