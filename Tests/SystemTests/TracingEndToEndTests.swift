import Foundation
import Hummingbird
import Store
import Synchronization
import TestSupport
import Testing

/// One meeting's traces, exported by the six services over OTLP/HTTP (JSON) to a local receiver
/// while the meeting goes from the calendar to the verdict.
@Suite("Traces end to end")
struct TracingEndToEndTests {
    typealias Span = FakeOTLPCollector.Span

    @Test("one meeting's spans from all six services share one trace id, with the messaging conventions")
    func oneMeetingIsOneTrace() async throws {
        let collector = try await FakeOTLPCollector()
        defer { collector.stop() }
        let context = try await ContextService()
        defer { context.stop() }
        let prefix = TestStack.uniqueName("otel")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(prefix)
        let endToEnd = EndToEndTests()
        let extra = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            // The context service over HTTP, so that a handler's outbound request is traced too.
            "ATTACHE_CONTEXT_PROVIDER": "http", "ATTACHE_CONTEXT_URL": context.url, "ATTACHE_CONTEXT_TOKEN": "context-token",
        ]
        try await TestDatabase.with { databaseURL in
            try await using(prefix, tearDown: { try await endToEnd.cleanUp(prefix: $0, folder: folder) }) { prefix in
                try await endToEnd.runEverything(databaseURL: databaseURL, prefix: prefix, folder: folder, extra: extra) {
                    pool in
                    try await checkTrace(collector, context: context, pool: pool)
                }
            }
        }
        #expect(collector.rejected.isEmpty, "the exporter sent what OTLP/HTTP JSON describes")
    }

    func checkTrace(_ collector: FakeOTLPCollector, context: ContextService, pool: PostgresPool) async throws {
        let meetingID = try await pool.withConnection { db in try db.queryOne("SELECT id FROM calendar.meetings")!.uuid("id") }
        // The trace id is the meeting's correlation id (its id), so an operator finds it from either.
        let trace = meetingID.uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let services = Set(ServiceBinaries.all)
        try await eventually("spans of the meeting's trace from all six services", within: .seconds(90)) {
            Set(collector.spans.filter { $0.traceID == trace }.map(\.service)).isSuperset(of: services)
        }
        let spans = collector.spans
        let inTrace = spans.filter { $0.traceID == trace }
        #expect(Set(inTrace.map(\.service)) == services, "no other service.name than the six")

        // The first event: created by calendar-monitor (PRODUCER `create`), published by its relay
        // (PRODUCER `send`), handled by the classifier (CONSUMER) as a child of, and linked to, its creation.
        let creation = try #require(
            inTrace.first {
                $0.service == "calendar-monitor" && $0.kind == Span.producer && $0.name == "create meeting.upserted"
            }, "calendar-monitor's create span")
        #expect(creation.attributes["messaging.system"] == "rabbitmq")
        #expect(creation.attributes["messaging.operation.type"] == "create")
        #expect(creation.attributes["messaging.rabbitmq.destination.routing_key"] == "meeting.upserted")
        let messageID = try #require(creation.attributes["messaging.message.id"])
        let send = try #require(
            inTrace.first {
                $0.kind == Span.producer && $0.attributes["messaging.operation.type"] == "send"
                    && $0.attributes["messaging.message.id"] == messageID
            },
            "the relay's send span of that event")
        #expect(send.service == "calendar-monitor")
        #expect(send.parentSpanID == creation.spanID)
        #expect(send.attributes["messaging.system"] == "rabbitmq")
        #expect(send.attributes["messaging.destination.name"]?.hasSuffix("events") == true, "the exchange")
        #expect(send.attributes["messaging.rabbitmq.destination.routing_key"] == "meeting.upserted")
        let consumed = try #require(
            inTrace.first {
                $0.service == "classifier" && $0.kind == Span.consumer && $0.attributes["messaging.message.id"] == messageID
            },
            "the classifier's span for that event")
        #expect(consumed.name.hasPrefix("process "))
        #expect(consumed.attributes["messaging.system"] == "rabbitmq")
        #expect(consumed.attributes["messaging.operation.type"] == "process")
        #expect(consumed.attributes["messaging.destination.name"] == send.attributes["messaging.destination.name"])
        #expect(consumed.attributes["messaging.rabbitmq.destination.routing_key"] == "meeting.upserted")
        #expect(consumed.links.contains(.init(traceID: trace, spanID: creation.spanID)), "linked to the creation context")
        #expect(consumed.parentSpanID == creation.spanID)

        // Every consumer span of the trace continues a producer's context of it, and every event
        // created while handling one hangs under that handling: one connected story.
        let consumers = inTrace.filter { $0.kind == Span.consumer }
        let producers = Dictionary(inTrace.filter { $0.kind == Span.producer }.map { ($0.spanID, $0) }) { first, _ in first }
        #expect(Set(consumers.map(\.service)) == services.subtracting(["calendar-monitor"]), "every consuming service")
        for consumer in consumers {
            #expect(
                consumer.links.contains { producers[$0.spanID] != nil },
                "\(consumer.service) \(consumer.name) links to a producer's context")
        }
        let handled = Set(consumers.map(\.spanID))
        let createdWhileHandling = inTrace.filter {
            $0.attributes["messaging.operation.type"] == "create" && $0.parentSpanID.map(handled.contains) == true
        }
        #expect(!createdWhileHandling.isEmpty, "events created while handling name the handling span as their parent")

        // A prep workflow's steps run in the meeting's trace, and the events a step's completion
        // publishes hang under that step's span.
        let steps = Dictionary(inTrace.filter { $0.name.hasPrefix("step ") }.map { ($0.spanID, $0) }) { first, _ in first }
        #expect(steps.values.allSatisfy { $0.service == "prep-orchestrator" })
        let joinRequest = try #require(inTrace.first { $0.name == "create bot.join.requested" }, "the bot's join request")
        #expect(joinRequest.parentSpanID.flatMap { steps[$0] }?.name == "step request_bot_join")

        // Database spans: statements only, in the handlers' spans.
        let database = inTrace.filter { $0.attributes["db.system"] == "postgresql" }
        #expect(!database.isEmpty)
        #expect(database.allSatisfy { $0.kind == Span.client && $0.attributes["db.query.text"] != nil })
        #expect(database.contains { $0.parentSpanID.map(handled.contains) == true }, "a handler's statement is its child")
        #expect(
            !spans.contains { $0.attributes.values.contains { $0.contains("Weekly staff meeting") } },
            "no parameter value (the meeting's title) in any attribute")

        // HTTP: the context service was called in the meeting's trace with its traceparent; servers trace requests.
        let outbound = try #require(
            inTrace.first {
                $0.service == "prep-orchestrator" && $0.kind == Span.client && $0.attributes["http.request.method"] == "GET"
            },
            "prep-orchestrator's request to the context service")
        #expect(outbound.attributes["http.response.status_code"] == "200")
        #expect(outbound.attributes["url.full"]?.contains("context-token") == false)
        #expect(context.traceparents.contains { $0.contains(trace) && $0.contains(outbound.spanID) })
        let served = spans.filter { $0.kind == Span.server }
        #expect(Set(served.map(\.service)).isSuperset(of: services), "every service's HTTP server (readiness, at least)")
        #expect(
            served.contains { $0.attributes["http.route"] == "/readyz" && $0.attributes["http.response.status_code"] == "200" })
    }
}

/// The context service of `HTTPContextProvider`: every kind answers no items; it keeps the
/// `traceparent` headers it was sent.
final class ContextService: Sendable {
    private let server: FakeServer

    init() async throws {
        let box = Box()
        server = try await FakeServer { router, _ in
            router.get("/{kind}") { request, _ -> Response in
                if let traceparent = request.headers.first(where: { $0.name.canonicalName == "traceparent" })?.value {
                    box.traceparents.withLock { $0.append(traceparent) }
                }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"items":[]}"#)))
            }
        }
        self.box = box
    }

    private final class Box: Sendable {
        let traceparents = Mutex<[String]>([])
    }

    private let box: Box
    var url: String { server.url }
    var traceparents: [String] { box.traceparents.withLock { $0 } }
    func stop() { server.stop() }
}
