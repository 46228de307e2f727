import Crypto
import Foundation

/// A calendar that someone connected: where it is, whose it is, how far we have read.
package struct CalendarConnection: Sendable {
    var id: UUID
    var tenantID: String
    var owner: String
    var kind: ProviderKind
    var name: String
    var settings: ConnectionSettings
    var credentials: ConnectionCredentials?
    var cursor: String?

    /// The `source` of this connection's meetings on the wire.
    var sourceKey: String { "\(kind.rawValue):\(id.uuidString.lowercased())" }
}

/// What is not secret about a connection.
struct ConnectionSettings: Codable, Sendable, Equatable {
    /// ics: a file path or an http(s) URL; caldav: the calendar collection URL.
    var location: String?
    var username: String?
    /// google: the calendar id ("primary", or an address); microsoft: unused (the user's calendar).
    var calendarID: String?
    /// The time zone for floating times and all-day dates.
    var timeZone: String?
    /// google: the push notification channel watching this calendar, and when it expires.
    var channelID: String?
    var channelResourceID: String?
    var channelExpiresAt: Date?
}

/// Secrets of a connection. Stored only sealed (AES-GCM); never logged.
package struct ConnectionCredentials: Codable, Sendable, Equatable, CustomStringConvertible {
    var password: String?
    var refreshToken: String?
    var accessToken: String?
    var accessTokenExpiresAt: Date?

    package init(
        password: String? = nil, refreshToken: String? = nil, accessToken: String? = nil, accessTokenExpiresAt: Date? = nil
    ) {
        self.password = password
        self.refreshToken = refreshToken
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
    }

    package var description: String { "credentials(***)" }
}

/// Seals connection credentials with AES-GCM under a key from the environment
/// (ATTACHE_CREDENTIALS_KEY: 32 random bytes, base64). The connection id is bound in as
/// authenticated data, so a sealed blob copied onto another connection does not open.
package struct CredentialVault: Sendable {
    private let key: SymmetricKey

    package init?(base64Key: String) {
        guard let bytes = Data(base64Encoded: base64Key), bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
    }

    package func seal(_ credentials: ConnectionCredentials, for connection: UUID) throws -> String {
        let plaintext = try JSONEncoder().encode(credentials)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(connection.uuidString.utf8))
        return box.combined!.base64EncodedString()
    }

    func open(_ sealed: String, for connection: UUID) throws -> ConnectionCredentials {
        guard let data = Data(base64Encoded: sealed) else { throw VaultError.unreadable }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plaintext = try AES.GCM.open(box, using: key, authenticating: Data(connection.uuidString.utf8))
            return try JSONDecoder().decode(ConnectionCredentials.self, from: plaintext)
        } catch {
            throw VaultError.wrongKey
        }
    }

    enum VaultError: Error, CustomStringConvertible {
        case unreadable, wrongKey, noKey

        var description: String {
            switch self {
            case .unreadable: "the stored credentials are not valid base64"
            case .wrongKey: "the stored credentials do not open with ATTACHE_CREDENTIALS_KEY (another key, or tampered with)"
            case .noKey: "this connection has credentials but ATTACHE_CREDENTIALS_KEY is not set"
            }
        }
    }
}
