import Foundation
import Synchronization
import Yams

/// The embedded context provider: a folder per tenant, a YAML file per kind
/// (`{folder}/{tenant}/{kind}.yaml`), each with a list of `items` (`summary`, and optionally
/// `detail`, `owner`, `status`). A missing or malformed file makes that kind unavailable, with
/// the file named in the reason.
struct FolderContextProvider: ContextProvider {
    let folder: URL
    var name: String { "context folder" }
    /// Parsed files by path, kept while their modification time stays the same: every workflow
    /// of a tenant reads the same few files.
    private let parsed = Cache()

    init(folder: URL) {
        self.folder = folder
    }

    private final class Cache: Sendable {
        let files = Mutex<[String: (modified: timespec, items: [ContextItem])]>([:])
    }

    /// stat(2) directly: this runs for every branch of every workflow, and FileManager's
    /// attributes cost far more than the parsing they save.
    private static func modificationTime(_ path: String) -> timespec? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mtim : nil
    }

    private struct File: Decodable {
        var items: [ContextItem]
    }

    func items(for query: ContextQuery) async throws -> [ContextItem] {
        guard query.tenant.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !query.tenant.hasPrefix(".")
        else {
            throw ContextUnavailable("tenant \(query.tenant) is not a folder name")
        }
        let file = folder.appendingPathComponent(query.tenant).appendingPathComponent("\(query.kind.rawValue).yaml")
        let modified = Self.modificationTime(file.path)
        if let modified, let cached = parsed.files.withLock({ $0[file.path] }),
            cached.modified.tv_sec == modified.tv_sec, cached.modified.tv_nsec == modified.tv_nsec
        {
            return cached.items
        }
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw ContextUnavailable("no \(query.kind.rawValue) context for tenant \(query.tenant) (\(file.path) is missing)")
        }
        let items: [ContextItem]
        do {
            items = try YAMLDecoder().decode(File.self, from: text).items
        } catch {
            throw ContextUnavailable("\(file.path) is not a list of items: \(error)")
        }
        if let modified { parsed.files.withLock { $0[file.path] = (modified, items) } }
        return items
    }
}
