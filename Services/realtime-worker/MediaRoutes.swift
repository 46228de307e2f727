import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import MediaConnection
import Store
import VoicePipeline

/// The camera webpage and its media connection. The bot's camera loads
/// `/camera/{meeting}?token=…` from any replica; the page asks `/media/{meeting}/owner` where
/// the call lives and opens its WebSocket there, passing its token on each time: meeting audio
/// in, the agent's voice and the avatar's cues out (see `MediaWire`). Every one of them
/// answers only a valid camera token for that meeting (`CameraGate`).
struct MediaRoutes: Sendable {
    let calls: LiveCalls
    let pool: PostgresPool
    let gate: CameraGate
    let page: CameraPage
    let refusals = UpgradeRefusals()
    let logger: Logger

    func register(on router: Router<BasicRequestContext>) {
        router.get("/camera/{meeting}") { request, context -> Response in
            _ = try gate.admit(request, meeting: context.parameters.get("meeting")).get()
            return page.response()
        }
        router.get(RouterPath(CameraPage.workletPath)) { _, _ -> Response in
            // Static code with nothing of any call in it: served to anyone, like a library.
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: CameraPage.captureWorklet)))
        }
        router.get("/media/{meeting}/owner") { request, context -> Response in
            let meetingID = try gate.admit(request, meeting: context.parameters.get("meeting")).get()
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
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        // The media path without a WebSocket upgrade: the same answers as the pages give, so
        // that a plain request learns no more than they do.
        router.get("/media/{meeting}") { request, context -> Response in
            _ = try gate.admit(request, meeting: context.parameters.get("meeting")).get()
            throw HTTPError(.upgradeRequired, message: "the media connection is a WebSocket")
        }
    }

    /// HTTP with the media WebSocket upgrade, whose refusals are answered as the pages answer.
    func server() -> HTTPServerBuilder {
        .http1WebSocketUpgrade(
            webSocketRouter: webSocketRouter(),
            configuration: .init(http1: .init(additionalChannelHandlers: [refusals.handler()])))
    }

    /// Upgrades `/media/{meeting}?token=…` to a WebSocket when the token is the meeting's and
    /// the call lives on this replica. A refusal is answered as the pages answer it (401, 403;
    /// 404 for a valid token whose call is not live here), through `refusals`.
    func webSocketRouter() -> Router<MediaUpgradeContext> {
        let router = Router(context: MediaUpgradeContext.self)
        let calls = calls
        let logger = logger
        let gate = gate
        let refusals = refusals
        let page = page
        router.ws("/media/{meeting}") { request, context in
            switch gate.admit(request, meeting: context.parameters.get("meeting")) {
            case let .failure(refusal):
                refusals.note(refusal.status, on: context.channel)
                return .dontUpgrade
            case let .success(meetingID):
                guard await calls.call(forMeeting: meetingID) != nil else {
                    refusals.note(.notFound, on: context.channel)
                    return .dontUpgrade
                }
                return .upgrade([:])
            }
        } onUpgrade: { inbound, outbound, context in
            // Only an admitted request was upgraded; the token is checked again here only because
            // the handler cannot be handed the upgrade's result.
            guard
                case let .success(meetingID) = gate.admit(
                    context.request, meeting: context.requestContext.parameters.get("meeting")),
                let call = await calls.call(forMeeting: meetingID)
            else { return }
            logger.info("media connected", metadata: ["meeting_id": "\(meetingID)"])
            defer { logger.info("media disconnected", metadata: ["meeting_id": "\(meetingID)"]) }
            try await MediaConnection.serve(
                inbound: inbound, outbound: outbound, identity: MediaWire.identity(agent: page.agentName, company: call.company),
                relay: call.media, pipeline: call.pipeline)
        }
        return router
    }
}
