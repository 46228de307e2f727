import Delivery
import Foundation
import HTTPClient
import Hummingbird
import Logging
import Metrics
import Runtime
import Shared
import Store
import Twilio

/// Twilio's status callbacks for the texts prep-orchestrator sends (`POST
/// /webhooks/twilio/status`). The signature is checked, over the URL Twilio requested and every
/// form field, before anything in the request is read. A verified callback becomes
/// `sms.status.received` through the outbox, once per message and status: Twilio may send a
/// callback again, and a replayed one is a duplicate. Only final statuses are passed on
/// (`delivered`, `undelivered`, `failed`); the others (`queued`, `sent`…) are answered and dropped.
///
/// Answers 403 to a missing or wrong signature, 400 to a callback without `MessageSid` or
/// `MessageStatus`, 200 otherwise, and 500 when it cannot record (so that Twilio retries).
struct TwilioStatusReceiver: Sendable {
    static let path = "/webhooks/twilio/status"

    /// ATTACHE_TWILIO_AUTH_TOKEN: without it the route is not served. The URL Twilio signs is
    /// the gateway's public one (ATTACHE_PUBLIC_URL) with this path and the request's query.
    struct Settings: Sendable {
        var authToken: String
        var tenantID: String

        init?(_ env: Runtime.Environment) throws(ConfigurationError) {
            guard let token = env.optionalString("ATTACHE_TWILIO_AUTH_TOKEN") else { return nil }
            guard token.utf8.count >= 16 else {
                throw ConfigurationError(
                    setting: "ATTACHE_TWILIO_AUTH_TOKEN", problem: "is too short to be a Twilio auth token")
            }
            authToken = token
            tenantID = env.string("ATTACHE_TENANT_ID", default: "default")
        }
    }

    let settings: Settings
    /// The gateway's public base URL, without a trailing slash.
    let publicURL: String
    let pool: PostgresPool
    let outbox: Outbox
    let logger: Logger

    func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
            return try await receive(
                query: request.uri.query,
                signature: request.headers.first { $0.name.canonicalName == "x-twilio-signature" }?.value, body: body)
        }
    }

    func receive(query: String?, signature: String?, body: String) async throws -> Response {
        let url = publicURL + Self.path + (query.map { "?\($0)" } ?? "")
        let fields = FormEncoding.decode(body)
        do {
            try TwilioSignature.verify(url: url, parameters: fields, signature: signature, authToken: settings.authToken)
        } catch {
            count("refused")
            logger.warning("Twilio callback refused", metadata: ["reason": "\(error)"])
            return Response(status: .forbidden)
        }
        let form = Dictionary(fields) { _, last in last }
        guard let sid = form["MessageSid"], let status = form["MessageStatus"] else {
            count("unreadable")
            return Response(status: .badRequest)
        }
        guard ["delivered", "undelivered", "failed"].contains(status) else {
            count("ignored")
            return Response(status: .ok)
        }
        let delivery = query.flatMap { FormEncoding.decode($0).first { $0.0 == "delivery" }?.1 }.flatMap(UUID.init(uuidString:))
        let report = SMSStatusReceived(
            messageSID: sid, status: status, errorCode: form["ErrorCode"].flatMap { Int($0) }, to: form["To"],
            deliveryID: delivery)
        let (outbox, tenant) = (outbox, settings.tenantID)
        let isNew = try await outbox.transaction(pool) { db in
            guard
                try db.execute(
                    "INSERT INTO \(outbox.schema).twilio_receipts (key) VALUES ($1) ON CONFLICT DO NOTHING", ["\(sid):\(status)"])
                    == 1
            else { return false }
            try outbox.append(Envelope(tenantID: tenant, correlationID: delivery ?? UUID(), payload: report), on: db)
            return true
        }
        count(isNew ? "published" : "duplicate")
        return Response(status: .ok)
    }

    private func count(_ outcome: String) {
        Counter(label: "attache_twilio_callbacks_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// The receipts table, to be appended to `GatewaySchema.migrations`.
    static let receiptsMigration = Migration(
        "0105_twilio_receipts",
        """
        -- One row per verified Twilio status callback, keyed by message SID and status: a
        -- callback sent again, or replayed, has its effect once.
        CREATE TABLE {schema}.twilio_receipts (
            key text PRIMARY KEY,
            received_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX twilio_receipts_by_time ON {schema}.twilio_receipts (received_at);
        """)
}
