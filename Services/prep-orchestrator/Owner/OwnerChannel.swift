import Foundation

/// A message for a meeting's owner: what it is about, and the links it carries.
struct OwnerMessage: Sendable, Equatable {
    enum Kind: String, Sendable {
        case prepRequest = "prep"
        case materials
        case reminder
        case cancellation
    }

    struct Link: Sendable, Equatable {
        var label: String
        var url: String
    }

    var kind: Kind
    var recipient: String
    /// Whose directory knows how else to reach the recipient (their phone, for SMS).
    var tenant = "default"
    /// What the message is about, for a channel whose replies come back (Slack's buttons): the
    /// workflow's id, never its token.
    var reference: String? = nil
    var headline: String
    var lines: [String] = []
    var links: [Link] = []

    /// The message as plain text, as the local channel keeps it.
    var text: String {
        ([headline] + lines + links.map { "\($0.label): \($0.url)" }).joined(separator: "\n")
    }

    /// The text without its links, for events and logs: a link may carry the owner's token.
    var textWithoutLinks: String {
        ([headline] + lines).joined(separator: "\n")
    }
}

/// A way to reach a meeting's owner. The embedded channel is the local notification table;
/// Slack, SMS and e-mail slot in beside it.
protocol OwnerChannel: Sendable {
    var name: String { get }
    /// Delivers the message; throws if it could not. The notification row that records the
    /// message is written by the workflow step, in its completion.
    func deliver(_ message: OwnerMessage) async throws
}

/// The embedded channel: the message is delivered by being recorded in `prep.notifications`,
/// the owner's inbox on a machine without accounts.
struct LocalChannel: OwnerChannel {
    var name: String { "local" }
    func deliver(_ message: OwnerMessage) async throws {}
}

/// The owner's channels in order of preference: a message goes through the first that takes it.
struct OwnerChannels: Sendable {
    struct Undeliverable: Error, CustomStringConvertible {
        var failures: [String]
        var description: String { "no channel could deliver the message: " + failures.joined(separator: "; ") }
    }

    var chain: [any OwnerChannel]

    /// Which channel delivered a message, and why the ones before it did not.
    struct Delivery: Sendable, Equatable {
        var channel: String
        var failures: [String] = []

        /// What the step records: the channel that reached the owner and the ones that did not.
        var output: [String: String] {
            failures.isEmpty ? ["channel": channel] : ["channel": channel, "not_reached_by": failures.joined(separator: "; ")]
        }
    }

    func deliver(_ message: OwnerMessage) async throws -> Delivery {
        var failures: [String] = []
        for channel in chain {
            do {
                try await channel.deliver(message)
                return Delivery(channel: channel.name, failures: failures)
            } catch {
                failures.append("\(channel.name): \(error)")
            }
        }
        throw Undeliverable(failures: failures)
    }
}
