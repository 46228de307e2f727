/// A header value the bus carries. AMQP tables hold more kinds; these are the ones we write and
/// the ones we can read back losslessly.
public enum HeaderValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .bool(let value): String(value)
        }
    }

    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .string(let value): Int64(value)
        case .bool: nil
        }
    }
}

/// A message to publish. Persistent by default: the broker writes it to disk before confirming.
public struct OutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var messageID: String?
    public var type: String?
    public var contentType: String?
    public var headers: [String: HeaderValue]
    public var persistent: Bool
    /// The broker returns the message, and the publish fails, when no queue takes it (instead
    /// of dropping it): for copies that must land in one particular queue.
    public var mandatory: Bool

    public init(
        exchange: String, routingKey: String, body: [UInt8], messageID: String? = nil, type: String? = nil,
        contentType: String? = "application/json", headers: [String: HeaderValue] = [:], persistent: Bool = true,
        mandatory: Bool = false
    ) {
        self.mandatory = mandatory
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageID = messageID
        self.type = type
        self.contentType = contentType
        self.headers = headers
        self.persistent = persistent
    }
}

/// A message received from a queue. It must be acknowledged (or rejected) exactly once; until
/// then the broker counts it against the consumer's prefetch and redelivers it if the
/// connection drops.
public struct InboundMessage: Sendable {
    public var body: [UInt8]
    public var exchange: String
    public var routingKey: String
    public var messageID: String?
    public var type: String?
    public var headers: [String: HeaderValue]
    public var redelivered: Bool
    let deliveryTag: UInt64
    /// Which connection delivered it: tags from an earlier connection are void after a reconnect.
    let connectionGeneration: Int
    let acknowledger: (any Acknowledging)?

    /// The broker may forget the message.
    public func ack() { acknowledger?.settle(self, outcome: .ack) }

    /// Give the message back to the broker: requeued for another consumer, or discarded
    /// (dead-lettered if the queue has a dead-letter exchange).
    public func reject(requeue: Bool) { acknowledger?.settle(self, outcome: requeue ? .requeue : .discard) }
}

enum Settlement: Sendable {
    case ack, requeue, discard
}

protocol Acknowledging: Sendable {
    func settle(_ message: InboundMessage, outcome: Settlement)
}
