import Crypto
import Foundation
import Hummingbird
import ObjectStore
import Runtime
import Store

/// The unsubscribe link in each e-mail: `{publicURL}/unsubscribe/email?tenant=…&address=…&signature=…`,
/// signed with the service's key so that nobody can unsubscribe someone else. GET shows a page
/// with one button (mail scanners follow links, and must not unsubscribe anyone); POST, from
/// that button or from a mail client's one-click (RFC 8058), records the opt-out.
struct EmailUnsubscribe: Sendable {
    static let path = "/unsubscribe/email"
    static let reason = "unsubscribed with the link in an e-mail"

    let baseURL: String
    let key: SymmetricKey
    let pool: PostgresPool

    func link(for address: String, tenant: String) -> URL {
        var components = URLComponents(string: baseURL + Self.path)!
        components.queryItems = [
            URLQueryItem(name: "tenant", value: tenant), URLQueryItem(name: "address", value: address),
            URLQueryItem(name: "signature", value: signature(address, tenant).lowercaseHex),
        ]
        return components.url!
    }

    /// When the address unsubscribed, or nil.
    func optedOut(_ address: String, tenant: String) async throws -> Date? {
        try await pool.withConnection { db in
            try db.queryOne(
                "SELECT opted_out_at FROM prep.opt_outs WHERE tenant_id = $1 AND channel = 'email' AND address = lower($2)",
                [tenant, address]
            )?.date("opted_out_at")
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.path)) { request, _ -> Response in
            guard let (address, _) = verified(request) else { return Self.page(.forbidden, Self.forged) }
            return Self.page(
                .ok,
                "<p>Stop e-mails from Attaché to \(HTMLEscaping.escape(address))? Slack and the prep page still work.</p>"
                    + "<form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>")
        }
        router.post(RouterPath(Self.path)) { request, _ -> Response in
            guard let (address, tenant) = verified(request) else { return Self.page(.forbidden, Self.forged) }
            _ = try await pool.withConnection { db in
                try db.execute(
                    """
                    INSERT INTO prep.opt_outs (tenant_id, channel, address, reason) VALUES ($1, 'email', lower($2), $3)
                    ON CONFLICT DO NOTHING
                    """, [tenant, address, Self.reason])
            }
            return Self.page(.ok, "<p>Done: Attaché will not e-mail \(HTMLEscaping.escape(address)) again.</p>")
        }
    }

    private static let forged = "<p>This unsubscribe link is not valid: it was changed, or was never issued.</p>"

    private func verified(_ request: Request) -> (address: String, tenant: String)? {
        let query = request.uri.queryParameters
        guard let address = query["address"].map(String.init), let tenant = query["tenant"].map(String.init),
            let given = query["signature"].map(String.init), given.utf8.count == 2 * SHA256.byteCount,
            let mac = [UInt8](hex: given),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.signed(address, tenant), using: key)
        else { return nil }
        return (address, tenant)
    }

    private func signature(_ address: String, _ tenant: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.signed(address, tenant), using: key))
    }

    private static func signed(_ address: String, _ tenant: String) -> Data {
        Data("unsubscribe:email:\(tenant):\(address.lowercased())".utf8)
    }

    private static func page(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(
                byteBuffer: ByteBuffer(
                    string: "<!doctype html>\n<html><head><title>Attaché e-mails</title></head><body>\(body)</body></html>\n")))
    }
}
