import Bus
import Foundation
import Logging
import Store
import Synchronization
import Testing

/// The servers `./scripts/test` started. Missing variables fail the test with a pointer to the
/// script rather than skipping it: a suite that silently skips proves nothing.
public enum TestStack {
    public struct NotStarted: Error, CustomStringConvertible {
        public var variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String { "\(variable) is not set: run the suite with ./scripts/test, which starts the servers" }
    }

    public static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw NotStarted(variable: name) }
        return value
    }

    public static func broker() throws -> AMQPConfiguration {
        try AMQPConfiguration(url: try variable("ATTACHE_TEST_AMQP_URL"), heartbeatSeconds: 5)
    }

    public static func databaseURL() throws -> String { try variable("ATTACHE_TEST_DATABASE_URL") }

    /// The repository's root folder, for tests of the files it ships (deploy/config, compose…).
    /// Found from this file's place in it: <root>/Tests/TestSupport/TestStack.swift.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The classification rules the classifier ships with.
    public static let shippedRulesPath = repositoryRoot.appendingPathComponent("deploy/config/classifier-rules.yaml").path

    /// SeaweedFS's S3 gateway (see scripts/stack): its endpoint and the test identity.
    public static func s3() throws -> (url: String, accessKey: String, secretKey: String) {
        (
            try variable("ATTACHE_TEST_S3_URL"), try variable("ATTACHE_TEST_S3_ACCESS_KEY"),
            try variable("ATTACHE_TEST_S3_SECRET_KEY")
        )
    }

    /// The SMTP server (see scripts/stack): its URL, the AUTH user it accepts after STARTTLS, its
    /// self-signed certificate, and the Maildir it delivers to.
    public static func smtp() throws -> (url: String, user: String, password: String, caFile: String, maildir: String) {
        (
            try variable("ATTACHE_TEST_SMTP_URL"), try variable("ATTACHE_TEST_SMTP_USER"),
            try variable("ATTACHE_TEST_SMTP_PASSWORD"), try variable("ATTACHE_TEST_SMTP_CA_FILE"),
            try variable("ATTACHE_TEST_SMTP_MAILDIR")
        )
    }

    /// A broker of its own that a test may stop and restart (see scripts/test).
    public static func chaosBroker() throws -> AMQPConfiguration {
        try AMQPConfiguration(url: try variable("ATTACHE_TEST_CHAOS_AMQP_URL"), heartbeatSeconds: 5)
    }

    /// A database server of its own that a test may stop and restart (see scripts/test): use it
    /// through `withChaosDatabase`.
    static func chaosDatabaseURL() throws -> String { try variable("ATTACHE_TEST_CHAOS_DATABASE_URL") }

    /// Runs `scripts/stack chaos COMMAND` (start-rabbitmq, restart-rabbitmq, stop-postgresql…).
    public static func chaos(_ command: String) async throws {
        let status = try await ChildProcess.shell("\(try variable("ATTACHE_TEST_CHAOS_STACK")) \(command) >/dev/null 2>&1")
        guard status == 0 else { throw NotStarted(variable: "chaos stack (\(command) exited \(status))") }
    }

    /// A name no other test uses, valid as a queue name and as a SQL identifier.
    public static func uniqueName(_ base: String) -> String {
        "t_\(base)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    public static let logger = logger(label: "test", unlessConfigured: .warning)

    /// For the fake vendors' servers. Stopping one cancels it with connections still open, which
    /// HummingbirdCore reports at error level ("Waiting on child channel"); that is the test
    /// ending, not a fault, and a fake's real faults show as its tests' failures. An explicit
    /// ATTACHE_TEST_LOG_LEVEL shows everything again.
    public static let fakeServerLogger = logger(label: "fake-server", unlessConfigured: .critical)

    /// ATTACHE_TEST_LOG_LEVEL, when set, decides for every test logger.
    private static func logger(label: String, unlessConfigured level: Logger.Level) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel =
            ProcessInfo.processInfo.environment["ATTACHE_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
        return logger
    }
}

/// Runs `body` with `resource`, then `tearDown`, also when `body` throws: a failing test still
/// cleans up, and its cleanup ends before the test does (so it never overlaps the next one).
/// The scoped helpers (`withDeliveryHarness { … }`, `withWorld { … }`) are built on it.
public func using<Resource, Result>(
    _ resource: Resource, tearDown: (Resource) async throws -> Void, _ body: (Resource) async throws -> Result
) async throws -> Result {
    let result: Result
    do {
        result = try await body(resource)
    } catch {
        try? await tearDown(resource)
        throw error
    }
    try await tearDown(resource)
    return result
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// How long a test waits for what must happen before it calls the code broken. A passing test
/// never waits this long, so the limit is generous: while the whole suite starts at once on two
/// busy cores, the few task hops between a client closing its socket and a local fake noticing
/// were measured at 20 s.
public let hangLimit: Duration = .seconds(180)

/// Runs `operation`, failing with `TimedOut` if it takes longer than `limit`: a broken
/// implementation fails the test instead of hanging the suite.
public func within<T: Sendable>(
    _ limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// `within(hangLimit, what, operation)`: for what must happen, however long a busy machine takes.
public func within<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await within(hangLimit, what, operation)
}

/// Polls `condition` until it holds or `limit` passes.
public func eventually(
    _ what: String, within limit: Duration = hangLimit, _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    try await within(limit, what) {
        while try await !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }
}

extension AsyncStream where Element == InboundMessage {
    /// The next `count` messages, acknowledged unless told otherwise.
    public func take(_ count: Int, ack: Bool = true, within limit: Duration = hangLimit) async throws -> [InboundMessage] {
        try await within(limit, "\(count) messages") {
            var received: [InboundMessage] = []
            for await message in self {
                if ack { message.ack() }
                received.append(message)
                if received.count == count { break }
            }
            return received
        }
    }
}

/// Drains a consumer's messages in the background (acknowledging them) so that a test can ask
/// what has arrived so far, including "nothing yet", without cancelling the stream: cancelling a
/// pending AsyncStream iteration ends the stream for good.
public final class MessageCollector: Sendable {
    private final class Received: Sendable {
        let messages = Mutex<[InboundMessage]>([])
    }
    private let received = Received()
    private let drain: Task<Void, Never>

    public init(_ messages: AsyncStream<InboundMessage>) {
        let received = received
        drain = Task {
            for await message in messages {
                message.ack()
                received.messages.withLock { $0.append(message) }
            }
        }
    }

    deinit { drain.cancel() }

    public var messages: [InboundMessage] { received.messages.withLock { $0 } }

    /// Waits until at least `count` messages have arrived and returns all of them.
    public func wait(for count: Int, within limit: Duration = hangLimit) async throws -> [InboundMessage] {
        try await eventually("\(count) messages", within: limit) { self.messages.count >= count }
        return messages
    }
}

extension Publisher {
    /// Publishes, retrying while the broker refuses: a quorum queue declared a moment ago, or on
    /// a broker that has just started, may nack until its leader is elected. Callers in the
    /// product (the outbox relay) retry the same way.
    public func publishEventually(_ messages: [OutgoingMessage], within limit: Duration = hangLimit) async throws {
        try await within(limit, "a confirmed publish") {
            while true {
                do { return try await self.publish(messages) } catch { try await Task.sleep(for: .milliseconds(200)) }
            }
        }
    }
}
