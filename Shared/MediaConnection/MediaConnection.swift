import Hummingbird
import HummingbirdWebSocket
import VoicePipeline

/// A camera webpage's media connection to its call, once admitted: who the page shows, then
/// the agent's voice and cues out and the meeting's audio in, until either side ends.
/// realtime-worker serves it behind its camera-token gate; `scripts/bench conversation` serves
/// it the same way to a client that plays the page's part.
public enum MediaConnection {
    /// The largest message a page may send: a page sends audio in pieces of a few frames.
    public static let largestMessage = 1 << 16

    public static func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, identity: String, relay: MediaRelay,
        pipeline: VoicePipeline
    ) async throws {
        try await outbound.write(.text(identity))
        // A newer page with the token takes over from this one (a reload of the camera).
        let (connection, outgoing) = relay.connect()
        defer { relay.disconnect(connection) }
        // The room can hear the agent from now on.
        await pipeline.greet()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await media in outgoing {
                    if case let .audio(frame) = media {
                        try await outbound.write(.binary(ByteBuffer(bytes: frame.littleEndianBytes)))
                    } else if let text = MediaWire.json(media) {
                        try await outbound.write(.text(text))
                    }
                }
            }
            group.addTask {
                var reframer = PCMReframer()
                for try await message in inbound.messages(maxSize: largestMessage) {
                    guard case let .binary(buffer) = message else { continue }
                    for frame in reframer.frames(from: buffer.readableBytesView) { await pipeline.receive(frame) }
                }
            }
            // Either side ending (the page left, or a newer page took over) ends both.
            try await group.next()
            group.cancelAll()
        }
    }
}
