import CESpeak
import Dispatch
import Foundation
import VoicePipeline

/// eSpeak NG, the embedded text-to-speech engine: offline, a sentence in a few milliseconds,
/// with the word and phoneme timings that drive barge-in bookkeeping and the avatar's lips.
public struct ESpeakSynthesizer: TextToSpeech {
    public let name = "espeak-ng"
    public let voice: String
    public let wordsPerMinute: Int

    public init(voice: String = "en-us+klatt", wordsPerMinute: Int = 175) throws {
        self.voice = voice
        self.wordsPerMinute = wordsPerMinute
        try ESpeakEngine.shared.check(voice: voice)
    }

    public func synthesize(_ text: String) -> AsyncThrowingStream<SpeechChunk, any Error> {
        let (stream, continuation) = AsyncThrowingStream<SpeechChunk, any Error>.makeStream()
        ESpeakEngine.shared.synthesize(text, voice: voice, wordsPerMinute: wordsPerMinute) { result in
            switch result {
            case let .success(chunk):
                continuation.yield(chunk)
                continuation.finish()
            case let .failure(error):
                continuation.finish(throwing: error)
            }
        }
        return stream
    }
}

public struct ESpeakError: Error, CustomStringConvertible {
    public var description: String
}

/// eSpeak NG keeps one synthesizer per process, with global settings and a global callback:
/// every call goes through this one serial queue.
final class ESpeakEngine: Sendable {
    static let shared = ESpeakEngine()

    private let queue = DispatchQueue(label: "attache.espeak")
    /// eSpeak's own output rate, known once initialised (0 if it failed).
    private let sampleRate: Int32

    private init() {
        sampleRate = queue.sync {
            let rate = espeak_Initialize(
                AUDIO_OUTPUT_SYNCHRONOUS, 0, nil,
                Int32(espeakINITIALIZE_PHONEME_EVENTS) | Int32(espeakINITIALIZE_DONT_EXIT))
            espeak_SetSynthCallback(collectSynthesis)
            return rate
        }
    }

    func check(voice: String) throws {
        guard sampleRate > 0 else {
            throw ESpeakError(description: "eSpeak NG did not start (is the espeak-ng-data package installed?)")
        }
        let found = queue.sync { espeak_SetVoiceByName(voice) == EE_OK }
        guard found else { throw ESpeakError(description: "eSpeak NG has no voice named \(voice)") }
    }

    func synthesize(
        _ text: String, voice: String, wordsPerMinute: Int,
        completion: @escaping @Sendable (Result<SpeechChunk, ESpeakError>) -> Void
    ) {
        let rate = Int(sampleRate)
        queue.async {
            let collected = CollectedSynthesis()
            espeak_SetVoiceByName(voice)
            espeak_SetParameter(espeakRATE, Int32(wordsPerMinute), 0)
            let status = withExtendedLifetime(collected) {
                text.withCString { pointer in
                    espeak_Synth(
                        pointer, strlen(pointer) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil,
                        Unmanaged.passUnretained(collected).toOpaque())
                }
            }
            guard status == EE_OK else {
                completion(.failure(ESpeakError(description: "eSpeak NG could not synthesise (status \(status.rawValue))")))
                return
            }
            completion(.success(collected.chunk(for: text, sampleRate: rate)))
        }
    }
}

/// What one synthesis produced, gathered by the C callback. Only ever touched on eSpeak's queue.
private final class CollectedSynthesis {
    var samples: [Int16] = []
    var words: [(characterOffset: Int, milliseconds: Int)] = []
    var phonemes: [(symbol: String, milliseconds: Int)] = []

    func chunk(for text: String, sampleRate: Int) -> SpeechChunk {
        var resampler = Resampler(from: sampleRate, to: PCM.sampleRate)
        let samplesPerMillisecond = PCM.sampleRate / 1000
        // eSpeak reports words by character position; the text's own words keep their punctuation.
        // eSpeak reports no event for some words ("not" in "do not"): such a word is taken to
        // start with the word before it, so that what the room heard never loses a word.
        let tokens = Self.tokens(of: text)
        var starts = [Int?](repeating: nil, count: tokens.count)
        for word in words {
            guard let index = tokens.lastIndex(where: { $0.start <= word.characterOffset }), starts[index] == nil else {
                continue
            }
            starts[index] = word.milliseconds * samplesPerMillisecond
        }
        var spoken: [SpokenWord] = []
        var previous = 0
        for (token, start) in zip(tokens, starts) {
            previous = max(previous, start ?? previous)
            spoken.append(SpokenWord(text: token.text, sampleOffset: previous))
        }
        return SpeechChunk(
            samples: resampler.process(samples), words: spoken,
            phonemes: phonemes.map { SpokenPhoneme(symbol: $0.symbol, sampleOffset: $0.milliseconds * samplesPerMillisecond) })
    }

    static func tokens(of text: String) -> [(start: Int, text: String)] {
        var tokens: [(Int, String)] = []
        var current = ""
        var start = 0
        for (offset, character) in text.enumerated() {
            if character.isWhitespace {
                if !current.isEmpty { tokens.append((start, current)) }
                current = ""
            } else {
                if current.isEmpty { start = offset }
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append((start, current)) }
        return tokens
    }
}

/// eSpeak's synthesis callback: a C function pointer, so it captures nothing and finds its
/// collector through the user data given to espeak_Synth.
private func collectSynthesis(
    _ wave: UnsafeMutablePointer<Int16>?, _ count: Int32, _ events: UnsafeMutablePointer<espeak_EVENT>?
) -> Int32 {
    guard let events, let userData = events.pointee.user_data else { return 0 }
    let collected = Unmanaged<CollectedSynthesis>.fromOpaque(userData).takeUnretainedValue()
    if let wave, count > 0 { collected.samples.append(contentsOf: UnsafeBufferPointer(start: wave, count: Int(count))) }
    var event = events
    while event.pointee.type != espeakEVENT_LIST_TERMINATED {
        switch event.pointee.type {
        case espeakEVENT_WORD:
            collected.words.append((Int(event.pointee.text_position) - 1, Int(event.pointee.audio_position)))
        case espeakEVENT_PHONEME:
            var name = [CChar](repeating: 0, count: 9)
            attache_espeak_phoneme_name(event, &name)
            collected.phonemes.append(
                (
                    String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    Int(event.pointee.audio_position)
                ))
        default:
            break
        }
        event += 1
    }
    return 0
}
