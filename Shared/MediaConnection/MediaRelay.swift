import Foundation
import Synchronization
import VoicePipeline

/// A call's outgoing media, handed to whichever camera webpage is connected to it. The
/// pipeline never waits on the network: media queue here and the connection writes them.
/// Media sent while no page is connected are not kept, as a live call's sound is worthless
/// later; only the avatar's room is, since a page that connects later must still show it.
public final class MediaRelay: MediaSink {
    private struct Connection {
        var id: UUID
        var output: AsyncStream<MediaOut>.Continuation
    }

    private struct State {
        var connection: Connection?
        var avatarRoom: AvatarRoom?
    }

    private let state = Mutex(State())

    public init() {}

    public func send(_ media: MediaOut) async {
        state.withLock { state in
            if case let .avatarRoom(room) = media { state.avatarRoom = room }
            state.connection?.output.yield(media)
        }
    }

    /// A new page takes over from any earlier one (a reload, a reconnect): the earlier one's
    /// stream ends.
    public func connect() -> (id: UUID, media: AsyncStream<MediaOut>) {
        // 10 s of audio frames: enough to ride out a slow write, bounded if the page stalls.
        let (stream, output) = AsyncStream<MediaOut>.makeStream(bufferingPolicy: .bufferingNewest(500))
        let id = UUID()
        state.withLock { state in
            state.connection?.output.finish()
            state.connection = Connection(id: id, output: output)
            if let room = state.avatarRoom { output.yield(.avatarRoom(room)) }
        }
        return (id, stream)
    }

    /// Ends connection `id`, or whichever is current when `id` is nil.
    public func disconnect(_ id: UUID? = nil) {
        state.withLock { state in
            guard let active = state.connection, id == nil || active.id == id else { return }
            active.output.finish()
            state.connection = nil
        }
    }
}

/// The media connection's wire format: meeting audio in and agent audio out as binary
/// messages of 16 kHz mono little-endian 16-bit PCM (`AudioFrame.littleEndianBytes`,
/// `PCMReframer`); avatar cues, and the cloud avatar's room (LiveKit URL and viewer token), as
/// JSON text messages.
public enum MediaWire {
    /// Who the page shows: sent first on each connection, as the call's tenant decides it.
    public static func identity(agent: String, company: String) -> String {
        let data = try? JSONSerialization.data(
            withJSONObject: ["type": "agent", "name": agent, "company": company], options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    public static func json(_ media: MediaOut) -> String? {
        let object: [String: Any]
        switch media {
        case .audio: return nil
        case let .visemes(cues):
            object = ["type": "visemes", "cues": cues.map { ["viseme": $0.viseme, "at_ms": $0.offsetMilliseconds] }]
        case let .reaction(reaction): object = ["type": "reaction", "reaction": reaction.rawValue]
        case .clear: object = ["type": "clear"]
        case let .avatarRoom(room): object = ["type": "avatar_room", "url": room.url, "token": room.accessToken]
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
