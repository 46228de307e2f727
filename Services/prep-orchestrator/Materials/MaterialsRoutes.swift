import Foundation
import Hummingbird
import Store

/// `/materials/{id}/{file}`: the embedded store's files, for links whose signature and expiry
/// hold. A forged or expired link gets 403 and a body that says which.
struct MaterialsRoutes: Sendable {
    let pool: PostgresPool
    let links: MaterialsLinks
    var clock: @Sendable () -> Date = { Date() }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/materials/{id}/{file}") { request, context -> Response in
            let id = try context.parameters.require("id", as: UUID.self)
            let file = try context.parameters.require("file")
            switch links.check(
                file, materials: id, expires: request.uri.queryParameters["expires"].map(String.init),
                signature: request.uri.queryParameters["signature"].map(String.init), now: clock())
            {
            case .forged: return Self.refuse("This link is not valid: it was changed, or was never issued.")
            case .expired: return Self.refuse("This link has expired. The reminder before the meeting brings fresh links.")
            case .valid: break
            }
            guard
                let row = try await pool.withConnection({ db in
                    try db.queryOne(
                        "SELECT content_type, body FROM prep.material_files WHERE materials_id = $1 AND name = $2", [id, file])
                })
            else { throw HTTPError(.notFound, message: "These materials are no longer kept (they are deleted after 30 days).") }
            return Response(
                status: .ok,
                headers: [
                    .contentType: try row.string("content_type"), .cacheControl: "private, no-store",
                    .init("Content-Security-Policy")!: "default-src 'none'", .init("X-Content-Type-Options")!: "nosniff",
                ],
                body: .init(byteBuffer: ByteBuffer(string: try row.string("body"))))
        }
    }

    private static func refuse(_ why: String) -> Response {
        Response(
            status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: why + "\n")))
    }
}
