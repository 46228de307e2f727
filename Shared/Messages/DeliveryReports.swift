import Foundation

/// Twilio's report on a text it took (a status callback), as bot-gateway verified it: the
/// message's SID, its status (`sent`, `delivered`, `failed`, `undelivered`…) and, for a failure,
/// Twilio's error code. `deliveryID` is the delivery the callback URL named, when it named one.
public struct SMSStatusReceived: EventPayload {
    public static let messageType = MessageType("sms.status.received", version: 1)
    public var messageSID: String
    public var status: String
    public var errorCode: Int?
    /// The recipient's number (E.164), to remember one who opted out.
    public var to: String?
    public var deliveryID: UUID?

    enum CodingKeys: String, CodingKey {
        case status, to
        case messageSID = "message_sid"
        case errorCode = "error_code"
        case deliveryID = "delivery_id"
    }

    public init(messageSID: String, status: String, errorCode: Int?, to: String?, deliveryID: UUID?) {
        self.messageSID = messageSID
        self.status = status
        self.errorCode = errorCode
        self.to = to
        self.deliveryID = deliveryID
    }

    /// Twilio's final statuses for a message that did not reach the phone.
    public var isFailure: Bool { status == "failed" || status == "undelivered" }
}
