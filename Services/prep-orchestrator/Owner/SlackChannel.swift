import Slack

/// The owner's Slack DM from the Attaché app: the owner is found by e-mail, the DM is opened, and
/// the message is posted as Block Kit. A prep request carries Start prep and Not this time
/// buttons (their value is the workflow's id, never its token) beside a link to the prep page;
/// materials and reminders carry their links as buttons. A failure throws, and the channel chain
/// goes on to the next channel (the local one), which the workflow then records.
struct SlackChannel: OwnerChannel {
    let client: SlackClient
    var name: String { "slack" }

    /// The buttons' action ids, as the interactivity endpoint will read them.
    enum Action {
        static let startPrep = "prep_start"
        static let notThisTime = "prep_decline"
    }

    func deliver(_ message: OwnerMessage) async throws -> String? {
        let user = try await client.lookupUser(email: message.recipient)
        let channel = try await client.openDirectMessage(user: user)
        _ = try await client.postMessage(channel: channel, text: message.headline, blocks: Self.blocks(message))
        return nil
    }

    static func blocks(_ message: OwnerMessage) -> [SlackBlock] {
        var blocks: [SlackBlock] = [.section(mrkdwn: escaped(message.headline))]
        if !message.lines.isEmpty { blocks.append(.section(mrkdwn: message.lines.map(escaped).joined(separator: "\n"))) }
        var buttons: [SlackBlock.Button] = []
        if message.kind == .prepRequest, let reference = message.reference {
            buttons.append(.init(text: "Start prep", actionID: Action.startPrep, value: reference, style: .primary))
            buttons.append(.init(text: "Not this time", actionID: Action.notThisTime, value: reference))
        }
        for (index, link) in message.links.enumerated() {
            let label = message.kind == .prepRequest ? "Answer on the prep page" : link.label
            buttons.append(.init(text: label, actionID: "link_\(index)", url: link.url))
        }
        if !buttons.isEmpty { blocks.append(.actions(buttons)) }
        return blocks
    }

    /// Slack reads `&`, `<` and `>` in mrkdwn as markup: a meeting titled "<!channel>" must not
    /// notify a channel.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
