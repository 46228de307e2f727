import Hummingbird
import Shared
import Telemetry
import Tracing

/// A SERVER span per HTTP request, continuing the caller's `traceparent` if it sent one. It
/// records the method, the route (the pattern, not the path: paths carry tokens) and the status,
/// and no query, header or body. Added to a service's router only when tracing is on.
struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let span = startSpan(request.method.rawValue, context: parent, ofKind: .server)
        defer { span.end() }
        span.attributes[SemanticAttributes.httpRequestMethod] = request.method.rawValue
        do {
            let response = try await ServiceContext.withValue(span.context) {
                try await Telemetry.withCurrent(span) { try await next(request, context) }
            }
            finish(span, request.method.rawValue, status: Int(response.status.code), route: context.endpointPath)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(span, request.method.rawValue, status: Int(status), route: context.endpointPath)
            throw error
        }
    }

    private func finish(_ span: any Span, _ method: String, status: Int, route: String?) {
        span.attributes[SemanticAttributes.httpResponseStatusCode] = status
        if let route {
            span.attributes["http.route"] = route
            span.operationName = "\(method) \(route)"
        }
        if status >= 500 {
            span.attributes[SemanticAttributes.errorType] = String(status)
            span.setStatus(SpanStatus(code: .error))
        }
    }
}

private struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        carrier.first { $0.name.canonicalName == key }?.value
    }
}
