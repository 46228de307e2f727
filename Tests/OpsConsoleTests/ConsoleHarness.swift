import Bus
import Delivery
import Foundation
import HTTPClient
import Logging
import Store
import Synchronization
import TestSupport

@testable import BotGateway
@testable import CalendarMonitor
@testable import Classifier
@testable import MonitoringWorker
@testable import OpsConsole
@testable import PrepOrchestrator
@testable import RealtimeWorker

/// The console's time, moved by the test.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_780_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A console served over real HTTP, on a database of its own in which all six services' schemas
/// are migrated as the services migrate them, and on a bus prefix of its own.
final class ConsoleHarness: Sendable {
    static let token = "operator-token-0123456789abcdef-for-tests"

    let pool: PostgresPool
    let databaseURL: String
    let broker: AMQPConfiguration
    let prefix: String
    let clock = TestClock()
    let port: Int
    let http = HTTPClient(retry: .none, logger: TestStack.logger)
    private let task: Task<Void, any Error>

    init(databaseURL: String, pageSize: Int, serviceURLs: String = "") async throws {
        pool = PostgresPool(url: databaseURL, size: 2)
        self.databaseURL = databaseURL
        let schemas: [(String, [Migration])] = [
            (MeetingsSchema.name, MeetingsSchema.migrations), (ClassificationsSchema.name, ClassificationsSchema.migrations),
            (WorkflowSchema.name, WorkflowSchema.migrations), (GatewaySchema.name, GatewaySchema.migrations),
            (SessionsSchema.name, SessionsSchema.migrations), (ResultsSchema.name, ResultsSchema.migrations),
        ]
        for (schema, migrations) in schemas {
            try await Migrator.migrate(
                pool, schema: schema, migrations: DeliveryMigrations.all + migrations, logger: TestStack.logger)
        }
        broker = try TestStack.broker()
        prefix = TestStack.uniqueName("ops")
        let configuration = try ConsoleConfiguration(
            operatorToken: Self.token, databaseURL: databaseURL, broker: try TestStack.variable("ATTACHE_TEST_AMQP_URL"),
            busPrefix: prefix, sessionLifetime: .seconds(3600), pageSize: pageSize, serviceURLs: serviceURLs)
        let clock = clock
        let server = ConsoleServer(configuration, pool: pool, now: { clock.now }, logger: TestStack.fakeServerLogger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = server.application { continuation.yield($0) }
        task = Task { try await application.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func get(_ path: String, session: String? = nil) async throws -> OutboundResponse {
        try await http.send(
            OutboundRequest(url: base + path, headers: session.map { [("Cookie", "\(ConsoleServer.sessionCookie)=\($0)")] } ?? [])
        )
    }

    func post(
        _ path: String, _ fields: [(String, String)], session: String? = nil, headers: [(name: String, value: String)] = []
    ) async throws -> OutboundResponse {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try await http.send(
            OutboundRequest(
                method: "POST", url: base + path,
                headers: [("Content-Type", "application/x-www-form-urlencoded")]
                    + (session.map { [("Cookie", "\(ConsoleServer.sessionCookie)=\($0)")] } ?? []) + headers,
                body: Array(body.utf8)))
    }

    /// Signs in with the operator token; returns the session id and the CSRF token of its forms.
    func signIn() async throws -> (session: String, csrf: String) {
        let response = try await post("/sign-in", [("token", Self.token)])
        guard response.status == 303, let cookie = response.headers["set-cookie"],
            let value = cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
        else { throw HarnessError(what: "sign-in answered \(response.status)") }
        let session = String(value)
        let page = try await get("/meetings", session: session).text
        guard let csrf = Self.csrfToken(in: page) else { throw HarnessError(what: "no CSRF token in the page") }
        return (session, csrf)
    }

    static func csrfToken(in page: String) -> String? {
        guard let range = page.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    // MARK: Parked messages

    func queues(_ service: String) -> ServiceQueues { ServiceQueues(prefix: prefix, service: service) }

    /// Parks a message in `service`'s dead-letter queue as the consumer parks one.
    func park(_ service: String, id: String, reason: String) async throws {
        let queues = queues(service)
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.declare(queues.topology(routingKeys: []))
            try channel.publish(
                OutgoingMessage(
                    exchange: "", routingKey: queues.deadLetterQueue, body: Array("{\"id\":\"\(id)\"}".utf8), messageID: id,
                    type: "test.parked.v1",
                    headers: [
                        DeliveryHeader.error: .string(reason), DeliveryHeader.attempts: .int(5),
                        DeliveryHeader.originalRoutingKey: .string("test.parked"),
                        DeliveryHeader.parkedAt: .string("2026-06-01T10:00:00Z"),
                    ], mandatory: true))
        }
    }

    /// Every consumer's queues on this console's prefix, as a service declares them at start.
    func declareSubscriptions() async throws {
        let prefix = prefix
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.declare(ServiceQueues.subscriptionsTopology(prefix: prefix))
        }
    }

    func depth(_ queue: String) async throws -> Int {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            return try channel.messageCount(queue: queue)
        }
    }

    func tearDown() async throws {
        task.cancel()
        _ = await task.result
        let all = OpsQueries.services.map { queues($0) }
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            for service in all {
                let names =
                    [service.workQueue, service.deadLetterQueue]
                    + service.retryDelays.indices.map { service.retryQueue(forRetry: $0 + 1) }
                for name in names { try? channel.deleteQueue(name) }
            }
            try? channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: all[0].prefix))
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var what: String
    var description: String { what }
}

func withConsole<T>(
    pageSize: Int = 50, serviceURLs: String = "", _ body: (ConsoleHarness) async throws -> T
) async throws -> T {
    try await TestDatabase.with { url in
        try await using(
            try await ConsoleHarness(databaseURL: url, pageSize: pageSize, serviceURLs: serviceURLs),
            tearDown: { try await $0.tearDown() }, body)
    }
}
