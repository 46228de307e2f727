import Foundation
import HTTPClient
import Logging

/// An operator's browser, reduced to what the benchmark needs: a session cookie and GETs.
struct ConsoleClient {
    let base: String
    private let http = HTTPClient(retry: .none, logger: Logger(label: "bench-console"))
    private let session: String

    /// Signs in with the operator token, as the sign-in form does.
    init(base: String, token: String) async throws {
        self.base = base
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: base + "/sign-in", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("token=\(token.addingPercentEncoding(withAllowedCharacters: allowed)!)".utf8)))
        guard response.status == 303, let cookie = response.headers["set-cookie"],
            let value = cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last
        else { fail("signing in answered \(response.status): is ATTACHE_OPS_TOKEN the console's?") }
        session = String(value)
    }

    /// GETs a page as the signed-in operator; returns its length. A page that is not 200 ends
    /// the benchmark: a fast error page measures nothing.
    func get(_ path: String) async throws -> Int {
        let response = try await http.send(
            OutboundRequest(url: base + path, headers: [("Cookie", "attache_ops_session=\(session)")]))
        guard response.status == 200 else { fail("\(path) answered \(response.status): \(response.text.prefix(300))") }
        return response.body.count
    }
}
