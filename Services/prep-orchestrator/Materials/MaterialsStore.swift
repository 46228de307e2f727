import Crypto
import Foundation
import ObjectStore
import Resilience
import Store

/// Where a generation of materials lives: its id, and the tenant and meeting it belongs to.
struct MaterialsKey: Sendable, Equatable {
    var id: UUID
    var tenant: String
    var meeting: UUID
}

/// A link to one file of the materials, and when it stops working.
struct MaterialLink: Sendable, Equatable {
    var file: String
    var url: String
    var expiresAt: Date
}

/// Keeps materials' files and hands out expiring links to them: the embedded store keeps them in
/// PostgreSQL behind HMAC-signed links; an S3-compatible store behind presigned URLs.
protocol MaterialsStore: Sendable {
    var name: String { get }
    /// Puts the files where they live outside the database, before the step completes (the
    /// embedded store has nothing to do here).
    func upload(_ files: [MaterialFile], key: MaterialsKey) async throws
    /// Records the files among the step's effects (the embedded store's whole work).
    func record(_ files: [MaterialFile], key: MaterialsKey, into effects: inout StepEffects)
    func link(_ file: String, key: MaterialsKey, now: Date) -> MaterialLink
    /// Deletes what `upload` put outside the database (the sweep of old materials).
    func remove(_ files: [String], key: MaterialsKey) async throws
}

/// The embedded store: files in `prep.material_files`, served by prep-orchestrator at
/// `/materials/{id}/{file}` with links signed by `MaterialsLinks`.
struct DatabaseMaterialsStore: MaterialsStore {
    let links: MaterialsLinks
    var name: String { "database" }

    func upload(_ files: [MaterialFile], key: MaterialsKey) async throws {}

    func record(_ files: [MaterialFile], key: MaterialsKey, into effects: inout StepEffects) {
        for file in files {
            effects.write(
                """
                INSERT INTO prep.material_files (materials_id, name, content_type, body)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
                ON CONFLICT (materials_id, name) DO UPDATE SET content_type = EXCLUDED.content_type, body = EXCLUDED.body
                """, [key.id, file.name, file.contentType, file.body])
        }
    }

    func link(_ file: String, key: MaterialsKey, now: Date) -> MaterialLink {
        links.link(file, materials: key.id, now: now)
    }

    /// The files go with their rows.
    func remove(_ files: [String], key: MaterialsKey) async throws {}
}

/// HMAC-signed, expiring links to `/materials/{id}/{file}`: the signature covers the id, the
/// file and the expiry, so none of them can be changed without the key.
struct MaterialsLinks: Sendable {
    enum Check: Equatable {
        case valid
        case expired
        case forged
    }

    let baseURL: String
    let key: SymmetricKey
    var lifetime: Duration = .seconds(24 * 3600)

    func link(_ file: String, materials: UUID, now: Date) -> MaterialLink {
        let expiresAt = now.addingTimeInterval(lifetime.secondsValue).rounded
        let expires = Int(expiresAt.timeIntervalSince1970)
        let signature = sign(materials, file, expires).lowercaseHex
        let url = "\(baseURL)/materials/\(materials.uuidString.lowercased())/\(file)?expires=\(expires)&signature=\(signature)"
        return MaterialLink(file: file, url: url, expiresAt: expiresAt)
    }

    func check(_ file: String, materials: UUID, expires: String?, signature: String?, now: Date) -> Check {
        guard let expires = expires.flatMap(Int.init), let signature, signature.utf8.count == 2 * SHA256.byteCount,
            let mac = [UInt8](hex: signature),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.message(materials, file, expires), using: key)
        else { return .forged }
        return Double(expires) > now.timeIntervalSince1970 ? .valid : .expired
    }

    private func sign(_ materials: UUID, _ file: String, _ expires: Int) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.message(materials, file, expires), using: key))
    }

    private static func message(_ materials: UUID, _ file: String, _ expires: Int) -> Data {
        Data("\(materials.uuidString.lowercased())/\(file)/\(expires)".utf8)
    }
}

extension Date {
    /// Whole seconds, as links carry them.
    var rounded: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
