import Hummingbird
import Synchronization

/// A local HTTP server whose routes a test scripts; it counts and times the requests it gets.
public final class FakeServer: Sendable {
    private let task: Task<Void, any Error>
    private let recorder: Recorder
    public let port: Int

    public init(_ configure: @Sendable (Router<BasicRequestContext>, FakeServer.Recorder) -> Void) async throws {
        let recorder = Recorder()
        let router = Router()
        configure(router, recorder)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: TestStack.fakeServerLogger)
        // A fake leaves the process's signals alone: Ctrl-C must still end a bench that runs one.
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var ports = portStream.makeAsyncIterator()
        port = await ports.next() ?? 0
        self.recorder = recorder
    }

    public var hits: [ContinuousClock.Instant] { recorder.hits }
    public var url: String { "http://127.0.0.1:\(port)" }

    public func stop() { task.cancel() }

    public final class Recorder: Sendable {
        private let times = Mutex<[ContinuousClock.Instant]>([])
        public func hit() -> Int {
            times.withLock {
                $0.append(.now)
                return $0.count
            }
        }
        public var hits: [ContinuousClock.Instant] { times.withLock { $0 } }
    }
}
