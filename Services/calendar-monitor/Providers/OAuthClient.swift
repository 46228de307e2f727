import Foundation
import HTTPClient

/// OAuth 2.0 for a calendar provider (RFC 6749): keeps an access token fresh with the refresh
/// token, and exchanges an authorisation code when a calendar is connected. A refresh token the
/// provider no longer honours (`invalid_grant`) means the owner must authorise again.
struct OAuthClient: Sendable {
    let tokenURL: String
    let clientID: String
    let clientSecret: String
    /// Microsoft wants the scopes again on refresh; Google does not.
    let scope: String?
    let http: HTTPClient

    /// Credentials whose access token is valid for at least `margin`, refreshed if needed, and
    /// whether a refresh happened (the caller then stores them).
    func authorized(
        _ credentials: ConnectionCredentials?, margin: Duration = .seconds(300), now: Date = Date()
    ) async throws -> (credentials: ConnectionCredentials, refreshed: Bool) {
        guard let credentials, let refreshToken = credentials.refreshToken else {
            throw CalendarSyncError.authorizationRevoked("the connection holds no refresh token")
        }
        if credentials.accessToken != nil, let expiry = credentials.accessTokenExpiresAt,
            expiry.timeIntervalSince(now) > margin.secondsValue
        {
            return (credentials, false)
        }
        var form = [
            "grant_type": "refresh_token", "refresh_token": refreshToken, "client_id": clientID, "client_secret": clientSecret,
        ]
        if let scope { form["scope"] = scope }
        let token = try await requestToken(form, now: now)
        var refreshed = credentials
        refreshed.accessToken = token.accessToken
        refreshed.accessTokenExpiresAt = token.expiresAt
        // Some providers rotate the refresh token: keep the newest.
        if let rotated = token.refreshToken { refreshed.refreshToken = rotated }
        return (refreshed, true)
    }

    /// Exchanges the code from the provider's consent redirect for credentials.
    func exchange(code: String, redirectURI: String, now: Date = Date()) async throws -> ConnectionCredentials {
        var form = [
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI, "client_id": clientID,
            "client_secret": clientSecret,
        ]
        if let scope { form["scope"] = scope }
        let token = try await requestToken(form, now: now)
        guard let refreshToken = token.refreshToken else {
            throw CalendarSyncError.failed(
                "the provider gave no refresh token (ask for offline access / the offline_access scope)")
        }
        return ConnectionCredentials(
            refreshToken: refreshToken, accessToken: token.accessToken, accessTokenExpiresAt: token.expiresAt)
    }

    private struct TokenResponse: Decodable {
        var accessToken: String
        var expiresIn: Int?
        var refreshToken: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
        }
    }

    private struct TokenError: Decodable {
        var error: String
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
        }
    }

    private func requestToken(_ form: [String: String], now: Date) async throws -> (
        accessToken: String, expiresAt: Date, refreshToken: String?
    ) {
        let body = form.sorted { $0.key < $1.key }.map { "\(Self.formEncoded($0.key))=\(Self.formEncoded($0.value))" }.joined(
            separator: "&")
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: tokenURL,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: Array(body.utf8)))
        guard response.isSuccess else {
            let problem = try? response.decode(TokenError.self)
            if problem?.error == "invalid_grant" {
                throw CalendarSyncError.authorizationRevoked(
                    "invalid_grant: \(problem?.errorDescription ?? "the grant was revoked or expired")")
            }
            if response.status == 429 || response.status >= 500 { throw CalendarSyncError.rateLimited(retryAfter: nil) }
            throw CalendarSyncError.failed("the token endpoint answered \(response.status) \(problem?.error ?? "")")
        }
        let token = try response.decode(TokenResponse.self)
        return (token.accessToken, now.addingTimeInterval(Double(token.expiresIn ?? 3600)), token.refreshToken)
    }

    /// application/x-www-form-urlencoded: unreserved characters stay, everything else is %XX.
    static func formEncoded(_ text: String) -> String { FormEncoding.encode(text) }
}
