/// A posted message: Slack names a message by its channel and its `ts`, which `chat.update`
/// needs to change it later, so callers keep both (Codable, to store them).
public struct SlackMessageRef: Sendable, Hashable, Codable {
    public var channel: String
    public var ts: String

    public init(channel: String, ts: String) {
        self.channel = channel
        self.ts = ts
    }
}
