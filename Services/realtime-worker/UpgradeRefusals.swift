import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore
import NIOHTTPTypes
import Synchronization

/// hummingbird-websocket answers every refused WebSocket upgrade with the same fixed 400. The
/// camera gate's answer must be the one the pages give (401 without a token, 403 with a wrong
/// one), so the upgrade route notes its refusal against the connection, and `RefusalStatus`,
/// which sits where the failed upgrade's response is written, puts that status in its place.
final class UpgradeRefusals: Sendable {
    private let refused = Mutex<[ObjectIdentifier: HTTPResponse.Status]>([:])

    func note(_ status: HTTPResponse.Status, on channel: any Channel) {
        let connection = ObjectIdentifier(channel)
        refused.withLock { $0[connection] = status }
        // A connection that closes before its answer is written leaves nothing behind.
        channel.closeFuture.whenComplete { _ in _ = self.refused.withLock { $0.removeValue(forKey: connection) } }
    }

    func take(for channel: any Channel) -> HTTPResponse.Status? {
        refused.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A handler for each new connection's HTTP pipeline.
    func handler() -> any RemovableChannelHandler { RefusalStatus(refusals: self) }
}

/// Rewrites the status of a failed upgrade's 400 to the refusal noted for its connection; any
/// other response passes unchanged.
private final class RefusalStatus: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let refusals: UpgradeRefusals

    init(refusals: UpgradeRefusals) { self.refusals = refusals }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var part = unwrapOutboundIn(data)
        if case var .head(response) = part, response.status == .badRequest,
            let status = refusals.take(for: context.channel)
        {
            response.status = status
            part = .head(response)
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }
}

/// The upgrade route's context: hummingbird-websocket's, plus the connection, so that a refusal
/// can be noted against it.
struct MediaUpgradeContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
