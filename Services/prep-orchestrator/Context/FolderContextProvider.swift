import Foundation
import Yams

/// The embedded context provider: a folder per tenant, a YAML file per kind
/// (`{folder}/{tenant}/{kind}.yaml`), each with a list of `items` (`summary`, and optionally
/// `detail`, `owner`, `status`). A missing or malformed file makes that kind unavailable, with
/// the file named in the reason.
struct FolderContextProvider: ContextProvider {
    let folder: URL
    var name: String { "context folder" }

    private struct File: Decodable {
        var items: [ContextItem]
    }

    func items(for query: ContextQuery) async throws -> [ContextItem] {
        guard query.tenant.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !query.tenant.hasPrefix(".")
        else {
            throw ContextUnavailable("tenant \(query.tenant) is not a folder name")
        }
        let file = folder.appendingPathComponent(query.tenant).appendingPathComponent("\(query.kind.rawValue).yaml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ContextUnavailable("no \(query.kind.rawValue) context for tenant \(query.tenant) (\(file.path) is missing)")
        }
        do {
            return try YAMLDecoder().decode(File.self, from: text).items
        } catch {
            throw ContextUnavailable("\(file.path) is not a list of items: \(error)")
        }
    }
}
