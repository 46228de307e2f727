import Foundation
import SpeechEngines

/// A WAV file (16 kHz mono 16-bit) of eSpeak NG saying a phrase between stretches of silence:
/// a fake microphone for a browser (`--use-file-for-fake-audio-capture`), which loops it.
public enum SpokenWAV {
    public static func write(
        _ phrase: String, to url: URL, silenceBefore: Duration, silenceAfter: Duration, voice: String = "en-us+klatt"
    ) async throws {
        let rate = 16000
        var samples: [Int16] = []
        for try await chunk in try ESpeakSynthesizer(voice: voice, wordsPerMinute: 160).synthesize(phrase) {
            samples += chunk.samples
        }
        func silence(_ duration: Duration) -> [Int16] {
            Array(
                repeating: 0,
                count: Int(duration.components.seconds) * rate + Int(duration.components.attoseconds / 1_000_000_000_000_000)
                    * rate / 1000)
        }
        let pcm = silence(silenceBefore) + samples + silence(silenceAfter)
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        let bytes = UInt32(pcm.count * 2)
        data.append(contentsOf: Array("RIFF".utf8))
        append(36 + bytes)
        data.append(contentsOf: Array("WAVEfmt ".utf8))
        append(UInt32(16))
        append(UInt16(1))
        append(UInt16(1))
        append(UInt32(rate))
        append(UInt32(rate * 2))
        append(UInt16(2))
        append(UInt16(16))
        data.append(contentsOf: Array("data".utf8))
        append(bytes)
        for sample in pcm { append(sample) }
        try data.write(to: url)
    }
}
