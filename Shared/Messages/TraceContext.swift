import Foundation

/// W3C Trace Context (https://www.w3.org/TR/trace-context/): `00-<trace id>-<parent id>-<flags>`.
public struct TraceContext: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var sampled: Bool

    public static func newRoot() -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8), sampled: true)
    }

    /// The span the current task is in, when traces are exported: set by whatever starts spans
    /// (the event consumer, per handled message). Events created under it name it as their parent,
    /// so that the exported tree stays connected from one service to the next. Nil when tracing is
    /// off, which leaves every event to the rules below at the cost of one task-local read.
    @TaskLocal public static var current: TraceContext?

    /// The trace of the story `correlationID` follows: its id is the correlation id's bytes, so
    /// that every event of one meeting is in one trace whichever service starts it (a webhook, a
    /// review loop) and however it learnt the correlation. The parent is the current span if it
    /// is in that trace, else a new hop.
    public static func story(_ correlationID: UUID) -> TraceContext {
        // W3C forbids the all-zero trace id.
        guard correlationID != zeroID else { return newRoot() }
        let traceID = lowercaseHex(correlationID)
        if let current, current.traceID == traceID { return current }
        return TraceContext(traceID: traceID, spanID: randomHex(bytes: 8), sampled: true)
    }

    /// The context for an event that continues `traceparent`'s trace: the current span if it is in
    /// that trace; under a span of another trace (a batch's), the cause's own context, whose span
    /// is exported; without a span, one hop further. Nil if `traceparent` is unreadable.
    public static func continuing(_ traceparent: String) -> TraceContext? {
        guard let cause = TraceContext(parsing: traceparent) else { return nil }
        guard let current else { return cause.child() }
        return current.traceID == cause.traceID ? current : cause
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
    private static let zeroID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    private static func lowercaseHex(_ id: UUID) -> String {
        let bytes = id.uuid
        return withUnsafeBytes(of: bytes) { raw in
            var hex: [UInt8] = []
            hex.reserveCapacity(32)
            for byte in raw {
                hex.append(hexDigits[Int(byte >> 4)])
                hex.append(hexDigits[Int(byte & 0xF)])
            }
            return String(decoding: hex, as: UTF8.self)
        }
    }
}
