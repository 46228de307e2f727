/// What went wrong talking to the broker, phrased so that an operator knows where to look.
public enum BusError: Error, CustomStringConvertible, Equatable {
    /// The TCP connection or the AMQP handshake failed.
    case cannotConnect(endpoint: String, reason: String)
    /// The broker closed the channel or connection with a reply code (e.g. 404, 406).
    case brokerRefused(operation: String, code: Int, text: String)
    /// librabbitmq reported a local failure (socket error, heartbeat timeout…).
    case connectionLost(operation: String, reason: String)
    /// The broker negatively acknowledged a published message: it did not take responsibility for it.
    case publishRejected(routingKey: String)
    /// A mandatory message was returned: no queue took it (a queue missing or misnamed).
    case unroutable(routingKey: String, reason: String)
    /// A publish waited longer than its deadline for a connection or a confirm.
    case publishTimedOut(routingKey: String, after: Duration)
    /// The publisher or consumer was closed before the work completed.
    case closed

    public var description: String {
        switch self {
        case .cannotConnect(let endpoint, let reason):
            "cannot connect to the broker at \(endpoint): \(reason)"
        case .brokerRefused(let operation, let code, let text):
            "the broker refused \(operation): \(code) \(text)"
        case .connectionLost(let operation, let reason):
            "the broker connection was lost during \(operation): \(reason)"
        case .publishRejected(let routingKey):
            "the broker rejected (nacked) a message for \(routingKey)"
        case .unroutable(let routingKey, let reason):
            "no queue took the message for \(routingKey) (\(reason)); check that the queue exists"
        case .publishTimedOut(let routingKey, let after):
            "publishing \(routingKey) was not confirmed within \(after)"
        case .closed:
            "the bus connection is closed"
        }
    }
}
