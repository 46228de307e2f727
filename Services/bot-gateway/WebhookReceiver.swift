import Delivery
import Foundation
import Hummingbird
import Logging
import Metrics
import Shared
import Store

/// `POST /webhooks/recall`: verifies the signature before reading anything, records the
/// webhook once by its id, and turns bot status changes and transcript segments into events,
/// all in one transaction. Answers 401 to a forged or stale webhook, 400 to an unreadable one,
/// and 5xx when it cannot store it, so that the provider retries.
struct WebhookReceiver: Sendable {
    let secret: WebhookSecret
    let pool: PostgresPool
    let outbox: Outbox
    let provider: String
    let logger: Logger

    static let path = "/webhooks/recall"

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
                webhook = try JSONDecoder().decode(RecallWebhook.self, from: Data(body))
            } catch {
                Counter(label: "attache_webhooks_total", dimensions: [("outcome", "unreadable")]).increment()
                logger.warning("webhook unreadable", metadata: ["error": "\(DecodingProblem(error))"])
                return Response(status: .badRequest)
            }
            do {
                let outcome = try await record(webhook, id: header("webhook-id")!, body: String(decoding: body, as: UTF8.self))
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

    func record(_ webhook: RecallWebhook, id: String, body: String) async throws -> Outcome {
        let (outbox, provider, logger) = (outbox, provider, logger)
        let outcome = try await outbox.transaction(pool) { db -> Outcome in
            let claimed = try db.execute(
                "INSERT INTO gateway.webhook_receipts (webhook_id, event, outcome, body) VALUES ($1, $2, '', $3) ON CONFLICT DO NOTHING",
                [id, webhook.event, body])
            guard claimed == 1 else { return .duplicate }
            let outcome = try Self.apply(webhook.meaning(receivedAt: Date()), provider: provider, outbox: outbox, on: db)
            try db.execute("UPDATE gateway.webhook_receipts SET outcome = $2 WHERE webhook_id = $1", [id, outcome.text])
            return outcome
        }
        if case .ignored(let reason) = outcome {
            logger.notice(
                "webhook kept but not acted on",
                metadata: ["webhook_id": "\(id)", "event": "\(webhook.event)", "reason": "\(reason)"])
        }
        return outcome
    }

    static func apply(
        _ meaning: RecallWebhook.Meaning, provider: String, outbox: Outbox, on db: PostgresConnection
    ) throws -> Outcome {
        switch meaning {
        case .other:
            return .ignored("event not used")
        case .status(let botID, _, let status, let subCode, let at):
            guard let bot = try db.queryOne("SELECT * FROM gateway.bots WHERE bot_id = $1 FOR UPDATE", [botID]) else {
                throw UnknownBot(botID: botID)
            }
            if status.rawValue.hasPrefix("recording_permission_") {
                // An event beside the statuses: the bot stays where it is.
                try db.execute(
                    """
                    INSERT INTO gateway.bot_status_history (bot_id, status, sub_code, changed_at, event, applied)
                    VALUES ($1, $2, $3, $4, $2, false)
                    """, [botID, status.rawValue, subCode, at])
                if status.rawValue == "recording_permission_denied" {
                    try BotProblems.record(
                        bot, problem: "recording_permission_denied", status: nil,
                        explanation: BotLifecycle.explanations["recording_permission_denied"]!, at: at, outbox: outbox,
                        on: db)
                }
                return .published("recording permission event")
            }
            let decision = BotLifecycle.decide(
                current: BotStatus(rawValue: try bot.string("status")), since: try bot.optionalDate("status_at"),
                incoming: status, at: at)
            try db.execute(
                "INSERT INTO gateway.bot_status_history (bot_id, status, sub_code, changed_at, applied) VALUES ($1, $2, $3, $4, $5)",
                [botID, status.rawValue, subCode, at, decision == .advance])
            if decision == .advance {
                try db.execute(
                    "UPDATE gateway.bots SET status = $2, status_at = $3, sub_code = $4, updated_at = now() WHERE bot_id = $1",
                    [botID, status.rawValue, at, subCode])
                if let problem = BotLifecycle.problem(status, subCode: subCode) {
                    try BotProblems.record(
                        bot, problem: problem.problem, status: status, explanation: problem.explanation, at: at,
                        outbox: outbox, on: db)
                }
            }
            // Every status goes on: the realtime worker orders a call's statuses by their time.
            try outbox.append(
                Envelope(
                    tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"),
                    payload: BotStatusChanged(
                        meetingID: try bot.uuid("meeting_id"), botID: botID, provider: provider, status: status,
                        subCode: subCode, changedAt: at)), on: db)
            return .published(BotStatusChanged.messageType.description)
        case .transcript(let botID, _, let speaker, let text, let at):
            guard let bot = try db.queryOne("SELECT * FROM gateway.bots WHERE bot_id = $1", [botID]) else {
                throw UnknownBot(botID: botID)
            }
            try outbox.append(
                Envelope(
                    tenantID: try bot.string("tenant_id"), correlationID: try bot.uuid("correlation_id"),
                    payload: BotTranscriptReceived(
                        meetingID: try bot.uuid("meeting_id"), botID: botID, speaker: speaker, text: text, spokenAt: at)),
                on: db)
            return .published(BotTranscriptReceived.messageType.description)
        }
    }
}

/// A webhook about a bot this gateway has no row for: the row may not be committed yet.
struct UnknownBot: Error {
    var botID: String
}
