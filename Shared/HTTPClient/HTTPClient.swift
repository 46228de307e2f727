import CCurl
import Foundation
import Logging
import Resilience
import Telemetry
import Tracing

/// Outbound HTTP over libcurl. Each transfer blocks, so it runs on a serial dispatch queue of
/// its own (`Curl.perform`), off the threads Swift's concurrency runs on. Retries wait
/// asynchronously in between.
public final class HTTPClient: Sendable {
    private let retry: RetryPolicy
    let userAgent: String
    private let logger: Logger
    /// Paces every attempt, retries included, for APIs with request quotas.
    private let rateLimit: RateLimiter?

    public init(
        userAgent: String = "attache/1.0", retry: RetryPolicy = RetryPolicy(), rateLimit: RateLimiter? = nil, logger: Logger
    ) {
        Curl.initialize()
        self.retry = retry
        self.rateLimit = rateLimit
        self.userAgent = userAgent
        self.logger = logger
    }

    /// Sends `request`, retrying transient failures per the policy, and returns the final
    /// response whatever its status.
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        try await withRetries(request, attempt: { await perform($0) }, head: { ($0.status, $0.retryAfter()) })
    }

    /// Runs `attempt` until it gives a response the policy does not retry or fails in a way it
    /// does not retry. `discard` releases a response that is retried. When tracing, each attempt
    /// is a CLIENT span, and the request it sends carries that span's `traceparent`.
    func withRetries<Response: Sendable>(
        _ request: OutboundRequest,
        attempt makeAttempt: (OutboundRequest) async throws -> Result<Response, HTTPClientError>,
        head: (Response) -> (status: Int, retryAfter: Duration?), discard: (Response) -> Void = { _ in }
    ) async throws -> Response {
        let backoff = Backoff(initial: retry.initialDelay, maximum: retry.maximumDelay)
        var attempt = 1
        while true {
            try await rateLimit?.acquire()
            let started = ContinuousClock.now
            let outcome: Result<Response, HTTPClientError>
            if Telemetry.isTracing {
                outcome = try await traced(request, resend: attempt - 1, makeAttempt, status: { head($0).status })
            } else {
                outcome = try await makeAttempt(request)
            }
            let elapsed = ContinuousClock.now - started
            let delay: Duration
            switch outcome {
            case .success(let response):
                let (status, asked) = head(response)
                logger.debug(
                    "http",
                    metadata: [
                        "method": "\(request.method)", "url": "\(redactedURL(request.url))",
                        "status": "\(status)", "elapsed": "\(elapsed)",
                    ])
                let safeForAnyMethod = status == 429 || status == 503
                guard attempt < retry.maxAttempts, retry.retryableStatuses.contains(status),
                    safeForAnyMethod || request.isIdempotent
                else { return response }
                if let asked, asked > retry.longestRetryAfter { return response }
                discard(response)
                delay = asked ?? backoff.delay(forAttempt: attempt)
                logger.info(
                    "http request will be retried",
                    metadata: ["url": "\(redactedURL(request.url))", "status": "\(status)", "delay": "\(delay)"])
            case .failure(let error):
                guard attempt < retry.maxAttempts, request.isIdempotent, Self.isTransient(error) else { throw error }
                delay = backoff.delay(forAttempt: attempt)
                logger.info(
                    "http request failed; retrying",
                    metadata: ["url": "\(redactedURL(request.url))", "error": "\(error)", "delay": "\(delay)"])
            }
            try await Task.sleep(for: delay)
            attempt += 1
        }
    }

    /// One attempt in a CLIENT span. Only the URL's scheme, host and port are recorded: paths and
    /// queries carry tokens (webhook secrets, signed links).
    private func traced<Response: Sendable>(
        _ request: OutboundRequest, resend: Int,
        _ makeAttempt: (OutboundRequest) async throws -> Result<Response, HTTPClientError>,
        status: (Response) -> Int
    ) async throws -> Result<Response, HTTPClientError> {
        let components = URLComponents(string: request.url)
        let span = startSpan(request.method, ofKind: .client)
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.httpRequestMethod] = request.method
            attributes[SemanticAttributes.urlFull] = redactedURL(request.url)
            attributes[SemanticAttributes.serverAddress] = components?.host
            attributes[SemanticAttributes.serverPort] = components?.port
            if resend > 0 { attributes["http.request.resend_count"] = resend }
        }
        var request = request
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(span.context, into: &headers, using: DictionaryInjector())
        request.headers.removeAll { headers[$0.name.lowercased()] != nil }
        request.headers += headers.map { (name: $0.key, value: $0.value) }
        do {
            let outcome = try await makeAttempt(request)
            switch outcome {
            case .success(let response):
                let code = status(response)
                span.attributes[SemanticAttributes.httpResponseStatusCode] = code
                if code >= 400 {
                    span.attributes[SemanticAttributes.errorType] = String(code)
                    span.setStatus(SpanStatus(code: .error))
                }
            case .failure(let error):
                span.attributes[SemanticAttributes.errorType] = "\(error.kind)"
                span.setStatus(SpanStatus(code: .error))
            }
            return outcome
        } catch {
            span.attributes[SemanticAttributes.errorType] = "\(type(of: error))"
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Sends `request` and decodes a 2xx JSON response; any other status is an error.
    public func sendJSON<T: Decodable>(_ request: OutboundRequest, as type: T.Type, decoder: JSONDecoder = JSONDecoder())
        async throws -> T
    {
        let response = try await send(request)
        guard response.isSuccess else {
            throw HTTPClientError.unexpectedStatus(
                url: redactedURL(request.url), status: response.status, body: String(response.text.prefix(500)))
        }
        return try response.decode(T.self, decoder: decoder)
    }

    private static func isTransient(_ error: HTTPClientError) -> Bool {
        switch error {
        case .timedOut, .transport: true
        case .invalidURL, .unexpectedStatus: false
        }
    }

    private func perform(_ request: OutboundRequest) async -> Result<OutboundResponse, HTTPClientError> {
        await Curl.perform(label: "http-transfer") { [userAgent] in CurlTransfer(request: request, userAgent: userAgent).run() }
    }
}

/// One libcurl easy transfer, used on one thread from start to finish.
private final class CurlTransfer {
    let request: OutboundRequest
    let userAgent: String
    var body: [UInt8] = []
    var head = ResponseHeadParser()

    init(request: OutboundRequest, userAgent: String) {
        self.request = request
        self.userAgent = userAgent
    }

    func run() -> Result<OutboundResponse, HTTPClientError> {
        guard request.hasHTTPScheme, let handle = curl_easy_init() else {
            return .failure(.invalidURL(redactedURL(request.url)))
        }
        defer { curl_easy_cleanup(handle) }
        let headerList = request.configure(handle, userAgent: userAgent, compressed: true)
        defer { curl_slist_free_all(headerList) }
        let context = Unmanaged.passUnretained(self).toOpaque()
        attache_curl_set_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        attache_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        attache_curl_set_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            _ = transfer.head.receive(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
            return size * count
        }
        attache_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)

        let code = withExtendedLifetime(self) { curl_easy_perform(handle) }
        guard code == CURLE_OK else {
            if code == CURLE_OPERATION_TIMEDOUT {
                return .failure(.timedOut(url: redactedURL(request.url), after: request.timeout))
            }
            return .failure(
                .transport(
                    url: redactedURL(request.url), code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        attache_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(OutboundResponse(status: status, headers: head.headers, body: body))
    }
}
