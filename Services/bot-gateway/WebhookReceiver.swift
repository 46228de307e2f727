import Delivery
import Foundation
import Hummingbird
import Logging
import Metrics
import Shared
import Store

/// `POST /webhooks/recall`: verifies the signature before reading anything, records the
/// webhook once by its id, and turns bot status changes and transcript segments into events,
/// all in the transaction that records it (shared with the webhooks that arrive meanwhile: see
/// `WebhookBatcher`). Answers 401 to a forged or stale webhook, 400 to an unreadable one, 200
/// once its effects are committed, and 5xx when it cannot store it, so that the provider retries.
struct WebhookReceiver: Sendable {
    let secret: WebhookSecret
    let pool: PostgresPool
    let outbox: Outbox
    let provider: String
    let logger: Logger
    let batcher: WebhookBatcher

    static let path = "/webhooks/recall"

    init(
        secret: WebhookSecret, pool: PostgresPool, outbox: Outbox, provider: String,
        batching: WebhookBatcher.Settings = WebhookBatcher.Settings(), logger: Logger
    ) {
        self.secret = secret
        self.pool = pool
        self.outbox = outbox
        self.provider = provider
        self.logger = logger
        batcher = WebhookBatcher(settings: batching, logger: logger) { webhooks in
            try await outbox.transaction(pool, priority: .urgent) { db in
                try Self.record(webhooks, provider: provider, outbox: outbox, on: db)
            }
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = Array(buffer.readableBytesView)
            let headers = request.headers
            // Standard Webhooks headers; accounts created before 2025-12-15 send svix-* instead.
            func header(_ name: String) -> String? {
                let legacy = "svix-" + name.dropFirst("webhook-".count)
                return headers.first { $0.name.canonicalName == name }?.value
                    ?? headers.first { $0.name.canonicalName == legacy }?.value
            }
            do {
                try secret.verify(
                    id: header("webhook-id"), timestamp: header("webhook-timestamp"),
                    signatures: header("webhook-signature"), body: body)
            } catch {
                Counter(label: "attache_webhooks_total", dimensions: [("outcome", "refused")]).increment()
                logger.warning("webhook refused", metadata: ["reason": "\(error)"])
                return Response(status: .unauthorized)
            }
            let webhook: RecallWebhook
            do {
                webhook = try RecallWebhook(parsing: body)
            } catch {
                Counter(label: "attache_webhooks_total", dimensions: [("outcome", "unreadable")]).increment()
                logger.warning("webhook unreadable", metadata: ["error": "\(error)"])
                return Response(status: .badRequest)
            }
            do {
                let id = header("webhook-id")!
                let outcome = try await batcher.record(
                    ReceivedWebhook(
                        id: id, event: webhook.event, body: String(decoding: body, as: UTF8.self),
                        meaning: webhook.meaning(receivedAt: Date())))
                if case .ignored(let reason) = outcome {
                    logger.notice(
                        "webhook kept but not acted on",
                        metadata: ["webhook_id": "\(id)", "event": "\(webhook.event)", "reason": "\(reason)"])
                }
                Counter(label: "attache_webhooks_total", dimensions: [("outcome", outcome.metricLabel)]).increment()
                return Response(status: .ok)
            } catch let unknown as UnknownBot {
                // Kept nowhere and answered 503: the provider sends it again, by when the bot's
                // row (written just after the provider created the bot) is there.
                Counter(label: "attache_webhooks_total", dimensions: [("outcome", "unknown_bot")]).increment()
                logger.warning(
                    "webhook for a bot not recorded (yet); asking the provider to retry", metadata: ["bot_id": "\(unknown.botID)"]
                )
                return Response(status: .serviceUnavailable, headers: [.retryAfter: "5"])
            }
        }
    }

    enum Outcome: Sendable {
        case published(String)
        case duplicate
        case ignored(String)

        var text: String {
            switch self {
            case .published(let type): "published \(type)"
            case .duplicate: "duplicate"
            case .ignored(let reason): "ignored: \(reason)"
            }
        }

        var metricLabel: String {
            switch self {
            case .published: "published"
            case .duplicate: "duplicate"
            case .ignored: "ignored"
            }
        }
    }

    /// Records webhooks in one transaction, in order: each one's receipt by its webhook-id (a
    /// webhook-id seen before, in an earlier transaction or earlier in this one, is a duplicate
    /// and has no effect), then its effects. A webhook about a bot without a row gets UnknownBot
    /// and leaves no receipt, so that the provider's retry is not taken for a duplicate.
    static func record(
        _ webhooks: [ReceivedWebhook], provider: String, outbox: Outbox, on db: PostgresConnection
    ) throws -> [Result<Outcome, UnknownBot>] {
        var effects = try WebhookEffects(for: webhooks.map(\.meaning), provider: provider, outbox: outbox, on: db)
        var results = [Result<Outcome, UnknownBot>?](repeating: nil, count: webhooks.count)
        var first: [String: Int] = [:]
        for (index, webhook) in webhooks.enumerated() {
            if let botID = webhook.meaning.botID, !effects.knows(botID) {
                results[index] = .failure(UnknownBot(botID: botID))
            } else if first[webhook.id] != nil {
                results[index] = .success(.duplicate)
            } else {
                first[webhook.id] = index
            }
        }
        // Receipts in webhook-id order, as the bots are locked in bot id order: two transactions
        // claiming the same webhook-ids wait for each other rather than deadlock.
        let claiming = first.values.sorted { webhooks[$0].id < webhooks[$1].id }.map { webhooks[$0] }
        var claimed: Set<String> = []
        if !claiming.isEmpty {
            for row in try db.query(
                """
                INSERT INTO gateway.webhook_receipts (webhook_id, event, outcome, body)
                SELECT webhook_id, event, '', body FROM unnest($1::text[], $2::text[], $3::text[]) AS r(webhook_id, event, body)
                ON CONFLICT DO NOTHING RETURNING webhook_id
                """,
                [PostgresArray(claiming.map(\.id)), PostgresArray(claiming.map(\.event)), PostgresArray(claiming.map(\.body))])
            {
                claimed.insert(try row.string("webhook_id"))
            }
        }
        var outcomes: [(id: String, text: String)] = []
        for (index, webhook) in webhooks.enumerated() where results[index] == nil {
            guard claimed.contains(webhook.id) else {
                results[index] = .success(.duplicate)
                continue
            }
            let outcome = try effects.apply(webhook.meaning, on: db)
            results[index] = .success(outcome)
            outcomes.append((webhook.id, outcome.text))
        }
        try effects.write(on: db)
        if !outcomes.isEmpty {
            try db.execute(
                """
                UPDATE gateway.webhook_receipts AS r SET outcome = u.outcome
                FROM unnest($1::text[], $2::text[]) AS u(webhook_id, outcome) WHERE r.webhook_id = u.webhook_id
                """, [PostgresArray(outcomes.map { $0.id }), PostgresArray(outcomes.map { $0.text })])
        }
        return results.map { $0! }
    }

    /// Applies one webhook's meaning on its own (for tests of the bot's life).
    static func apply(
        _ meaning: RecallWebhook.Meaning, provider: String, outbox: Outbox, on db: PostgresConnection
    ) throws -> Outcome {
        var effects = try WebhookEffects(for: [meaning], provider: provider, outbox: outbox, on: db)
        let outcome = try effects.apply(meaning, on: db)
        try effects.write(on: db)
        return outcome
    }
}

/// A webhook about a bot this gateway has no row for: the row may not be committed yet.
struct UnknownBot: Error {
    var botID: String
}
