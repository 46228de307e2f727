import HTTPClient
import LanguageModel
import Logging
import SpeechEngines
import VoicePipeline

/// Builds each call's voice pipeline from the configured engines.
struct VoiceEngines: Sendable {
    let configuration: RealtimeConfiguration
    let textToSpeech: any TextToSpeech

    /// Checks at start what can be checked once: the speech engines load and the voice exists.
    init(_ configuration: RealtimeConfiguration) throws {
        self.configuration = configuration
        switch configuration.textToSpeech {
        case .espeak: textToSpeech = try ESpeakSynthesizer(voice: configuration.voice)
        }
    }

    /// Throws `EngineUnavailable` when a configured cloud engine has no credentials.
    func pipeline(context: MeetingContext, sink: any MediaSink, logger: Logger) throws -> VoicePipeline {
        VoicePipeline(
            configuration: configuration.voiceSettings, context: context, speechToText: speechToText(),
            chatModel: try chatModel(logger: logger), textToSpeech: textToSpeech, sink: sink, logger: logger)
    }

    /// Engines configured without what they need, for a warning at start.
    var unavailable: [EngineUnavailable] {
        configuration.chat == .openai && configuration.chatAPIKey == nil
            ? [EngineUnavailable(engine: "ATTACHE_LLM=openai", missing: "ATTACHE_LLM_API_KEY")] : []
    }

    private func speechToText() -> any SpeechToText {
        switch configuration.speechToText {
        case .pocketsphinx:
            var recognition = PocketSphinxRecognizer.Configuration()
            recognition.phrases = configuration.phrases
            recognition.endpointing = configuration.voiceSettings.turns.endpointing
            recognition.utteranceEnd = configuration.voiceSettings.turns.utteranceEnd
            return PocketSphinxRecognizer(configuration: recognition)
        }
    }

    private func chatModel(logger: Logger) throws(EngineUnavailable) -> any ChatModel {
        switch configuration.chat {
        case .local:
            return LocalResponder()
        case .openai:
            guard let key = configuration.chatAPIKey else {
                throw EngineUnavailable(engine: "ATTACHE_LLM=openai", missing: "ATTACHE_LLM_API_KEY")
            }
            return OpenAIChatModel(
                configuration: .init(baseURL: configuration.chatEndpoint, apiKey: key, model: configuration.chatModel),
                logger: logger)
        }
    }
}

struct EngineUnavailable: Error, CustomStringConvertible {
    var engine: String
    var missing: String
    var description: String { "\(engine) is configured but \(missing) is not set" }
}
