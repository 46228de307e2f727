import Shared
import Synchronization
import Tracing

/// Whether spans are exported, and the conversions between the tracer's context and the
/// envelope's `traceparent`. Every instrumented choke point (the event consumer, the outbox,
/// the HTTP client, the database pool) asks `isTracing` first and does nothing more when it is
/// false, so that a service without OTEL_* variables pays one relaxed atomic load per message.
public enum Telemetry {
    private static let enabled = Atomic(false)

    public static var isTracing: Bool { enabled.load(ordering: .relaxed) }

    /// Called once, by the process that installed a real tracer (`TracingBootstrap`), and by tests.
    public static func setTracing(_ on: Bool) { enabled.store(on, ordering: .relaxed) }

    /// A context whose parent is the span `traceparent` names (remote): what a span continuing
    /// that message or request starts from. Empty if `traceparent` is unreadable.
    public static func context(continuing traceparent: String) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(
            [TraceHeader.traceparent: traceparent], into: &context, using: DictionaryExtractor())
        return context
    }

    /// The W3C `traceparent` of the span in `context`, if there is one.
    public static func traceparent(of context: ServiceContext) -> String? {
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &headers, using: DictionaryInjector())
        return headers[TraceHeader.traceparent]
    }

    /// Runs `body` in an INTERNAL span continuing `traceparent`'s trace, when tracing: for work
    /// done later on behalf of a stored story (a workflow's step), so that it stays in that trace.
    public static func withSpan<T>(
        _ name: String, continuing traceparent: String, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async rethrows -> T {
        guard isTracing, TraceContext(parsing: traceparent) != nil else { return try await body() }
        let span = startSpan(name, context: context(continuing: traceparent), ofKind: .internal)
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) { try await withCurrent(span, body) }
        } catch {
            span.setStatus(SpanStatus(code: .error))
            span.attributes[SemanticAttributes.errorType] = "\(type(of: error))"
            throw error
        }
    }

    /// Runs `body` with `TraceContext.current` set to `span`'s context, so that events created in
    /// it name the span as their parent.
    public static func withCurrent<T>(
        _ span: any Span, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        guard let header = traceparent(of: span.context), let trace = TraceContext(parsing: header) else {
            return try await body()
        }
        return try await TraceContext.$current.withValue(trace, operation: body, isolation: isolation)
    }
}

/// The task's span contexts, carried to a thread that runs work for it (a database connection's
/// queue): task-locals do not follow a closure to a dispatch queue. Nil when not tracing.
public struct CarriedContext: Sendable {
    let service: ServiceContext?
    let trace: TraceContext?

    public static var current: CarriedContext? {
        guard Telemetry.isTracing else { return nil }
        return CarriedContext(service: ServiceContext.current, trace: TraceContext.current)
    }

    /// Runs `body` with the carried contexts bound (thread-locally, off a task), if any.
    public static func restoring<T>(_ carried: CarriedContext?, _ body: () throws -> T) rethrows -> T {
        guard let carried else { return try body() }
        return try ServiceContext.withValue(carried.service) {
            try TraceContext.$current.withValue(carried.trace, operation: body)
        }
    }
}

/// The header names of W3C Trace Context.
public enum TraceHeader {
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"
}

public struct DictionaryExtractor: Extractor {
    public init() {}
    public func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

public struct DictionaryInjector: Injector {
    public init() {}
    public func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// OpenTelemetry's semantic conventions for messaging (RabbitMQ), databases and HTTP: the
/// attribute names the spans carry, in one place.
public enum SemanticAttributes {
    public static let messagingSystem = "messaging.system"
    public static let messagingOperationType = "messaging.operation.type"
    public static let messagingOperationName = "messaging.operation.name"
    public static let messagingDestinationName = "messaging.destination.name"
    public static let messagingRoutingKey = "messaging.rabbitmq.destination.routing_key"
    public static let messagingMessageID = "messaging.message.id"
    public static let messagingConversationID = "messaging.message.conversation_id"
    public static let messagingConsumerGroup = "messaging.consumer.group.name"
    public static let messagingBatchCount = "messaging.batch.message_count"
    public static let dbSystem = "db.system"
    public static let dbSystemName = "db.system.name"
    public static let dbQueryText = "db.query.text"
    public static let dbOperationName = "db.operation.name"
    public static let dbNamespace = "db.namespace"
    public static let httpRequestMethod = "http.request.method"
    public static let httpResponseStatusCode = "http.response.status_code"
    public static let urlFull = "url.full"
    public static let serverAddress = "server.address"
    public static let serverPort = "server.port"
    public static let errorType = "error.type"

    public static let rabbitmq = "rabbitmq"
    public static let postgresql = "postgresql"
}
