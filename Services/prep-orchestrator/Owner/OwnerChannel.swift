import Foundation

/// A message for a meeting's owner: what it is about, and the links it carries.
struct OwnerMessage: Sendable, Equatable, Codable {
    enum Kind: String, Sendable, Codable {
        case prepRequest = "prep"
        case materials
        case reminder
        case cancellation
        case botProblem = "bot_problem"
        case callReview = "call_review"
    }

    struct Link: Sendable, Equatable, Codable {
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
    /// The delivery's id (`prep.deliveries`), for a channel whose vendor reports back later or
    /// that names the message (an e-mail's Message-ID); nil outside a workflow.
    var deliveryID: UUID? = nil

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
    /// Whether delivering sends something outside the process. The local channel's delivery is
    /// the notification row its step commits, so it needs no record before it is tried.
    var sendsOutside: Bool { get }
    /// Delivers the message, or throws if it could not (`DeferredDelivery`: try this channel
    /// again later). Returns the vendor's id for the message when the vendor reports its fate
    /// later (Twilio's SID). The notification row is written by the workflow step.
    func deliver(_ message: OwnerMessage) async throws -> String?
}

extension OwnerChannel {
    var sendsOutside: Bool { true }
}

/// A channel's answer that the same channel may take the message later (an SMTP 4xx): the step
/// is retried with backoff, and only its last attempt moves on to the next channel.
struct DeferredDelivery: Error, CustomStringConvertible {
    var description: String
}

/// The embedded channel: the message is delivered by being recorded in `prep.notifications`,
/// the owner's inbox on a machine without accounts.
struct LocalChannel: OwnerChannel {
    var name: String { "local" }
    var sendsOutside: Bool { false }
    func deliver(_ message: OwnerMessage) async throws -> String? { nil }
}

/// The owner's channels in order of preference: a message goes through the first that takes
/// it. The order is the owner's (or their tenant's) in the directory, else `order`; channels
/// that are not configured are passed over, and the local one is always the last resort.
struct OwnerChannels: Sendable {
    struct Undeliverable: Error, CustomStringConvertible {
        var failures: [String]
        var description: String { "no channel could deliver the message: " + failures.joined(separator: "; ") }
    }

    let channels: [String: any OwnerChannel]
    let order: [String]
    let directory: OwnerDirectory?

    /// `chain` in this order for everyone, unless the directory gives an owner's own.
    init(chain: [any OwnerChannel], directory: OwnerDirectory? = nil) {
        channels = Dictionary(chain.map { ($0.name, $0) }) { first, _ in first }
        order = chain.map(\.name)
        self.directory = directory
    }

    /// Which channel delivered a message, and why the ones before it did not.
    struct Delivery: Sendable {
        var channel: String
        var failures: [String] = []
        /// The message as it went out: a step run again after a crash gets the one the first run
        /// sent (its links), not the one it made again.
        var message: OwnerMessage? = nil
        /// Its entry in `prep.deliveries`, when a channel outside the process was tried.
        var entry: UUID? = nil
        /// Set when the service stopped while this channel was sending: it is not sent again.
        var uncertain = false

        /// What the step records: the channel that reached the owner and the ones that did not.
        var output: [String: String] {
            var output = ["channel": channel]
            if !failures.isEmpty { output["not_reached_by"] = failures.joined(separator: "; ") }
            if uncertain { output["uncertain"] = "the service stopped while \(channel) was sending; not sent again" }
            return output
        }
    }

    /// The channels' names in the order this message tries them.
    func chain(for message: OwnerMessage) throws -> [String] {
        var names = order
        if channels.count > 1, let directory,
            let preferred = try directory.channels(of: message.recipient, tenant: message.tenant)
        {
            names = preferred.filter { channels[$0] != nil }
            if channels["local"] != nil, !names.contains("local") { names.append("local") }
        }
        return names
    }

    /// Delivers without a record (tests, and chains that send nothing outside).
    func deliver(_ message: OwnerMessage) async throws -> Delivery {
        var failures: [String] = []
        for name in try chain(for: message) {
            do {
                _ = try await channels[name]!.deliver(message)
                return Delivery(channel: name, failures: failures, message: message)
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        throw Undeliverable(failures: failures)
    }

    /// Delivers through the chain, recording each channel outside the process in `ledger` before
    /// it is tried. `mayDefer`: whether a channel's `DeferredDelivery` may fail the step (to be
    /// retried), rather than move on.
    func deliver(_ message: OwnerMessage, ledger: DeliveryLedger, mayDefer: Bool) async throws -> Delivery {
        let names = try chain(for: message)
        guard names.contains(where: { channels[$0]?.sendsOutside == true }) else { return try await deliver(message) }
        return try await advance(try await ledger.open(message, chain: names), ledger: ledger, mayDefer: mayDefer)
    }

    /// Moves an entry on from where it is.
    func advance(_ entry: DeliveryLedger.Entry, ledger: DeliveryLedger, mayDefer: Bool) async throws -> Delivery {
        var message = entry.message
        message.deliveryID = entry.id
        var failures = entry.failures
        func reached(_ position: Int, uncertain: Bool = false) -> Delivery {
            Delivery(channel: entry.chain[position], failures: failures, message: message, entry: entry.id, uncertain: uncertain)
        }
        switch entry.state {
        case .sent, .delivered, .unknown, .bounced:
            // A bounced entry is continue_delivery's to move on; for its own step, it went out.
            return reached(entry.position, uncertain: entry.state == .unknown)
        case .sending:
            _ = try await ledger.move(entry, from: [.sending], to: .unknown, at: entry.position, failures: failures)
            return reached(entry.position, uncertain: true)
        case .pending, .deferred:
            break
        }
        for position in entry.position..<entry.chain.count {
            let name = entry.chain[position]
            guard let channel = channels[name] else {
                failures.append("\(name): not configured")
                continue
            }
            // Only a report bouncing what an earlier channel took can move the entry meanwhile;
            // the step's next attempt then finds it sent by that channel.
            func move(to state: DeliveryLedger.State) async throws {
                guard
                    try await ledger.move(
                        entry, from: [.pending, .deferred, .sending], to: state, at: position, failures: failures)
                else { throw DeliveryLedger.MovedMeanwhile(entry: entry.id) }
            }
            guard channel.sendsOutside else {
                try await move(to: .sent)
                return reached(position)
            }
            try await move(to: .sending)
            do {
                let reference = try await channel.deliver(message)
                // A report that came back before this write has already bounced it: leave that be.
                _ = try await ledger.move(
                    entry, from: [.sending], to: .sent, at: position, failures: failures, reference: reference)
                return reached(position)
            } catch let error as DeferredDelivery where mayDefer {
                _ = try await ledger.move(entry, from: [.sending], to: .deferred, at: position, failures: failures)
                throw error
            } catch {
                failures.append("\(name): \(error)")
            }
        }
        _ = try await ledger.move(entry, from: [.sending, .pending, .deferred], to: .pending, at: 0, failures: [])
        throw Undeliverable(failures: failures)
    }
}
