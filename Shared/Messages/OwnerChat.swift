import Foundation

/// A meeting's owner clicked a button in a Slack message from the app (a `block_actions`
/// interaction), as bot-gateway verified it: who clicked, on which message, which button and the
/// value it carried (for the prep request's buttons, the workflow's id).
public struct SlackActionReceived: EventPayload {
    public static let messageType = MessageType("slack.action.received", version: 1)
    /// The Slack user who clicked.
    public var user: String
    public var channel: String?
    /// The `ts` of the message the button is on (to update that message).
    public var messageTS: String?
    public var actionID: String
    public var value: String?
    public var actionTS: String

    enum CodingKeys: String, CodingKey {
        case user, channel, value
        case messageTS = "message_ts"
        case actionID = "action_id"
        case actionTS = "action_ts"
    }

    public init(user: String, channel: String?, messageTS: String?, actionID: String, value: String?, actionTS: String) {
        self.user = user
        self.channel = channel
        self.messageTS = messageTS
        self.actionID = actionID
        self.value = value
        self.actionTS = actionTS
    }
}

/// A meeting's owner wrote in their direct messages with the app (a `message.im` event), as
/// bot-gateway verified it. The app's own messages, edits and other channels never get here.
public struct SlackMessageReceived: EventPayload {
    public static let messageType = MessageType("slack.message.received", version: 1)
    /// Slack's id for the event: a retried delivery carries the same one.
    public var eventID: String
    public var user: String
    public var channel: String
    public var text: String
    public var ts: String

    enum CodingKeys: String, CodingKey {
        case user, channel, text, ts
        case eventID = "event_id"
    }

    public init(eventID: String, user: String, channel: String, text: String, ts: String) {
        self.eventID = eventID
        self.user = user
        self.channel = channel
        self.text = text
        self.ts = ts
    }
}
