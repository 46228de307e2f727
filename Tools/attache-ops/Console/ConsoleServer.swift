import Bus
import Delivery
import Foundation
import HTTPClient
import HTTPTypes
import Hummingbird
import Logging
import Runtime
import ServiceLifecycle
import Shared
import Store

/// `attache-ops serve`: the operators' web console. Reads every service's tables (never writes
/// them), lists and replays parked messages through the broker, and lets in only operators who
/// signed in with the operator token.
public struct ConsoleServer: Sendable {
    public static let sessionCookie = "attache_ops_session"

    let configuration: ConsoleConfiguration
    let queries: OpsQueries
    let sessions: SessionStore
    let throttle: SignInThrottle
    let system: SystemInspector
    let logger: Logger

    public init(
        _ configuration: ConsoleConfiguration, pool: PostgresPool, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.configuration = configuration
        queries = OpsQueries(pool: pool)
        sessions = SessionStore(lifetime: configuration.sessionLifetime, now: now)
        throttle = SignInThrottle(now: now)
        system = SystemInspector(
            broker: configuration.common.broker, prefix: configuration.common.busPrefix,
            serviceURLs: configuration.serviceURLs, http: HTTPClient(retry: .none, logger: logger))
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT, then lets requests in flight finish (bounded by
    /// ATTACHE_SHUTDOWN_TIMEOUT_SECONDS), as the services do.
    public static func serve(_ configuration: ConsoleConfiguration, logger: Logger) async throws {
        let pool = PostgresPool(url: configuration.common.databaseURL, size: configuration.common.databasePoolSize)
        let server = ConsoleServer(configuration, pool: pool, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [.init(service: server.application())], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.common.shutdownTimeout
        logger.info("console started", metadata: ["http": "\(configuration.host):\(configuration.port)"])
        try await ServiceGroup(configuration: group).run()
        logger.info("console stopped")
    }

    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "attache-ops"),
            onServerRunning: { await onRunning($0.localAddress?.port ?? 0) }, logger: logger)
    }

    // MARK: Routes

