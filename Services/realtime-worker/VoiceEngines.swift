import HTTPClient
import LanguageModel
import Logging
import SpeechEngines
import VoicePipeline

/// Builds each call's voice pipeline from the configured engines.
struct VoiceEngines: Sendable {
    let configuration: RealtimeConfiguration

    /// Checks at start what can be checked once: the offline engines load and the voice exists.
    init(_ configuration: RealtimeConfiguration) throws {
        self.configuration = configuration
        if configuration.textToSpeech == .espeak { _ = try ESpeakSynthesizer(voice: configuration.voice) }
    }

    /// Throws `EngineUnavailable` when a configured cloud engine has no credentials.
    func pipeline(context: MeetingContext, sink: any MediaSink, logger: Logger) throws -> VoicePipeline {
        VoicePipeline(
            configuration: configuration.voiceSettings, context: context, speechToText: try speechToText(logger: logger),
            chatModel: try chatModel(logger: logger), textToSpeech: try textToSpeech(logger: logger), sink: sink,
            logger: logger)
    }

    /// Cloud engines configured without their key, for a warning at start.
    var unavailable: [EngineUnavailable] {
        var missing: [EngineUnavailable] = []
        if configuration.speechToText == .deepgram, configuration.deepgramAPIKey == nil {
            missing.append(EngineUnavailable(engine: "ATTACHE_STT=deepgram", missing: "ATTACHE_DEEPGRAM_API_KEY"))
        }
        if configuration.textToSpeech == .elevenlabs, configuration.elevenLabsAPIKey == nil {
            missing.append(EngineUnavailable(engine: "ATTACHE_TTS=elevenlabs", missing: "ATTACHE_ELEVENLABS_API_KEY"))
        }
        if configuration.chat == .openai, configuration.chatAPIKey == nil {
            missing.append(EngineUnavailable(engine: "ATTACHE_LLM=openai", missing: "ATTACHE_LLM_API_KEY"))
        }
        return missing
    }

    private func key(_ key: String?, engine: String, setting: String) throws(EngineUnavailable) -> String {
        guard let key else { throw EngineUnavailable(engine: engine, missing: setting) }
        return key
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
                apiKey: try key(configuration.deepgramAPIKey, engine: "ATTACHE_STT=deepgram", setting: "ATTACHE_DEEPGRAM_API_KEY"))
            deepgram.baseURL = configuration.deepgramURL
            deepgram.endpointing = turns.endpointing
            deepgram.utteranceEnd = turns.utteranceEnd
            return DeepgramRecognizer(configuration: deepgram, logger: logger)
        }
    }

    private func textToSpeech(logger: Logger) throws -> any TextToSpeech {
        switch configuration.textToSpeech {
        case .espeak:
            return try ESpeakSynthesizer(voice: configuration.voice)
        case .elevenlabs:
            var elevenLabs = ElevenLabsSynthesizer.Configuration(
                apiKey: try key(configuration.elevenLabsAPIKey, engine: "ATTACHE_TTS=elevenlabs", setting: "ATTACHE_ELEVENLABS_API_KEY"),
                voiceID: configuration.elevenLabsVoiceID)
            elevenLabs.baseURL = configuration.elevenLabsURL
            return ElevenLabsSynthesizer(configuration: elevenLabs, logger: logger)
        }
    }

    private func chatModel(logger: Logger) throws -> any ChatModel {
        switch configuration.chat {
        case .local:
            return LocalResponder()
        case .openai:
            let apiKey = try key(configuration.chatAPIKey, engine: "ATTACHE_LLM=openai", setting: "ATTACHE_LLM_API_KEY")
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
