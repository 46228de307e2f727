import Foundation
import Yams

/// The company the agent says it joins from, per tenant: `company` in the tenant's directory
/// file (`{ATTACHE_DIRECTORY_DIR}/{tenant}.yaml`, the file prep-orchestrator reads for owners),
/// else `ATTACHE_COMPANY_NAME`.
struct TenantCompanies: Sendable {
    let folder: URL
    let fallback: String

    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    private struct File: Decodable {
        var company: String?
    }

    /// The tenant's company; the fallback for a tenant without a file or without `company`.
    func company(of tenant: String) throws -> String {
        guard tenant.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !tenant.hasPrefix(".") else {
            return fallback
        }
        let url = folder.appendingPathComponent("\(tenant).yaml")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return fallback }
        do {
            let company = try YAMLDecoder().decode(File.self, from: text).company?.trimmingCharacters(in: .whitespaces)
            return company.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        } catch {
            throw Unreadable(description: "\(url.path) is not a tenant's directory file: \(error)")
        }
    }

    /// Reads every tenant's file, so that a mistake stops the service at start rather than a call later.
    func validate() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasSuffix(".yaml") { _ = try company(of: String(name.dropLast(".yaml".count))) }
    }
}
