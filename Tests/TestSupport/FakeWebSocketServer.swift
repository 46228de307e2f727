import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// A local server for a vendor's WebSocket API: `upgrade` decides, from the upgrade request,
/// whether to accept it and with which handler; `router` answers plain HTTP requests.
///
/// Hummingbird answers every refused upgrade with 400 and no way to choose the status, so a
/// fake that must say 401 does it on the plain-request path, which the engines ask when an
/// upgrade is refused.
public final class FakeWebSocketServer: Sendable {
    public typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    private let task: Task<Void, any Error>
    public let port: Int

    public init(
        router: Router<BasicRequestContext>,
        upgrade: @escaping @Sendable (HTTPRequest) async -> ShouldUpgradeResult<Handler>
    ) async {
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 24))) { request, _, _ in
                await upgrade(request)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: TestStack.fakeServerLogger)
        task = Task { try await app.runService() }
        var ports = portStream.makeAsyncIterator()
        port = await ports.next() ?? 0
    }

    /// The base URL an engine is configured with.
    public var baseURL: String { "ws://127.0.0.1:\(port)" }

    public func stop() { task.cancel() }

    /// The query parameters of a request's path.
    public static func query(of request: HTTPRequest) -> [String: String] {
        guard let query = request.path?.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            parameters[String(parts[0])] = parts.count > 1 ? String(parts[1]).removingPercentEncoding : ""
        }
        return parameters
    }
}

/// What a fake's finished sessions reported, for a test to wait on.
public final class SessionLog<Summary: Sendable>: Sendable {
    private let recorded = Mutex<[Summary]>([])

    public init() {}

    public var summaries: [Summary] { recorded.withLock { $0 } }

    func record(_ summary: Summary) {
        recorded.withLock { $0.append(summary) }
    }

    /// Waits until `count` sessions have ended, at most `timeout`; returns the summaries so far.
    /// The timeout only keeps a broken client from hanging a test, so it is generous.
    /// Returns as soon as `count` are in; the timeout only bounds a test that is failing, so it is
    /// generous enough for a machine whose cores are all busy.
    public func waitFor(_ count: Int, timeout: Duration = .seconds(120)) async -> [Summary] {
        let deadline = ContinuousClock.now + timeout
        while summaries.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return summaries
    }
}
