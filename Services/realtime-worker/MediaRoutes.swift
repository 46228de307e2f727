import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Store
import VoicePipeline

/// The camera webpage and its media connection. The bot's camera loads
/// `/camera/{meeting}` from any replica; the page asks `/media/{meeting}/owner` where the
/// call lives and opens its WebSocket there: meeting audio in, the agent's voice and the
/// avatar's cues out (see `MediaWire`).
struct MediaRoutes: Sendable {
    let calls: LiveCalls
    let pool: PostgresPool
    let logger: Logger
    static let largestMessage = 1 << 16

    func register(on router: Router<BasicRequestContext>) {
        router.get("/camera/{meeting}") { _, context -> Response in
            _ = try context.parameters.require("meeting", as: UUID.self)
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: CameraPage.html)))
        }
        router.get("/media/{meeting}/owner") { _, context -> Response in
            let meetingID = try context.parameters.require("meeting", as: UUID.self)
            guard
                let owner = try await pool.withConnection({ db in
                    try db.queryOne(
                        """
                        SELECT owner, media_url FROM realtime.sessions
                        WHERE meeting_id = $1 AND ended_at IS NULL AND owner IS NOT NULL AND skipped_reason IS NULL
                        """, [meetingID])
                })
            else {
                throw HTTPError(.notFound, message: "no live call for meeting \(meetingID)")
            }
            let body = try JSONSerialization.data(
                withJSONObject: ["owner": try owner.string("owner"), "media_url": try owner.string("media_url")],
                options: [.sortedKeys])
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// Upgrades `/media/{meeting}` to a WebSocket when the call lives on this replica.
    func webSocketRouter() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        let calls = calls
        let logger = logger
        router.ws("/media/{meeting}") { _, context in
            guard let meetingID = context.parameters.get("meeting", as: UUID.self),
                await calls.call(forMeeting: meetingID) != nil
            else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let meetingID = context.requestContext.parameters.get("meeting", as: UUID.self),
                let call = await calls.call(forMeeting: meetingID)
            else { return }
            logger.info("media connected", metadata: ["meeting_id": "\(meetingID)"])
            let (connection, outgoing) = call.media.connect()
            // The room can hear the agent from now on.
            await call.pipeline.greet()
            defer {
                call.media.disconnect(connection)
                logger.info("media disconnected", metadata: ["meeting_id": "\(meetingID)"])
            }
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
                    for try await message in inbound.messages(maxSize: Self.largestMessage) {
                        guard case let .binary(buffer) = message else { continue }
                        for frame in reframer.frames(from: buffer.readableBytesView) { await call.pipeline.receive(frame) }
                    }
                }
                // Either side ending (the page left, or a newer page took over) ends both.
                try await group.next()
                group.cancelAll()
            }
        }
        return router
    }
}
