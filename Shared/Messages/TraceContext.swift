/// W3C Trace Context (https://www.w3.org/TR/trace-context/): `00-<trace id>-<parent id>-<flags>`.
public struct TraceContext: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var sampled: Bool

    public static func newRoot() -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), sampled: true)
    }

    public init(traceID: String, spanID: String, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    public init?(parsing header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts[1...3].allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
            parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16)
        else { return nil }
        self.init(
            traceID: String(parts[1]), spanID: String(parts[2]), sampled: (UInt8(parts[3], radix: 16) ?? 0) & 1 == 1)
    }

    /// The same trace, one hop further.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Self.randomHex(bytes: 8), sampled: sampled)
    }

    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    /// Eight random bytes at a time, written as hex without a String per byte: a new trace for
    /// every webhook made this a few percent of the gateway's CPU.
    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var hex: [UInt8] = []
        hex.reserveCapacity(bytes * 2)
        while hex.count < bytes * 2 {
            var word: UInt64 = generator.next()
            for _ in 0..<min(8, bytes - hex.count / 2) {
                hex.append(hexDigits[Int(word >> 4 & 0xF)])
                hex.append(hexDigits[Int(word & 0xF)])
                word >>= 8
            }
        }
        return String(decoding: hex, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
