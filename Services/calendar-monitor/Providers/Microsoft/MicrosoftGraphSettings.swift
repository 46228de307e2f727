import Foundation
import HTTPClient
import Runtime

/// The Microsoft Graph calendar provider's settings: an app registration in Microsoft Entra ID
/// (a confidential "web" client with the delegated Calendars.Read and offline_access
/// permissions). Unset ATTACHE_MICROSOFT_CLIENT_ID means no Microsoft provider.
///
///   ATTACHE_MICROSOFT_CLIENT_ID      the application (client) id
///   ATTACHE_MICROSOFT_CLIENT_SECRET  its client secret (value, not id); required with the id
///   ATTACHE_MICROSOFT_TENANT         common (default), organizations, consumers, a tenant id or domain
///   ATTACHE_MICROSOFT_TOKEN_URL      default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
///   ATTACHE_MICROSOFT_GRAPH_URL      default https://graph.microsoft.com/v1.0 (national clouds have their own)
struct MicrosoftGraphSettings: Sendable, Equatable {
    var clientID: String
    var clientSecret: String
    var tenant: String
    var tokenURL: String
    var graphURL: String

    /// The delegated scopes asked for at consent and sent again on every refresh.
    var scope: String { MicrosoftGraphProvider.scope(graphURL: graphURL) }

    init?(_ env: Environment) throws(ConfigurationError) {
        guard let clientID = env.optionalString("ATTACHE_MICROSOFT_CLIENT_ID") else { return nil }
        self.clientID = clientID
        clientSecret = try env.string(
            "ATTACHE_MICROSOFT_CLIENT_SECRET", requiredWith: "ATTACHE_MICROSOFT_CLIENT_ID",
            hint: "the client secret of that app registration")
        tenant = env.string("ATTACHE_MICROSOFT_TENANT", default: "common")
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
        guard tenant.unicodeScalars.allSatisfy(allowed.contains) else {
            throw ConfigurationError(
                setting: "ATTACHE_MICROSOFT_TENANT",
                problem: "must be common, organizations, consumers, a tenant id or a domain, not '\(tenant)'")
        }
        tokenURL = try env.url(
            "ATTACHE_MICROSOFT_TOKEN_URL", default: "https://login.microsoftonline.com/\(tenant)/oauth2/v2.0/token")!
            .absoluteString
        graphURL = try env.url("ATTACHE_MICROSOFT_GRAPH_URL", default: MicrosoftGraphProvider.defaultGraphURL)!.absoluteString
    }

    func oauth(http: HTTPClient) -> OAuthClient {
        OAuthClient(tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, scope: scope, http: http)
    }

    func provider(http: HTTPClient) -> MicrosoftGraphProvider {
        MicrosoftGraphProvider(
            graphURL: graphURL,
            oauth: OAuthClient(tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, scope: scope, http: http),
            http: http)
    }
}
