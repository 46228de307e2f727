import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization

/// A local stand-in for Deepgram's live streaming API (`/v1/listen` over a WebSocket), following
/// its documented messages. It cannot understand speech: it hears *voice* by energy (a 20 ms
/// frame whose RMS is above a threshold) and says, for each utterance, the next transcript of
/// a script the test provides.
///
/// Timing is audio time, counted from the samples received, so a test may stream faster than
/// real time: `SpeechStarted` at the first voiced frame; interim Results every
/// `interimInterval` of voice; after `endpointing` ms (from the query) of silence, a final
/// Results with `speech_final: true`, sent `finalLatency` later in wall-clock time (the
/// stand-in for Deepgram's processing); `UtteranceEnd` once `utterance_end_ms` of silence
/// followed the last word. `KeepAlive` and audio reset the idle timer; when it runs out the
/// fake closes with 1011 (NET-0001), as Deepgram does after about 10 s.
public final class FakeDeepgram: Sendable {
    public struct Configuration: Sendable {
        public var apiKey = "fake-deepgram-key"
        /// RMS, in sample units, above which a frame counts as voice.
        public var voiceThreshold = 500.0
        /// Between the end of the endpointing silence and the final result.
        public var finalLatency: Duration = .zero
        public var interimInterval: Duration = .milliseconds(200)
        public var idleTimeout: Duration = .seconds(10)
        public init() {}
    }

    /// How one connection went.
    public struct Session: Sendable {
        public var query: [String: String]
        public var keepAlives = 0
        public var closeStreamReceived = false
        public var finalizeReceived = false
        /// The close code the fake sent, if it closed first.
        public var closeCode: Int?
    }

    public let configuration: Configuration
    public let sessions = SessionLog<Session>()
    /// KeepAlive messages heard so far, on every connection, open or ended.
    public var keepAlivesHeard: Int { keepAlives.value }
    private let keepAlives = Counter()
    private let script: Script
    private let server: FakeWebSocketServer

    public init(configuration: Configuration = Configuration(), transcripts: [String] = []) async {
        self.configuration = configuration
        let script = Script(transcripts)
        self.script = script
        let sessions = sessions
        let keepAlives = keepAlives
        let router = Router()
        // A plain request (no upgrade) gets the status Deepgram gives its credentials.
        router.get("/v1/listen") { request, _ -> Response in
            guard request.headers[.authorization] == "Token \(configuration.apiKey)" else {
                return Self.jsonResponse(.unauthorized, #"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."}"#)
            }
            return Self.jsonResponse(.upgradeRequired, #"{"err_code":"UPGRADE_REQUIRED","err_msg":"Use a WebSocket."}"#)
        }
        self.server = await FakeWebSocketServer(router: router) { request in
            guard request.headerFields[.authorization] == "Token \(configuration.apiKey)" else { return .dontUpgrade }
            let query = FakeWebSocketServer.query(of: request)
            guard query["encoding"] == "linear16", query["sample_rate"] == "16000" else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                let listener = Listener(configuration: configuration, script: script, query: query)
                sessions.record(
                    try await Self.converse(
                        listener, inbound: inbound, outbound: outbound, configuration: configuration, keepAlives: keepAlives))
            }
        }
    }

    public var baseURL: String { server.baseURL }

    /// Adds transcripts to say, one per utterance, in order. With none left, finals are empty.
    public func say(_ transcripts: [String]) {
        script.append(transcripts)
    }

    public func stop() { server.stop() }

    /// The transcripts still to say, shared by the connections.
    private final class Script: Sendable {
        private let queue: Mutex<[String]>
        init(_ transcripts: [String]) { queue = Mutex(transcripts) }
        func append(_ transcripts: [String]) { queue.withLock { $0 += transcripts } }
        func next() -> String { queue.withLock { $0.isEmpty ? "" : $0.removeFirst() } }
        func peek() -> String { queue.withLock { $0.first ?? "" } }
    }

    private static func jsonResponse(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private static func converse(
        _ listener: Listener, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, configuration: Configuration,
        keepAlives: Counter
    ) async throws -> Session {
        var listener = listener
        let outgoing = OutgoingQueue()
        let lastHeard = LastHeard()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await outgoing.run(outbound) }
            group.addTask { [idleTimeout = configuration.idleTimeout] in
                while !Task.isCancelled {
                    let due = lastHeard.instant + idleTimeout
                    if ContinuousClock.now >= due {
                        outgoing.close(
                            1011,
                            "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001"
                        )
                        return
                    }
                    try? await Task.sleep(until: due)
                }
            }
            for try await message in inbound.messages(maxSize: 1 << 24) {
                lastHeard.touch()
                switch message {
                case let .binary(buffer):
                    guard buffer.readableBytes % 2 == 0 else {
                        outgoing.close(1008, "DATA-0000: The payload cannot be decoded as audio.")
                        continue
                    }
                    listener.hear(Self.samples(buffer), outgoing: outgoing)
                case let .text(json):
                    switch Self.controlType(json) {
                    case "KeepAlive":
                        listener.session.keepAlives += 1
                        keepAlives.increment()
                    case "Finalize":
                        listener.session.finalizeReceived = true
                        listener.finishUtterance(speechFinal: false, fromFinalize: true, outgoing: outgoing)
                    case "CloseStream":
                        listener.session.closeStreamReceived = true
                        // The stream ended, not the speech: no endpoint was seen.
                        listener.finishUtterance(speechFinal: false, fromFinalize: false, outgoing: outgoing)
                        outgoing.send(listener.metadata())
                        outgoing.close(1000, "")
                    default: break
                    }
                }
            }
            group.cancelAll()
        }
        listener.session.closeCode = outgoing.closeCode
        return listener.session
    }

