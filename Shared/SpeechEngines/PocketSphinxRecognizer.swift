import CPocketSphinx
import Dispatch
import Foundation
import VoicePipeline

/// PocketSphinx, the embedded speech-to-text engine: offline and fast. With its generic
/// language model it mishears most of what it is told; given the phrases a meeting will use
/// (a JSGF phrase grammar), it is exact. It reports Deepgram's events: utterances close after
/// `endpointing` of silence (from PocketSphinx's own voice detection) and an utterance end
/// follows `utteranceEnd` without words.
public struct PocketSphinxRecognizer: SpeechToText {
    public struct Configuration: Sendable {
        public var modelDirectory = "/usr/share/pocketsphinx/model/en-us"
        /// What participants may say. Empty: the generic language model.
        public var phrases: [String] = []
        public var endpointing: Duration = .milliseconds(300)
        public var utteranceEnd: Duration = .milliseconds(1000)
        /// How often the words so far are reported while someone speaks: the pipeline judges
        /// speech over the agent by them, so sooner is a quicker verdict.
        public var interimInterval: Duration = .milliseconds(100)
        public init() {}
    }

    public let name = "pocketsphinx"
    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func openStream() async throws -> any TranscriptionStream {
        let configuration = configuration
        return try await withCheckedThrowingContinuation { continuation in
            // Loading the acoustic model takes a while and blocks: not on the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(with: Result { try PocketSphinxStream(configuration) })
            }
        }
    }

    /// The JSGF grammar accepting exactly one of `phrases` per utterance, or none: a sound
    /// that is no phrase (a cough, a noise) is heard as nothing rather than as the nearest one.
    static func grammar(for phrases: [String]) -> String {
        let alternatives = phrases.map(normalised).filter { !$0.isEmpty } + ["<NULL>"]
        return "#JSGF V1.0;\ngrammar attache;\npublic <utterance> = " + alternatives.joined(separator: " | ") + ";\n"
    }

    static func normalised(_ phrase: String) -> String {
        phrase.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }).joined(separator: " ")
    }
}

public struct PocketSphinxError: Error, CustomStringConvertible {
    public var description: String
}

/// One decoder, which PocketSphinx does not let two threads touch: every use is on `queue`,
/// which is what makes the unchecked Sendable conformance safe.
final class PocketSphinxStream: TranscriptionStream, @unchecked Sendable {
    let events: AsyncThrowingStream<TranscriptEvent, any Error>
    private let output: AsyncThrowingStream<TranscriptEvent, any Error>.Continuation
    private let queue = DispatchQueue(label: "attache.pocketsphinx")
    private let endpointing: Duration
    private let utteranceEnd: Duration
    private let interimInterval: Duration
    private var decoder: OpaquePointer?
    private var config: OpaquePointer?
    private var streamTime: Duration = .zero
    private var wasInSpeech = false
    private var sinceInterim: Duration = .zero
    private var lastInterim = ""
    private var lastWordsAt: Duration?
    private var isClosed = false

    init(_ configuration: PocketSphinxRecognizer.Configuration) throws {
        endpointing = configuration.endpointing
        utteranceEnd = configuration.utteranceEnd
        interimInterval = configuration.interimInterval
        (events, output) = AsyncThrowingStream.makeStream()
        let model = configuration.modelDirectory
        // PocketSphinx's voice detection counts 10 ms frames of trailing silence.
        let trailingFrames =
            Int(configuration.endpointing.components.seconds * 100)
            + Int(configuration.endpointing.components.attoseconds / 10_000_000_000_000_000)
        var arguments = [
            "-hmm", "\(model)/en-us", "-dict", "\(model)/cmudict-en-us.dict", "-logfn", "/dev/null",
            "-vad_postspeech", "\(max(trailingFrames, 5))",
        ]
        if configuration.phrases.isEmpty { arguments += ["-lm", "\(model)/en-us.lm.bin"] }
        var cStrings = arguments.map { strdup($0) }
        defer { for string in cStrings { free(string) } }
        guard let config = attache_ps_config(Int32(cStrings.count), &cStrings) else {
            throw PocketSphinxError(description: "PocketSphinx rejected its configuration (model folder \(model))")
        }
        self.config = config
        guard let decoder = ps_init(config) else {
            cmd_ln_free_r(config)
            throw PocketSphinxError(
                description: "PocketSphinx could not load its model from \(model) (is pocketsphinx-en-us installed?)")
        }
        self.decoder = decoder
        if !configuration.phrases.isEmpty {
            for word in Set(configuration.phrases.flatMap { PocketSphinxRecognizer.normalised($0).split(separator: " ") })
            where ps_lookup_word(decoder, String(word)) == nil {
                release()
                throw PocketSphinxError(
                    description: "PocketSphinx's dictionary has no word \"\(word)\" (used in the phrase list)")
            }
            let grammar = PocketSphinxRecognizer.grammar(for: configuration.phrases)
            guard ps_set_jsgf_string(decoder, "phrases", grammar) == 0, ps_set_search(decoder, "phrases") == 0 else {
                release()
                throw PocketSphinxError(description: "PocketSphinx rejected the phrase grammar")
            }
        }
        ps_start_utt(decoder)
    }

    deinit { release() }

    func send(_ frame: AudioFrame) async throws {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async {
                self.process(frame)
                done.resume()
            }
        }
    }

    func close() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async {
                if !self.isClosed {
                    self.isClosed = true
                    if self.wasInSpeech { self.closeUtterance() }
                    self.output.finish()
                    self.release()
                }
                done.resume()
            }
        }
    }

    private func process(_ frame: AudioFrame) {
        guard !isClosed, let decoder else { return }
        frame.samples.withUnsafeBufferPointer { samples in
            _ = ps_process_raw(decoder, samples.baseAddress, samples.count, 0, 0)
        }
        let length = PCM.duration(ofSamples: frame.samples.count)
        streamTime += length
        let inSpeech = ps_get_in_speech(decoder) != 0
        defer { wasInSpeech = inSpeech }
        if inSpeech, !wasInSpeech {
            output.yield(.speechStarted)
            sinceInterim = .zero
            lastWordsAt = nil
        }
        if inSpeech {
            sinceInterim += length
            if sinceInterim >= interimInterval {
                sinceInterim = .zero
                let partial = hypothesis()
                if !partial.isEmpty, partial != lastInterim {
                    lastInterim = partial
                    output.yield(.interim(partial))
                }
            }
        } else if wasInSpeech {
            closeUtterance()
            ps_start_utt(decoder)
        } else if let last = lastWordsAt, streamTime - last >= utteranceEnd {
            lastWordsAt = nil
            output.yield(.utteranceEnd)
        }
    }

    private func closeUtterance() {
        guard let decoder else { return }
        ps_end_utt(decoder)
        let text = hypothesis()
        lastInterim = ""
        if !text.isEmpty {
            output.yield(.final(text, endOfSpeech: true))
            // Words ended when the trailing silence began.
            lastWordsAt = streamTime - endpointing
        }
    }

    private func hypothesis() -> String {
        guard let decoder, let text = ps_get_hyp(decoder, nil) else { return "" }
        return String(cString: text)
    }

    private func release() {
        if let decoder { ps_free(decoder) }
        if let config { cmd_ln_free_r(config) }
        decoder = nil
        config = nil
    }
}
