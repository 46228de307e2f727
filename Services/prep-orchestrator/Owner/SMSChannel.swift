import Foundation
import Store
import Twilio

/// A text message to the owner's phone (from the tenant's directory) through Twilio: short, the
/// headline and the one link that matters (the prep page, then the agenda), within two segments.
/// Twilio reports the message's fate to `statusCallback` (bot-gateway), which names the
/// delivery, so that an undelivered text moves the chain on. An owner without a number, or one
/// who replied STOP (kept in `prep.opt_outs`), is not texted; the chain goes on.
struct SMSChannel: OwnerChannel {
    let client: TwilioClient
    let directory: OwnerDirectory
    let pool: PostgresPool
    /// bot-gateway's `/webhooks/twilio/status`, as Twilio reaches it; nil: no reports.
    var statusCallback: String? = nil
    var name: String { "sms" }

    struct NoNumber: Error, CustomStringConvertible {
        var owner: String
        var description: String { "the directory has no phone number for \(owner)" }
    }

    struct OptedOut: Error, CustomStringConvertible {
        var phone: String
        var reason: String
        var since: Date
        var description: String { "\(phone) \(reason) on \(since.formatted(.iso8601)); not texted" }
    }

    func deliver(_ message: OwnerMessage) async throws -> String? {
        guard let phone = try directory.phone(of: message.recipient, tenant: message.tenant) else {
            throw NoNumber(owner: message.recipient)
        }
        if let optOut = try await Self.optOut(of: phone, tenant: message.tenant, on: pool) { throw optOut }
        do {
            return try await client.send(to: phone, body: Self.body(message), statusCallback: callback(for: message)).sid
        } catch TwilioError.optedOut {
            try await Self.recordOptOut(phone, tenant: message.tenant, on: pool)
            throw TwilioError.optedOut
        }
    }

    /// The callback URL names the delivery (Twilio signs the whole URL, query included).
    private func callback(for message: OwnerMessage) -> String? {
        guard let statusCallback, let id = message.deliveryID else { return nil }
        return statusCallback + (statusCallback.contains("?") ? "&" : "?") + "delivery=\(id.uuidString.lowercased())"
    }

    /// Two GSM segments hold 306 characters; the link goes whole, so the headline gives way.
    static func body(_ message: OwnerMessage) -> String {
        guard let link = message.links.first else { return String(message.headline.prefix(300)) }
        let tail = " \(link.label): \(link.url)"
        return String(message.headline.prefix(max(40, 300 - tail.count))) + tail
    }

    static let stopReason = "replied STOP (Twilio error 21610)"

    static func recordOptOut(_ phone: String, tenant: String, on pool: PostgresPool) async throws {
        _ = try await pool.withConnection { db in try recordOptOut(phone, tenant: tenant, on: db) }
    }

    static func recordOptOut(_ phone: String, tenant: String, on db: PostgresConnection) throws {
        try db.execute(
            """
            INSERT INTO prep.opt_outs (tenant_id, channel, address, reason) VALUES ($1, 'sms', $2, $3)
            ON CONFLICT DO NOTHING
            """, [tenant, phone, stopReason])
    }

    static func optOut(of phone: String, tenant: String, on pool: PostgresPool) async throws -> OptedOut? {
        try await pool.withConnection { db in
            try db.queryOne(
                "SELECT reason, opted_out_at FROM prep.opt_outs WHERE tenant_id = $1 AND channel = 'sms' AND address = $2",
                [tenant, phone]
            ).map { OptedOut(phone: phone, reason: try $0.string("reason"), since: try $0.date("opted_out_at")) }
        }
    }
}
