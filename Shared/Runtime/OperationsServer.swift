import Hummingbird
import Logging
import Prometheus
import Synchronization

/// Whether the service should receive work. Checks run on every `/readyz` request; the
/// service is also unready from the moment it starts shutting down.
public final class Readiness: Sendable {
    public typealias Check = @Sendable () async -> Bool
    private let checks: Mutex<[(name: String, check: Check)]> = Mutex([])
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public func add(_ name: String, _ check: @escaping Check) {
        checks.withLock { $0.append((name, check)) }
    }

    public func markStopping() { stopping.store(true, ordering: .relaxed) }

    /// The names of the checks that fail now (empty when ready).
    public func failing() async -> [String] {
        if stopping.load(ordering: .relaxed) { return ["shutting down"] }
        var failing: [String] = []
        for (name, check) in checks.withLock({ $0 }) where !(await check()) { failing.append(name) }
        return failing
    }
}

/// `/healthz` (the process answers), `/readyz` (its dependencies answer) and `/metrics`
/// (Prometheus text format), on every service.
public enum OperationsRoutes {
    public static func add(
        to router: Router<BasicRequestContext>, readiness: Readiness, registry: PrometheusCollectorRegistry
    ) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            let failing = await readiness.failing()
            let body = failing.isEmpty ? "ready\n" : "not ready: \(failing.joined(separator: ", "))\n"
            return Response(
                status: failing.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            let text = MetricCatalog.withHelp(String(decoding: buffer, as: UTF8.self))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
