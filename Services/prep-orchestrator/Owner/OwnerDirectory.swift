import Foundation
import Yams

/// A tenant's people, as channels other than Slack need them: `{folder}/{tenant}.yaml`, with
/// the tenant's order of `channels` (for example `[slack, sms, email, local]`) and a list of
/// `owners`, each with `email`, `phone` (E.164) and their own `channels` if they prefer another
/// order. Read when a message needs it: it is small, and an edit applies to the next message.
struct OwnerDirectory: Sendable {
    static let channelNames: Set<String> = ["slack", "sms", "email", "local"]

    let folder: URL

    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    private struct File: Decodable {
        struct Owner: Decodable {
            var email: String
            var phone: String?
            var channels: [String]?
        }
        var channels: [String]?
        var owners: [Owner]?
    }

    /// The owner's phone number, or nil when the directory has none for them.
    func phone(of email: String, tenant: String) throws -> String? {
        try owner(email, in: try file(tenant))?.phone
    }

    /// The order of channels the owner (or else their tenant) asked for; nil when neither did.
    func channels(of email: String, tenant: String) throws -> [String]? {
        let file = try file(tenant)
        return try owner(email, in: file)?.channels ?? file?.channels
    }

    /// Reads every tenant's file, so that a mistake stops the service at start rather than a
    /// message later.
    func validate() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasSuffix(".yaml") {
            _ = try file(String(name.dropLast(".yaml".count)))
        }
    }

    private func owner(_ email: String, in file: File?) throws -> File.Owner? {
        file?.owners?.first { $0.email.caseInsensitiveCompare(email) == .orderedSame }
    }

    private func file(_ tenant: String) throws -> File? {
        guard tenant.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !tenant.hasPrefix(".") else {
            throw Unreadable(description: "tenant \(tenant) is not a file name")
        }
        let url = folder.appendingPathComponent("\(tenant).yaml")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        let file: File
        do { file = try YAMLDecoder().decode(File.self, from: text) } catch {
            throw Unreadable(description: "\(url.path) is not a directory of owners: \(error)")
        }
        for list in [file.channels] + (file.owners ?? []).map(\.channels) {
            if let unknown = list?.first(where: { !Self.channelNames.contains($0) }) {
                throw Unreadable(
                    description: "\(url.path) names a channel \(unknown); the channels are "
                        + Self.channelNames.sorted().joined(separator: ", "))
            }
        }
        return file
    }
}
