/// A Block Kit block (https://api.slack.com/reference/block-kit/blocks): the few kinds the owner's
/// messages need, encoded as Slack expects them in `blocks`.
public enum SlackBlock: Encodable, Sendable, Equatable {
    /// A paragraph of `mrkdwn` text (at most 3000 characters).
    case section(mrkdwn: String)
    /// Small grey lines of `mrkdwn` text under a message (at most 10).
    case context(mrkdwn: [String])
    /// A row of buttons (at most 25).
    case actions([Button])

    /// A button element: it either reports a click to the app's interactivity URL (`actionID`
    /// and `value` come back in the `block_actions` payload) or, with `url`, opens a link (Slack
    /// still reports the click).
    public struct Button: Encodable, Sendable, Equatable {
        public enum Style: String, Encodable, Sendable {
            case primary
            case danger
        }

        /// The label, plain text (at most 75 characters).
        public var text: String
        /// Identifies the button in the payload Slack sends back; unique within the message.
        public var actionID: String
        /// Sent back with the click, for the app to know what it was about (at most 2000 characters).
        public var value: String?
        public var style: Style?
        public var url: String?

        public init(text: String, actionID: String, value: String? = nil, style: Style? = nil, url: String? = nil) {
            self.text = text
            self.actionID = actionID
            self.value = value
            self.style = style
            self.url = url
        }

        enum CodingKeys: String, CodingKey {
            case type, text, value, style, url
            case actionID = "action_id"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("button", forKey: .type)
            try container.encode(Text(type: "plain_text", text: text), forKey: .text)
            try container.encode(actionID, forKey: .actionID)
            try container.encodeIfPresent(value, forKey: .value)
            try container.encodeIfPresent(style, forKey: .style)
            try container.encodeIfPresent(url, forKey: .url)
        }
    }

    /// A text object (https://api.slack.com/reference/block-kit/composition-objects#text).
    struct Text: Encodable {
        var type: String
        var text: String
    }

    enum CodingKeys: String, CodingKey {
        case type, text, elements
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .section(let text):
            try container.encode("section", forKey: .type)
            try container.encode(Text(type: "mrkdwn", text: text), forKey: .text)
        case .context(let lines):
            try container.encode("context", forKey: .type)
            try container.encode(lines.map { Text(type: "mrkdwn", text: $0) }, forKey: .elements)
        case .actions(let buttons):
            try container.encode("actions", forKey: .type)
            try container.encode(buttons, forKey: .elements)
        }
    }
}