    static func samples(_ buffer: ByteBuffer) -> [Int16] {
        var buffer = buffer
        var samples: [Int16] = []
        samples.reserveCapacity(buffer.readableBytes / 2)
        while let sample = buffer.readInteger(endianness: .little, as: Int16.self) { samples.append(sample) }
        return samples
    }

    private static func controlType(_ json: String) -> String? {
        struct Control: Decodable { var type: String }
        return try? JSONDecoder().decode(Control.self, from: Data(json.utf8)).type
    }

    /// One connection's speech detection, in audio time (samples received).
    private struct Listener: Sendable {
        let configuration: Configuration
        let script: Script
        var session: Session
        let endpointing: Int
        let utteranceEnd: Int?
        let interimInterval: Int
        var received = 0
        var speechStart: Int?
        var lastVoice = 0
        var lastInterim = 0
        var awaitingUtteranceEnd = false
        var segmentStart = 0

        init(configuration: Configuration, script: Script, query: [String: String]) {
            self.configuration = configuration
            self.script = script
            session = Session(query: query)
            // Deepgram's own defaults: 10 ms endpointing, and no UtteranceEnd unless asked for.
            endpointing = (query["endpointing"].flatMap(Int.init) ?? 10) * 16
            utteranceEnd = query["utterance_end_ms"].flatMap(Int.init).map { $0 * 16 }
            interimInterval = Self.samples(in: configuration.interimInterval)
        }

        static func samples(in duration: Duration) -> Int {
            Int(duration.components.seconds) * 16_000 + Int(duration.components.attoseconds / 62_500_000_000_000)
        }

