/// Who the bot token speaks for, as `auth.test` tells it.
public struct SlackIdentity: Sendable, Equatable, Decodable {
    /// The workspace's name.
    public var team: String
    public var teamID: String
    /// The bot user's name and ID: the author of what the app posts.
    public var user: String
    public var userID: String
    /// The bot's own ID; nil when the token is not a bot token.
    public var botID: String?
    /// The workspace's address, such as `https://acme.slack.com/`.
    public var url: String?

    public init(team: String, teamID: String, user: String, userID: String, botID: String?, url: String?) {
        self.team = team
        self.teamID = teamID
        self.user = user
        self.userID = userID
        self.botID = botID
        self.url = url
    }

    /// As auth.test names them.
    enum CodingKeys: String, CodingKey {
        case team, user, url
        case teamID = "team_id"
        case userID = "user_id"
        case botID = "bot_id"
    }
}
