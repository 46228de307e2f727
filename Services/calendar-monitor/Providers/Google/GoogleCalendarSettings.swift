import Foundation
import HTTPClient
import Logging
import Runtime

/// The Google Calendar provider's settings: an OAuth client of type "Web application" in a
/// Google Cloud project with the Calendar API enabled (scope
/// https://www.googleapis.com/auth/calendar.readonly, offline access for a refresh token). Unset
/// ATTACHE_GOOGLE_CLIENT_ID means no Google provider.
///
///   ATTACHE_GOOGLE_CLIENT_ID       the OAuth client id (…apps.googleusercontent.com)
///   ATTACHE_GOOGLE_CLIENT_SECRET   its client secret; required with the id
///   ATTACHE_GOOGLE_API_URL         default https://www.googleapis.com/calendar/v3
///   ATTACHE_GOOGLE_TOKEN_URL       default https://oauth2.googleapis.com/token
///   ATTACHE_GOOGLE_PUSH_URL        bot-gateway's public https address for push notifications,
///                                  e.g. https://gateway.example.com/webhooks/google-calendar;
///                                  unset means polling only
///   ATTACHE_GOOGLE_CHANNEL_SECRET  channel tokens derive from it (at least 32 characters; the
///                                  same value in bot-gateway); required with the push URL
package struct GoogleCalendarSettings: Sendable {
    static let defaultTokenURL = "https://oauth2.googleapis.com/token"

    var clientID: String
    var clientSecret: String
    var apiURL: String
    var tokenURL: String
    var push: GoogleCalendarProvider.PushSettings?

    package init?(_ env: Environment) throws(ConfigurationError) {
        guard let clientID = env.optionalString("ATTACHE_GOOGLE_CLIENT_ID") else { return nil }
        self.clientID = clientID
        clientSecret = try env.string(
            "ATTACHE_GOOGLE_CLIENT_SECRET", requiredWith: "ATTACHE_GOOGLE_CLIENT_ID",
            hint: "the client secret of that OAuth client")
        apiURL = try env.url("ATTACHE_GOOGLE_API_URL", default: GoogleCalendarProvider.defaultAPIURL)!.absoluteString
        tokenURL = try env.url("ATTACHE_GOOGLE_TOKEN_URL", default: Self.defaultTokenURL)!.absoluteString
        if let address = try env.url("ATTACHE_GOOGLE_PUSH_URL") {
            guard address.scheme?.lowercased() == "https" else {
                throw ConfigurationError(
                    setting: "ATTACHE_GOOGLE_PUSH_URL",
                    problem:
                        "must be an https URL (Google delivers push notifications only over HTTPS), not '\(address.absoluteString)'"
                )
            }
            let secret = try env.string(
                "ATTACHE_GOOGLE_CHANNEL_SECRET", requiredWith: "ATTACHE_GOOGLE_PUSH_URL",
                hint: "the secret bot-gateway checks channel tokens with")
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(setting: "ATTACHE_GOOGLE_CHANNEL_SECRET", problem: "must be at least 32 characters")
            }
            push = GoogleCalendarProvider.PushSettings(address: address.absoluteString, secret: secret)
        }
    }

    /// Google takes no scope on refresh: the grant keeps the scopes of the consent.
    func oauth(http: HTTPClient) -> OAuthClient {
        OAuthClient(tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, scope: nil, http: http)
    }

    package func provider(http: HTTPClient, logger: Logger) -> GoogleCalendarProvider {
        GoogleCalendarProvider(apiURL: apiURL, oauth: oauth(http: http), http: http, push: push, logger: logger)
    }
}
