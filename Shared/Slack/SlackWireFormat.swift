// The Web API's request bodies and answers (https://api.slack.com/web), as far as the client
// reads them. Every answer is an envelope with `ok`, and `error` when it is false. auth.test's
// answer is read as a `SlackIdentity`, chat.postMessage's as a `SlackMessageRef`.

struct SlackEnvelope: Decodable {
    var ok: Bool
    var error: String?
    /// The scope a `missing_scope` error asks for.
    var needed: String?
}

struct LookupByEmailAnswer: Decodable {
    struct User: Decodable { var id: String }
    var user: User
}

struct ConversationsOpenBody: Encodable {
    var users: String
}

struct ConversationsOpenAnswer: Decodable {
    struct Channel: Decodable { var id: String }
    var channel: Channel
}

/// `chat.postMessage` and `chat.update` alike: `ts` only for an update. Without `blocks`, an
/// update keeps the message's blocks; an empty array removes them.
struct ChatMessageBody: Encodable {
    var channel: String
    var ts: String?
    var text: String
    var blocks: [SlackBlock]?
}

/// What `chat.update` answers when the client has nothing to read but the envelope.
struct EmptyAnswer: Decodable {}
