import Foundation
import HTTPClient
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One client WebSocket, turned inside out for the cloud speech engines: HummingbirdWSClient
/// hands its reader and writer to a closure that lives as long as the connection, while an
/// engine wants to write from `send` calls and read from an event loop of its own. The
/// connection runs in a task; its messages come out of `messages`, and `ending` says how it
/// ended (the server's close code, or the failure).
final class WebSocketConnection: Sendable {
    /// How the connection ended.
    enum Ending: Sendable, Equatable {
        /// The server sent a close frame (or answered ours).
        case closed(code: Int, reason: String)
        /// The connection dropped without a close handshake.
        case dropped(String)
    }

    let messages: AsyncStream<WebSocketMessage>
    private let writer = Mutex<WebSocketOutboundWriter?>(nil)
    private let end = Mutex<(ending: Ending?, waiters: [CheckedContinuation<Ending, Never>])>((nil, []))
    private let task = Mutex<Task<Void, Never>?>(nil)

    private init(messages: AsyncStream<WebSocketMessage>) {
        self.messages = messages
    }

    /// Connects and returns once the server accepted the upgrade.
    static func open(url: String, headers: HTTPFields, logger: Logger) async throws(WebSocketOpenFailure) -> WebSocketConnection {
        let (messages, inbound) = AsyncStream<WebSocketMessage>.makeStream()
        let connection = WebSocketConnection(messages: messages)
        let (opened, openedContinuation) = AsyncStream<Result<Void, WebSocketOpenFailure>>.makeStream()
        let configuration = WebSocketClientConfiguration(
            // Speech APIs send audio in large messages; the default 16 KB frame limit would fail them.
            maxFrameSize: 1 << 24, additionalHeaders: headers)
        let task = Task {
            do {
                let closeFrame = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
                    inboundFrames, outbound, _ in
                    connection.writer.withLock { $0 = outbound }
                    openedContinuation.yield(.success(()))
                    for try await message in inboundFrames.messages(maxSize: 1 << 24) { inbound.yield(message) }
                }
                connection.finish(
                    closeFrame.map { .closed(code: Int(UInt16(webSocketErrorCode: $0.closeCode)), reason: $0.reason ?? "") }
                        ?? .dropped("the server ended the connection without a close frame"))
            } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                openedContinuation.yield(.failure(.refused))
                connection.finish(.dropped("the server refused the WebSocket upgrade"))
            } catch {
                openedContinuation.yield(.failure(.unreachable(String(describing: error))))
                connection.finish(.dropped(String(describing: error)))
            }
            connection.writer.withLock { $0 = nil }
            inbound.finish()
            openedContinuation.finish()
        }
        connection.task.withLock { $0 = task }
        var results = opened.makeAsyncIterator()
        switch await results.next() {
        case .success?: return connection
        case let .failure(failure)?: throw failure
        case nil:
            // Only cancellation of the caller ends the wait without an answer.
            task.cancel()
            throw .cancelled
        }
    }

    func send(text: String) async throws {
        try await currentWriter().write(.text(text))
    }

    func send(binary: ByteBuffer) async throws {
        try await currentWriter().write(.binary(binary))
    }

    /// Starts the close handshake; the server answers and `ending` follows.
    func close() async {
        try? await writer.withLock { $0 }?.close(.normalClosure, reason: nil)
    }

    /// Drops the connection at once (the library still sends a close frame if it can).
    func cancel() {
        task.withLock { $0 }?.cancel()
    }

    /// How the connection ended, or nil while it is open.
    var endedAs: Ending? { end.withLock { $0.ending } }

    /// Waits for the connection to end.
    var ending: Ending {
        get async {
            await withCheckedContinuation { continuation in
                let ended: Ending? = end.withLock { state in
                    if state.ending == nil { state.waiters.append(continuation) }
                    return state.ending
                }
                if let ended { continuation.resume(returning: ended) }
            }
        }
    }

    /// Waits for the connection to end, at most `timeout`; nil if it is still open then.
    func ending(within timeout: Duration) async -> Ending? {
        await withTaskGroup(of: Ending?.self) { group in
            group.addTask { await self.ending }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func currentWriter() throws -> WebSocketOutboundWriter {
        guard let writer = writer.withLock({ $0 }) else { throw WebSocketClosed() }
        return writer
    }

    private func finish(_ ending: Ending) {
        let waiters = end.withLock { state in
            state.ending = state.ending ?? ending
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: ending) }
    }

    /// Whether the server's close code reports a normal end (1000), as opposed to an error.
    static func isNormal(_ ending: Ending) -> Bool {
        if case .closed(code: 1000, _) = ending { return true }
        return false
    }
}

/// A write to a WebSocket that has already ended.
struct WebSocketClosed: Error {}

/// Why a WebSocket did not open.
enum WebSocketOpenFailure: Error, Equatable {
    /// The server answered the upgrade request with something other than 101.
    case refused
    /// No server answered, or the connection failed before the upgrade.
    case unreachable(String)
    case cancelled
}

/// HummingbirdWSClient reports a refused upgrade without its HTTP status. The status is what
/// tells a bad key (401) from a bad parameter (400) or an unpaid account (402), so this asks
/// the same endpoint again as a plain HTTPS request with the same credentials: APIs check
/// credentials before anything else, whether or not the request is an upgrade.
enum HandshakeDiagnosis {
    static func status(of url: String, headers: [(name: String, value: String)], logger: Logger) async -> Int? {
        guard var components = URLComponents(string: url) else { return nil }
        components.scheme = components.scheme == "ws" ? "http" : "https"
        guard let probeURL = components.string else { return nil }
        let client = HTTPClient(retry: .none, logger: logger)
        let response = try? await client.send(OutboundRequest(url: probeURL, headers: headers, timeout: .seconds(5)))
        return response?.status
    }
}
