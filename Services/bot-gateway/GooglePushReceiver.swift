import Crypto
import Delivery
import Foundation
import Hummingbird
import Logging
import Metrics
import Runtime
import Shared
import Store

/// `POST /webhooks/google-calendar`: Google Calendar push notifications
/// (https://developers.google.com/calendar/api/guides/push). A notification carries no calendar
/// data, only headers: `X-Goog-Channel-ID`, `X-Goog-Channel-Token` (what calendar-monitor set
/// when it opened the channel), `X-Goog-Resource-ID`, `X-Goog-Resource-State` (`sync` when the
/// channel opens, `exists` on a change, `not_exists` when the resource is gone) and
/// `X-Goog-Message-Number`. A verified notification becomes `calendar.push.received` through the
/// outbox, once per (channel, message number): Google retries a notification whose answer was
/// 500, 502, 503 or 504, so the same message can arrive twice.
///
/// Answers 401 when the token is missing or is not the HMAC of the channel id under the shared
/// secret, 400 when the resource state is missing, 200 when recorded or a duplicate, and 500 when
/// it cannot store it (so that Google retries).
struct GooglePushReceiver: Sendable {
    static let path = "/webhooks/google-calendar"

    let secret: GoogleChannelSecret
    let recorder: any GooglePushRecording
    let logger: Logger

    /// ATTACHE_GOOGLE_CHANNEL_SECRET (the same value calendar-monitor has; at least 32
    /// characters): without it the route is not served. ATTACHE_TENANT_ID (default "default")
    /// names the tenant on the events, since a notification carries none.
    struct Settings: Sendable {
        var secret: GoogleChannelSecret
        var tenantID: String

        init?(_ env: Runtime.Environment) throws(ConfigurationError) {
            guard let secret = env.optionalString("ATTACHE_GOOGLE_CHANNEL_SECRET") else { return nil }
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(setting: "ATTACHE_GOOGLE_CHANNEL_SECRET", problem: "must be at least 32 characters")
            }
            self.secret = GoogleChannelSecret(secret)
            tenantID = env.string("ATTACHE_TENANT_ID", default: "default")
        }
    }

    init(secret: GoogleChannelSecret, recorder: any GooglePushRecording, logger: Logger) {
        self.secret = secret
        self.recorder = recorder
        self.logger = logger
    }

    /// The receiver as bot-gateway runs it: notifications recorded in `gateway` and published
    /// through its outbox.
    init(settings: Settings, pool: PostgresPool, outbox: Outbox, logger: Logger) {
        self.init(
            secret: settings.secret, recorder: GooglePushStore(pool: pool, outbox: outbox, tenantID: settings.tenantID),
            logger: logger)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ -> Response in
            // Google sends no body; read at most a little of whatever comes, then ignore it.
            _ = try await request.body.collect(upTo: 1 << 16)
            return Response(status: try await receive(request.headers))
        }
    }

    /// Verifies and records one notification; returns the status to answer with.
    func receive(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
        func header(_ name: String) -> String? {
            headers.first { $0.name.canonicalName == name }?.value.trimmingCharacters(in: .whitespaces)
        }
        guard let channelID = header("x-goog-channel-id"), !channelID.isEmpty,
            secret.verify(token: header("x-goog-channel-token"), channelID: channelID)
        else {
            Counter(label: "attache_google_push_notifications_total", dimensions: [("outcome", "refused")]).increment()
            logger.warning("Google push notification refused: missing channel id or a channel token that does not verify")
            return .unauthorized
        }
        guard let state = header("x-goog-resource-state"), !state.isEmpty else {
            Counter(label: "attache_google_push_notifications_total", dimensions: [("outcome", "unreadable")]).increment()
            logger.warning("Google push notification without X-Goog-Resource-State", metadata: ["channel": "\(channelID)"])
            return .badRequest
        }
        let push = CalendarPushReceived(
            provider: "google", channelID: channelID, resourceID: header("x-goog-resource-id"), resourceState: state,
            messageNumber: header("x-goog-message-number").flatMap { Int($0) })
        let isNew = try await recorder.record(push)
        Counter(label: "attache_google_push_notifications_total", dimensions: [("outcome", isNew ? "published" : "duplicate")])
            .increment()
        logger.debug(
            "Google push notification",
            metadata: [
                "channel": "\(channelID)", "state": "\(state)", "message": "\(push.messageNumber.map(String.init) ?? "")",
                "duplicate": "\(!isNew)",
            ])
        return .ok
    }

    /// The receipts table, to be appended to `GatewaySchema.migrations`.
    static let receiptsMigration = Migration(
        "0103_google_push_receipts",
        """
        -- One row per Google Calendar push notification, keyed as Google numbers them: a retried
        -- notification has its effect once.
        CREATE TABLE {schema}.google_push_receipts (
            channel_id text NOT NULL,
            message_number bigint NOT NULL,
            resource_id text,
            resource_state text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (channel_id, message_number));
        CREATE INDEX google_push_receipts_by_time ON {schema}.google_push_receipts (received_at);
        """)
}

/// Where verified notifications go: true when this one is new, false for a duplicate.
protocol GooglePushRecording: Sendable {
    func record(_ push: CalendarPushReceived) async throws -> Bool
}

/// Records a notification and its `calendar.push.received` event in one transaction.
struct GooglePushStore: GooglePushRecording {
    let pool: PostgresPool
    let outbox: Outbox
    /// A notification names no tenant; calendar-monitor finds the connection by channel id.
    let tenantID: String

    func record(_ push: CalendarPushReceived) async throws -> Bool {
        let (outbox, tenantID) = (outbox, tenantID)
        return try await outbox.transaction(pool) { db in
            if let number = push.messageNumber {
                let claimed = try db.execute(
                    """
                    INSERT INTO \(outbox.schema).google_push_receipts (channel_id, message_number, resource_id, resource_state)
                    VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
                    """, [push.channelID, number, push.resourceID, push.resourceState])
                guard claimed == 1 else { return false }
            }
            // The channel ids calendar-monitor opens are UUIDs: the channel's story correlates.
            try outbox.append(
                Envelope(tenantID: tenantID, correlationID: UUID(uuidString: push.channelID) ?? UUID(), payload: push), on: db)
            return true
        }
    }
}

/// The secret that Google push channel tokens derive from (ATTACHE_GOOGLE_CHANNEL_SECRET, shared
/// with calendar-monitor). A channel's token is hex(HMAC-SHA256(key: the UTF-8 secret, message:
/// the UTF-8 channel id)), as calendar-monitor's `GoogleChannelToken` computes it. Its
/// description never shows the secret.
struct GoogleChannelSecret: Sendable, CustomStringConvertible {
    private let key: SymmetricKey

    init(_ secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    var description: String { "***" }

    func token(channelID: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(channelID.utf8), using: key)
        let digits = Array("0123456789abcdef")
        return String(code.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] })
    }

    /// Constant-time check of `token` (64 hex digits, either case) against the channel id.
    func verify(token: String?, channelID: String) -> Bool {
        guard let token, let code = Self.bytes(fromHex: token), code.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Data(channelID.utf8), using: key)
    }

    private static func bytes(fromHex text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = nibble(characters[index]), let low = nibble(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
