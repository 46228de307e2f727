import Foundation
import HTTPClient
import Logging

/// A client for Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource):
/// one SMS to one number, over the project's HTTP client, with HTTP Basic auth (the account SID
/// and auth token). Twilio's error bodies become `TwilioError`s; 429 is waited out by the HTTP
/// client's retries.
public struct TwilioClient: Sendable {
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The API root; a fake's address in tests.
        public var baseURL: String
        public var accountSID: String
        public var authToken: String
        /// The sending number (E.164) or a Messaging Service SID (`MG…`).
        public var from: String

        public init(baseURL: String = "https://api.twilio.com", accountSID: String, authToken: String, from: String) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.accountSID = accountSID
            self.authToken = authToken
            self.from = from
        }

        /// Without the auth token, so that a configuration can be logged.
        public var description: String { "Twilio at \(baseURL), account \(accountSID), from \(from)" }
    }

    /// A message Twilio accepted: its SID and first status (`queued`, `accepted`…).
    public struct Message: Sendable, Equatable, Decodable {
        public var sid: String
        public var status: String
    }

    public let configuration: Configuration
    private let http: HTTPClient

    public init(configuration: Configuration, http: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.http = http ?? HTTPClient(retry: RetryPolicy(maxAttempts: 3, longestRetryAfter: .seconds(30)), logger: logger)
    }

    /// Sends `body` to `to` (E.164); Twilio reports delivery to `statusCallback` if given.
    public func send(to: String, body: String, statusCallback: String? = nil) async throws -> Message {
        var fields = [("To", to), (configuration.from.hasPrefix("MG") ? "MessagingServiceSid" : "From", configuration.from)]
        fields.append(("Body", body))
        if let statusCallback { fields.append(("StatusCallback", statusCallback)) }
        let form = FormEncoding.encode(fields)
        let credentials = Data("\(configuration.accountSID):\(configuration.authToken)".utf8).base64EncodedString()
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: "\(configuration.baseURL)/2010-04-01/Accounts/\(configuration.accountSID)/Messages.json",
                headers: [("Authorization", "Basic \(credentials)"), ("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(form.utf8)))
        guard response.isSuccess else {
            let problem = try? response.decode(TwilioError.Body.self)
            throw TwilioError(status: response.status, body: problem, retryAfter: response.retryAfter())
        }
        do { return try response.decode(Message.self) } catch {
            throw TwilioError.malformedResponse("a \(response.status) answer without sid and status")
        }
    }

}
