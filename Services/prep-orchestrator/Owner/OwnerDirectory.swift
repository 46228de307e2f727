import Foundation
import Yams

/// A tenant's people, as channels other than Slack need them: `{folder}/{tenant}.yaml`, a list
/// of `owners` with `email` and `phone` (E.164). Read when a message needs it: it is small, and
/// an edit applies to the next message.
struct OwnerDirectory: Sendable {
    let folder: URL

    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    private struct File: Decodable {
        struct Owner: Decodable {
            var email: String
            var phone: String?
        }
        var owners: [Owner]
    }

    /// The owner's phone number, or nil when the directory has none for them.
    func phone(of email: String, tenant: String) throws -> String? {
        guard tenant.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !tenant.hasPrefix(".") else {
            throw Unreadable(description: "tenant \(tenant) is not a file name")
        }
        let file = folder.appendingPathComponent("\(tenant).yaml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        do {
            return try YAMLDecoder().decode(File.self, from: text).owners
                .first { $0.email.caseInsensitiveCompare(email) == .orderedSame }?.phone
        } catch {
            throw Unreadable(description: "\(file.path) is not a list of owners: \(error)")
        }
    }
}
