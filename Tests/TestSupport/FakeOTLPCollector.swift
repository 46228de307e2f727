import Foundation
import Hummingbird
import Synchronization

/// A local OTLP/HTTP receiver for traces, as the OTLP specification describes it: `POST
/// /v1/traces` with an ExportTraceServiceRequest in the JSON encoding (`http/json`), answered
/// 200 with an empty ExportTraceServiceResponse. It keeps every span, flattened with its
/// resource's `service.name`. Ids may come hex (as the specification asks) or base64 (protobuf's
/// generic JSON for bytes); both are read as hex. Anything else is answered 415 or 400.
public final class FakeOTLPCollector: Sendable {
    public struct Link: Sendable, Equatable {
        public var traceID: String
        public var spanID: String

        public init(traceID: String, spanID: String) {
            self.traceID = traceID
            self.spanID = spanID
        }
    }

    public struct Span: Sendable {
        public var service: String
        public var traceID: String
        public var spanID: String
        public var parentSpanID: String?
        public var name: String
        /// OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
        public var kind: Int
        /// Values as text (numbers and booleans described).
        public var attributes: [String: String]
        public var links: [Link]
        /// OTLP's status code: 0 unset, 1 ok, 2 error.
        public var statusCode: Int

        public static let server = 2, client = 3, producer = 4, consumer = 5
    }

    private final class Box: Sendable {
        let spans = Mutex<[Span]>([])
        let rejected = Mutex<[String]>([])
    }

    private let box = Box()
    private let server: FakeServer

    public init() async throws {
        let box = box
        server = try await FakeServer { router, _ in
            router.post("/v1/traces") { request, _ -> Response in
                guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
                    box.rejected.withLock { $0.append("content type \(request.headers[.contentType] ?? "none")") }
                    return Response(status: .unsupportedMediaType)
                }
                let body = try await request.body.collect(upTo: 64 << 20)
                guard let spans = Self.spans(in: Data(buffer: body)) else {
                    box.rejected.withLock { $0.append("unreadable body") }
                    return Response(status: .badRequest)
                }
                box.spans.withLock { $0 += spans }
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: "{}")))
            }
        }
    }

    /// The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces).
    public var url: String { server.url }
    public var spans: [Span] { box.spans.withLock { $0 } }
    /// Why requests were refused, if any were.
    public var rejected: [String] { box.rejected.withLock { $0 } }
    public func stop() { server.stop() }

    static func spans(in data: Data) -> [Span]? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let resourceSpans = root["resourceSpans"] as? [[String: Any]]
        else { return nil }
        var spans: [Span] = []
        for resourceSpan in resourceSpans {
            let resource = attributes((resourceSpan["resource"] as? [String: Any])?["attributes"])
            for scopeSpan in resourceSpan["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scopeSpan["spans"] as? [[String: Any]] ?? [] {
                    guard let traceID = hex(span["traceId"]), let spanID = hex(span["spanId"]) else { return nil }
                    let links = (span["links"] as? [[String: Any]] ?? []).compactMap { link -> Link? in
                        guard let trace = hex(link["traceId"]), let span = hex(link["spanId"]) else { return nil }
                        return Link(traceID: trace, spanID: span)
                    }
                    spans.append(
                        Span(
                            service: resource["service.name"] ?? "", traceID: traceID, spanID: spanID,
                            parentSpanID: hex(span["parentSpanId"]), name: span["name"] as? String ?? "",
                            kind: number(span["kind"]), attributes: attributes(span["attributes"]), links: links,
                            statusCode: number((span["status"] as? [String: Any])?["code"])))
                }
            }
        }
        return spans
    }

    private static func number(_ value: Any?) -> Int {
        if let number = value as? NSNumber { return number.intValue }
        if let text = value as? String { return Int(text) ?? 0 }
        return 0
    }

    private static func hex(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return nil }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func attributes(_ value: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for entry in value as? [[String: Any]] ?? [] {
            guard let key = entry["key"] as? String, let value = entry["value"] as? [String: Any] else { continue }
            if let text = value["stringValue"] as? String {
                result[key] = text
            } else if let other = value["intValue"] ?? value["boolValue"] ?? value["doubleValue"] {
                result[key] = "\(other)"
            }
        }
        return result
    }
}