        mutating func hear(_ samples: [Int16], outgoing: OutgoingQueue) {
            let start = received
            received += samples.count
            var sum = 0.0
            for sample in samples { sum += Double(sample) * Double(sample) }
            let isVoice = !samples.isEmpty && (sum / Double(samples.count)).squareRoot() > configuration.voiceThreshold
            if isVoice {
                lastVoice = received
                awaitingUtteranceEnd = false
                if speechStart == nil {
                    speechStart = start
                    lastInterim = start
                    outgoing.send(#"{"type":"SpeechStarted","channel":[0,1],"timestamp":\#(seconds(start))}"#)
                } else if received - lastInterim >= interimInterval {
                    lastInterim = received
                    interim(outgoing: outgoing)
                }
            } else if speechStart != nil, received - lastVoice >= endpointing {
                finishUtterance(speechFinal: true, fromFinalize: false, outgoing: outgoing)
            } else if awaitingUtteranceEnd, let utteranceEnd, received - lastVoice >= utteranceEnd {
                awaitingUtteranceEnd = false
                outgoing.send(#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":\#(seconds(lastVoice))}"#)
            }
        }

        /// The script's next transcript as far as the voice so far goes: a word per interim.
        private func interim(outgoing: OutgoingQueue) {
            let words = script.peek().split(separator: " ")
            guard !words.isEmpty, let speechStart else { return }
            let heard = min(words.count, max(1, (received - speechStart) / max(interimInterval, 1)))
            outgoing.send(
                results(words.prefix(heard).joined(separator: " "), isFinal: false, speechFinal: false, fromFinalize: false))
        }

        /// The final of the current utterance, if there is one (an empty one when only
        /// `speechFinal` has something to say).
        mutating func finishUtterance(speechFinal: Bool, fromFinalize: Bool, outgoing: OutgoingQueue) {
            guard speechStart != nil else { return }
            speechStart = nil
            awaitingUtteranceEnd = utteranceEnd != nil
            outgoing.send(
                results(script.next(), isFinal: true, speechFinal: speechFinal, fromFinalize: fromFinalize),
                after: configuration.finalLatency)
            segmentStart = received
        }

        private func results(_ transcript: String, isFinal: Bool, speechFinal: Bool, fromFinalize: Bool) -> String {
            let escaped = String(decoding: (try? JSONEncoder().encode(transcript)) ?? Data(#""""#.utf8), as: UTF8.self)
            return #"{"type":"Results","channel_index":[0,1],"duration":\#(seconds(received - segmentStart)),"#
                + #""start":\#(seconds(segmentStart)),"is_final":\#(isFinal),"speech_final":\#(speechFinal),"#
                + #""from_finalize":\#(fromFinalize),"channel":{"alternatives":[{"transcript":\#(escaped),"#
                + #""confidence":0.99,"words":[]}]},"metadata":{"request_id":"fake"}}"#
        }

        func metadata() -> String {
            #"{"type":"Metadata","request_id":"fake","duration":\#(seconds(received)),"channels":1}"#
        }

        private func seconds(_ samples: Int) -> Double { Double(samples) / 16_000 }
    }
}

/// The fake's messages go out in order through one writer, so that a final held back by the
/// injected latency is not overtaken by what follows it.
private final class OutgoingQueue: Sendable {
    private enum Item {
        case text(String, notBefore: ContinuousClock.Instant)
        case close(Int, String)
    }

    private let items: AsyncStream<Item>
    private let input: AsyncStream<Item>.Continuation
    private let sentClose = Mutex<Int?>(nil)

    init() {
        (items, input) = AsyncStream.makeStream()
    }

    var closeCode: Int? { sentClose.withLock { $0 } }

    func send(_ text: String, after delay: Duration = .zero) {
        input.yield(.text(text, notBefore: .now + delay))
    }

    func close(_ code: Int, _ reason: String) {
        input.yield(.close(code, reason))
        input.finish()
    }

    func run(_ outbound: WebSocketOutboundWriter) async {
        for await item in items {
            switch item {
            case let .text(text, notBefore):
                try? await Task.sleep(until: notBefore)
                try? await outbound.write(.text(text))
            case let .close(code, reason):
                sentClose.withLock { $0 = $0 ?? code }
                try? await outbound.close(WebSocketErrorCode(codeNumber: code), reason: reason.isEmpty ? nil : reason)
                return
            }
        }
    }
}

/// When the fake last heard from the client, for its idle timeout.
private final class LastHeard: Sendable {
    private let value = Mutex(ContinuousClock.now)
    var instant: ContinuousClock.Instant { value.withLock { $0 } }
    func touch() { value.withLock { $0 = .now } }
}
