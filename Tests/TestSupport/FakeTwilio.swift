import Foundation
import HTTPClient
import Hummingbird
import Synchronization
import Twilio

/// A local fake of Twilio's Messages API as documented: `POST
/// /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with the account SID and auth
/// token (401 with error 20003 otherwise), form-encoded `To`, `From` or `MessagingServiceSid` and
/// `Body`; 201 with the message's `sid` and `status`; Twilio's error bodies (`code`, `message`,
/// `more_info`, `status`) for numbers it is told are invalid (21211) or opted out (21610). A
/// message's fate is reported when the test says (`report`), to the message's `StatusCallback`
/// as Twilio posts it: form fields, signed with `X-Twilio-Signature`.
public final class FakeTwilio: Sendable {
    public static let accountSID = "AC00000000000000000000000000000001"
    public static let authToken = "fake-twilio-auth-token-0123456789"

    public struct Sent: Sendable, Equatable {
        public var sid: String
        public var to: String
        public var from: String
        public var body: String
        public var statusCallback: String?

        public init(sid: String, to: String, from: String, body: String, statusCallback: String?) {
            self.sid = sid
            self.to = to
            self.from = from
            self.body = body
            self.statusCallback = statusCallback
        }
    }

    private struct State {
        var sent: [Sent] = []
        /// Authenticated requests to send, taken or refused.
        var attempts = 0
        var invalid: Set<String> = []
        var optedOut: Set<String> = []
    }

    private final class Box: Sendable {
        let state = Mutex(State())
    }

    private let box = Box()
    private let server: FakeServer

    public init() async throws {
        let box = box
        server = try await FakeServer { router, _ in
            router.post("/2010-04-01/Accounts/{account}/Messages.json") { request, context -> Response in
                let expected = "Basic " + Data("\(Self.accountSID):\(Self.authToken)".utf8).base64EncodedString()
                guard try context.parameters.require("account") == Self.accountSID,
                    request.headers[.authorization] == expected
                else { return Self.error(401, code: 20003, "Authenticate") }
                let form = formFields(String(buffer: try await request.body.collect(upTo: 1 << 16)))
                guard let to = form["To"], let body = form["Body"], let from = form["From"] ?? form["MessagingServiceSid"]
                else {
                    return Self.error(400, code: 21604, "A 'To' phone number, a 'From' and a 'Body' are required.")
                }
                return box.state.withLock { state in
                    state.attempts += 1
                    if state.invalid.contains(to) {
                        return Self.error(400, code: 21211, "The 'To' number \(to) is not a valid phone number.")
                    }
                    if state.optedOut.contains(to) {
                        return Self.error(400, code: 21610, "Attempt to send to unsubscribed recipient")
                    }
                    let sid = "SM\(String(format: "%032d", state.sent.count + 1))"
                    state.sent.append(Sent(sid: sid, to: to, from: from, body: body, statusCallback: form["StatusCallback"]))
                    return Self.json(201, ["sid": sid, "status": "queued", "to": to, "body": body])
                }
            }
        }
    }

    public var url: String { server.url }
    public var sent: [Sent] { box.state.withLock { $0.sent } }
    public var attempts: Int { box.state.withLock { $0.attempts } }
    public func refuse(invalid number: String) { box.state.withLock { _ = $0.invalid.insert(number) } }
    public func optOut(_ number: String) { box.state.withLock { _ = $0.optedOut.insert(number) } }
    public func stop() { server.stop() }

    /// Posts the status callback Twilio would for `message`, signed with the auth token over its
    /// `StatusCallback` URL; returns the receiver's HTTP status. `via`: the address that URL's
    /// host forwards to (a proxy in front of the receiver), if it is not reachable itself.
    @discardableResult
    public func report(_ status: String, errorCode: Int? = nil, for message: Sent, via: String? = nil) async throws -> Int {
        guard let url = message.statusCallback else { throw NoCallback(sid: message.sid) }
        var fields = [
            ("AccountSid", Self.accountSID), ("ApiVersion", "2010-04-01"), ("From", message.from),
            ("MessageSid", message.sid), ("MessageStatus", status), ("SmsSid", message.sid), ("SmsStatus", status),
            ("To", message.to),
        ]
        if let errorCode { fields.append(("ErrorCode", String(errorCode))) }
        let signature = TwilioSignature.sign(url: url, parameters: fields, authToken: Self.authToken)
        let response = try await HTTPClient(retry: .none, logger: TestStack.logger).send(
            OutboundRequest(
                method: "POST", url: via.map { $0 + (URLComponents(string: url)?.percentEncodedPath ?? "") + query(url) } ?? url,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)],
                body: Array(FormEncoding.encode(fields).utf8)))
        return response.status
    }

    private func query(_ url: String) -> String {
        URLComponents(string: url)?.percentEncodedQuery.map { "?\($0)" } ?? ""
    }

    public struct NoCallback: Error, CustomStringConvertible {
        var sid: String
        public var description: String { "message \(sid) was sent without a StatusCallback" }
    }

    private static func error(_ status: Int, code: Int, _ message: String) -> Response {
        json(
            status,
            ["code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/\(code)", "status": status])
    }

    private static func json(_ status: Int, _ fields: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
