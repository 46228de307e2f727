import Foundation
import Synchronization
import VoicePipeline

/// A call's outgoing media, handed to whichever camera webpage is connected to it. The
/// pipeline never waits on the network: media queue here and the connection writes them.
/// Media sent while no page is connected are not kept, as a live call's sound is worthless later.
final class MediaRelay: MediaSink {
    private struct Connection {
        var id: UUID
        var output: AsyncStream<MediaOut>.Continuation
    }

    private let connection = Mutex<Connection?>(nil)

    func send(_ media: MediaOut) async {
        _ = connection.withLock { $0?.output.yield(media) }
    }

    /// A new page takes over from any earlier one (a reload, a reconnect): the earlier one's
    /// stream ends.
    func connect() -> (id: UUID, media: AsyncStream<MediaOut>) {
        // 10 s of audio frames: enough to ride out a slow write, bounded if the page stalls.
        let (stream, output) = AsyncStream<MediaOut>.makeStream(bufferingPolicy: .bufferingNewest(500))
        let id = UUID()
        connection.withLock { current in
            current?.output.finish()
            current = Connection(id: id, output: output)
        }
        return (id, stream)
    }

    /// Ends connection `id`, or whichever is current when `id` is nil.
    func disconnect(_ id: UUID? = nil) {
        connection.withLock { current in
            guard let active = current, id == nil || active.id == id else { return }
            active.output.finish()
            current = nil
        }
    }
}

/// The media connection's wire format: meeting audio in and agent audio out as binary
/// messages of 16 kHz mono little-endian 16-bit PCM (`AudioFrame.littleEndianBytes`,
/// `PCMReframer`); avatar cues as JSON text messages.
enum MediaWire {
    static func json(_ media: MediaOut) -> String? {
        let object: [String: Any]
        switch media {
        case .audio: return nil
        case let .visemes(cues):
            object = ["type": "visemes", "cues": cues.map { ["viseme": $0.viseme, "at_ms": $0.offsetMilliseconds] }]
        case let .reaction(reaction): object = ["type": "reaction", "reaction": reaction.rawValue]
        case .clear: object = ["type": "clear"]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