    func router() -> Router<ConsoleRequestContext> {
        let router = Router(context: ConsoleRequestContext.self)
        router.get("/healthz") { _, _ in "ok\n" }
        // Browsers ask for it on every page; nothing to show, and a 404 would be a console error.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/console.css") { _, _ in asset(Assets.css, type: "text/css; charset=utf-8") }
        router.get("/console.js") { _, _ in asset(Assets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/sign-in") { request, _ in
            sessions.session(sessionID(request)) == nil ? page(Pages.signIn(error: nil)) : redirect("/meetings")
        }
        router.post("/sign-in") { request, context in try await signIn(request, from: context.clientAddress) }
        router.post("/sign-out") { request, _ in
            try await action(request) { session, _ in
                sessions.end(session.id)
                var response = redirect("/sign-in")
                response.headers[.setCookie] = cookie("", maxAge: 0)
                return response
            }
        }
        router.get("/") { request, _ in try await view(request) { _ in redirect("/meetings") } }
        router.get("/meetings") { request, _ in try await view(request) { session in try await meetings(request, session) } }
        router.get("/meetings/:id") { request, context in
            try await view(request) { session in
                guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)),
                    let story = try await queries.story(of: id)
                else { return page(Pages.message("Not found", "No such meeting.", session: session), status: .notFound) }
                return page(Pages.story(story, session: session))
            }
        }
        router.get("/workflows") { request, _ in
            try await view(request) { session in
                let form = FormFields(request.uri.query)
                let pageNumber = max(1, Int(form["page"] ?? "") ?? 1)
                let rows = try await queries.workflows(
                    state: form["state"], limit: configuration.pageSize + 1, offset: (pageNumber - 1) * configuration.pageSize)
                return page(
                    Pages.workflows(
                        Array(rows.prefix(configuration.pageSize)), states: try await queries.workflowStates(),
                        state: form["state"], page: pageNumber, hasMore: rows.count > configuration.pageSize, session: session))
            }
        }
        router.get("/calls") { request, _ in
            try await view(request) { session in
                let form = FormFields(request.uri.query)
                let pageNumber = max(1, Int(form["page"] ?? "") ?? 1)
                let status = form["status"].flatMap { Pages.callStatuses.contains($0) ? $0 : nil }
                let rows = try await queries.calls(
                    status: status, limit: configuration.pageSize + 1, offset: (pageNumber - 1) * configuration.pageSize)
                return page(
                    Pages.calls(
                        Array(rows.prefix(configuration.pageSize)), status: status, page: pageNumber,
                        hasMore: rows.count > configuration.pageSize, session: session))
            }
        }
        router.get("/connections") { request, _ in
            try await view(request) { session in
                let pageNumber = max(1, Int(FormFields(request.uri.query)["page"] ?? "") ?? 1)
                let rows = try await queries.connections(
                    limit: configuration.pageSize + 1, offset: (pageNumber - 1) * configuration.pageSize)
                return page(
                    Pages.connections(
                        Array(rows.prefix(configuration.pageSize)), page: pageNumber,
                        hasMore: rows.count > configuration.pageSize,
                        requested: FormFields(request.uri.query)["requested"].flatMap(UUID.init(uuidString:)),
                        session: session))
            }
        }
        router.post("/connections/:id/sync") { request, context in
            try await action(request) { session, _ in
                guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)),
                    let connection = try await queries.connection(id)
                else {
                    return page(Pages.message("Not found", "No such calendar connection.", session: session), status: .notFound)
                }
                guard connection.status == "active" else {
                    return page(
                        Pages.message(
                            "Not synced",
                            "\(connection.summary) is \(connection.status), not active: its owner must connect it again.",
                            session: session), status: .conflict)
                }
                try await requestSync(of: id, tenantID: connection.tenantID)
                logger.notice("calendar sync requested", metadata: ["connection": "\(id.uuidString.lowercased())"])
                return redirect("/connections?requested=\(id.uuidString.lowercased())")
            }
        }
        router.get("/parked") { request, _ in
            try await view(request) { session in
                let states = await SystemInspector.inspect(
                    OpsQueries.services.map { queues($0).deadLetterQueue }, broker: configuration.common.broker)
                return page(
                    Pages.parkedIndex(
                        OpsQueries.services.map { ($0, states[queues($0).deadLetterQueue] ?? .unknown) }, session: session))
            }
        }
        router.get("/parked/:service") { request, context in
            try await view(request) { session in
                guard let service = knownService(context.parameters.get("service")) else {
                    return page(Pages.message("Not found", "No such service.", session: session), status: .notFound)
                }
                // A service that never ran on this bus prefix has no dead-letter queue, so nothing
                // parked: the page says so (reading a missing queue is an error to the broker).
                let parked: [ParkedMessage]? =
                    try await hasDeadLetterQueue(service)
                    ? try await DeadLetters.list(
                        queues(service), broker: configuration.common.broker, limit: configuration.pageSize)
                    : nil
                return page(
                    Pages.parked(
                        service: service, messages: parked, replayed: FormFields(request.uri.query)["replayed"],
                        session: session))
            }
        }
        router.post("/parked/:service/replay") { request, context in
            try await action(request) { session, form in
                guard let service = knownService(context.parameters.get("service")) else {
                    return page(Pages.message("Not found", "No such service.", session: session), status: .notFound)
                }
                let count =
                    try await hasDeadLetterQueue(service)
                    ? try await DeadLetters.replay(
                        queues(service), broker: configuration.common.broker, messageID: form["id"])
                    : 0
                logger.notice(
                    "replayed parked messages",
                    metadata: ["service": "\(service)", "count": "\(count)", "message_id": "\(form["id"] ?? "all")"])
                return redirect("/parked/\(service)?replayed=\(count)")
            }
        }
        router.get("/system") { request, _ in
            try await view(request) { session in
                page(
                    Pages.system(
                        await system.status(of: OpsQueries.services), probing: !configuration.serviceURLs.urls.isEmpty,
                        session: session))
            }
        }
        return router
    }

    // MARK: Signing in, sessions and CSRF

    func signIn(_ request: Request, from address: String) async throws -> Response {
        guard sameOrigin(request) else { return forbidden("cross-site sign-in refused") }
        if let seconds = throttle.retryAfter(address) {
            logger.notice("sign-in refused: too many wrong tokens", metadata: ["client": "\(address)"])
            var response = page(
                Pages.signIn(error: "Too many wrong tokens from your address: try again in \(seconds) seconds."),
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        let form = FormFields(String(buffer: try await request.body.collect(upTo: 16 * 1024)))
        guard let token = form["token"], constantTimeEquals(token, configuration.operatorToken) else {
            throttle.failed(address)
            logger.notice("sign-in refused: wrong operator token", metadata: ["client": "\(address)"])
            return page(Pages.signIn(error: "That is not the operator token."), status: .unauthorized)
        }
        throttle.succeeded(address)
        let session = sessions.create()
        logger.info("operator signed in")
        var response = redirect("/meetings")
        response.headers[.setCookie] = cookie(session.id, maxAge: Int(configuration.sessionLifetime.components.seconds))
        return response
    }

    func cookie(_ value: String, maxAge: Int) -> String {
        "\(Self.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (configuration.secureCookies ? "; Secure" : "")
    }

    func sessionID(_ request: Request) -> String? { request.cookies[Self.sessionCookie].map { String($0.value) } }

    /// A page for signed-in operators; anyone else is sent to sign in.
    func view(_ request: Request, _ body: (OperatorSession) async throws -> Response) async throws -> Response {
        guard let session = sessions.session(sessionID(request)) else { return redirect("/sign-in") }
        return try await rendering { try await body(session) }
    }

    /// A state-changing request: it needs a session, the session's CSRF token in the form, and
    /// (when the browser says where it comes from) to come from the console itself.
    func action(_ request: Request, _ body: (OperatorSession, FormFields) async throws -> Response) async throws
        -> Response
    {
        guard let session = sessions.session(sessionID(request)) else { return forbidden("sign in first") }
        guard sameOrigin(request) else { return forbidden("cross-site request refused") }
        let form = FormFields(String(buffer: try await request.body.collect(upTo: 16 * 1024)))
        guard let token = form["csrf"], constantTimeEquals(token, session.csrfToken) else {
            logger.notice("request refused: missing or wrong CSRF token", metadata: ["path": "\(request.uri.path)"])
            return forbidden("the form is stale or forged: reload the page and try again")
        }
        return try await rendering { try await body(session, form) }
    }

    /// `Sec-Fetch-Site` and `Origin`, when the browser sends them, must name the console itself.
    func sameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], !["same-origin", "none"].contains(site) {
            return false
        }
        if let origin = request.headers[.origin] {
            guard
                let host = URLComponents(string: origin).flatMap({ components -> String? in
                    guard let host = components.host else { return nil }
                    return components.port.map { "\(host):\($0)" } ?? host
                }), let authority = request.head.authority
            else { return false }
            return host.lowercased() == authority.lowercased()
        }
        return true
    }

    /// Turns what operators can fix (a bad filter) into the page's message and the rest into a
    /// 500 that says where to look, without the error's text (it may quote a connection URL).
    func rendering(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as FieldError {
            return page(Pages.message("Bad request", "\(error.field) \(error.problem)", session: nil), status: .badRequest)
        } catch {
            logger.error("page failed", metadata: ["error": "\(error)"])
            return page(
                Pages.message("Error", "The page could not be read; the console's log says why.", session: nil),
                status: .internalServerError)
        }
    }

    // MARK: Pages' data

    func meetings(_ request: Request, _ session: OperatorSession) async throws -> Response {
        let form = FormFields(request.uri.query)
        do {
            let from = try day(form["from"], field: "from")
            let to = try day(form["to"], field: "to").map { $0.addingTimeInterval(86_400) }
            var cursor: OpsQueries.MeetingCursor?
            if let after = form["after"] {
                guard let parsed = OpsQueries.MeetingCursor(after) else {
                    throw FieldError(field: "after", problem: "is not a page of this list")
                }
                cursor = parsed
            }
            let page = try await queries.meetings(
                .init(title: form["title"], owner: form["owner"], from: from, to: to), after: cursor,
                limit: configuration.pageSize)
            return self.page(Pages.meetings(page.meetings, next: page.next?.text, form: form, error: nil, session: session))
        } catch let error as FieldError {
            return page(Pages.meetings([], next: nil, form: form, error: error, session: session), status: .badRequest)
        }
    }

    /// Asks calendar-monitor, over the bus, to sync a connection now: the console writes no
    /// service's tables, so the service that owns the row changes it. The subscriptions are
    /// declared first, as every publisher declares them, so that the request waits in
    /// calendar-monitor's queue even if no replica has started yet.
    func requestSync(of connectionID: UUID, tenantID: String) async throws {
        let envelope = Envelope(
            tenantID: tenantID, correlationID: UUID(),
            payload: CalendarSyncRequested(connectionID: connectionID, requestedBy: "console"))
        let message = OutgoingMessage(
            exchange: ServiceQueues.eventsExchange(prefix: configuration.common.busPrefix),
            routingKey: envelope.type.routingKey, body: Array(try MessageCoding.encode(envelope)),
            messageID: envelope.id.uuidString.lowercased(), type: envelope.type.description)
        let topology = ServiceQueues.subscriptionsTopology(prefix: configuration.common.busPrefix)
        try await AdminChannel.run(configuration.common.broker) { channel in
            defer { channel.close() }
            try channel.declare(topology)
            try channel.publish(message)
        }
    }

    /// Whether the broker has `service`'s dead-letter queue; throws when the broker did not answer.
    func hasDeadLetterQueue(_ service: String) async throws -> Bool {
        let name = queues(service).deadLetterQueue
        switch await SystemInspector.inspect([name], broker: configuration.common.broker)[name] {
        case .counts?: return true
        case .missing?: return false
        case .unknown?, nil: throw BrokerUnreachable()
        }
    }

    func knownService(_ name: String?) -> String? {
        guard let name, OpsQueries.services.contains(name) else { return nil }
        return name
    }

    func queues(_ service: String) -> ServiceQueues {
        ServiceQueues(prefix: configuration.common.busPrefix, service: service)
    }

    // MARK: Responses

    func page(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
            // with a form's POST, and the console could no longer tell its own forms from others.
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "
                    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                .xContentTypeOptions: "nosniff", HTTPField.Name("Referrer-Policy")!: "same-origin",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html.text)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    func forbidden(_ reason: String) -> Response {
        Response(
            status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: "forbidden: \(reason)\n")))
    }

    func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The broker did not answer a question about a queue; the page's 500 sends the operator to the log.
struct BrokerUnreachable: Error, CustomStringConvertible {
    var description: String { "the broker did not answer (ATTACHE_AMQP_URL)" }
}
