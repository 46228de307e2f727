import Foundation

/// Meeting audio as the pipeline carries it: 16 kHz mono signed 16-bit PCM, in 20 ms frames.
public enum PCM {
    public static let sampleRate = 16_000
    public static let frameDuration = Duration.milliseconds(20)
    public static let samplesPerFrame = sampleRate / 50

    public static func duration(ofSamples count: Int) -> Duration {
        .microseconds(Int64(count) * 1_000_000 / Int64(sampleRate))
    }

    /// Cuts samples into whole frames; the last frame is padded with silence.
    public static func frames(_ samples: [Int16]) -> [AudioFrame] {
        stride(from: 0, to: samples.count, by: samplesPerFrame).map { start in
            var frame = Array(samples[start..<min(start + samplesPerFrame, samples.count)])
            if frame.count < samplesPerFrame { frame += repeatElement(0, count: samplesPerFrame - frame.count) }
            return AudioFrame(frame)
        }
    }
}

/// Paces audio at the rate it plays, as a microphone or a speaker does: each `wait()` returns
/// one frame after the previous one, measured from the start, so that a late wake-up is made
/// up rather than added to every later frame.
public struct FramePacer: Sendable {
    public let clock = ContinuousClock()
    private var deadline: ContinuousClock.Instant

    public init() { deadline = clock.now }

    /// Waits until the next frame is due.
    public mutating func wait() async throws {
        deadline += PCM.frameDuration
        try await clock.sleep(until: deadline)
    }

    /// Starts again from now, after a pause.
    public mutating func restart() { deadline = clock.now }
}

public struct AudioFrame: Sendable, Equatable {
    public var samples: [Int16]
    public init(_ samples: [Int16]) { self.samples = samples }
    public static var silence: AudioFrame { AudioFrame(Array(repeating: 0, count: PCM.samplesPerFrame)) }

    /// The media connection's form of a frame: little-endian 16-bit samples.
    public var littleEndianBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (index, sample) in samples.enumerated() {
            let value = UInt16(bitPattern: sample)
            bytes[index * 2] = UInt8(value & 0xff)
            bytes[index * 2 + 1] = UInt8(value >> 8)
        }
        return bytes
    }

    /// How often the signal changes sign, per sample: low for a voice (its pitch), near one
    /// half for a hiss or the noise of a cough.
    public var zeroCrossingRate: Double {
        guard samples.count > 1 else { return 0 }
        let crossings = zip(samples, samples.dropFirst()).count { ($0 < 0) != ($1 < 0) }
        return Double(crossings) / Double(samples.count - 1)
    }

    /// Root-mean-square level in dBFS (-inf for digital silence).
    public var level: Double {
        guard !samples.isEmpty else { return -.infinity }
        var sum = 0.0
        for sample in samples { sum += Double(sample) * Double(sample) }
        let rms = (sum / Double(samples.count)).squareRoot() / 32768
        return rms > 0 ? 20 * log10(rms) : -.infinity
    }
}

/// Converts a stream of PCM at one rate to another by linear interpolation, carrying its phase
/// across calls so that chunk boundaries leave no clicks. Good enough for speech at these rates;
/// engines that can produce 16 kHz themselves should.
public struct Resampler: Sendable {
    public let inputRate: Int
    public let outputRate: Int
    private var position = 0.0  // in input samples, relative to the next call's first sample
    private var previous: Int16 = 0

    public init(from inputRate: Int, to outputRate: Int) {
        self.inputRate = inputRate
        self.outputRate = outputRate
    }

    public mutating func process(_ input: [Int16]) -> [Int16] {
        guard inputRate != outputRate else { return input }
        guard !input.isEmpty else { return [] }
        let step = Double(inputRate) / Double(outputRate)
        var output: [Int16] = []
        output.reserveCapacity(Int(Double(input.count) / step) + 1)
        // position -1 ..< 0 interpolates between the previous call's last sample and input[0].
        while position < Double(input.count - 1) {
            let index = Int(position.rounded(.down))
            let fraction = position - Double(index)
            let left = index < 0 ? Double(previous) : Double(input[index])
            let right = Double(input[index + 1])
            output.append(Int16(clamping: Int((left + (right - left) * fraction).rounded())))
            position += step
        }
        position -= Double(input.count)
        previous = input[input.count - 1]
        return output
    }
}

/// Cuts little-endian 16-bit PCM arriving in pieces of any length (WebSocket messages) into
/// whole 20 ms frames, keeping the remainder, odd bytes included, for the next piece.
public struct PCMReframer: Sendable {
    private var pending: [Int16] = []
    private var oddByte: UInt8?

    public init() {}

    public mutating func frames(from bytes: some Sequence<UInt8>) -> [AudioFrame] {
        for byte in bytes {
            if let low = oddByte {
                pending.append(Int16(bitPattern: UInt16(low) | UInt16(byte) << 8))
                oddByte = nil
            } else {
                oddByte = byte
            }
        }
        let whole = pending.count / PCM.samplesPerFrame * PCM.samplesPerFrame
        defer { pending.removeFirst(whole) }
        return PCM.frames(Array(pending[..<whole]))
    }
}
