/// Exchanges, queues and bindings a client needs. Declared on every (re)connect: AMQP
/// declarations are idempotent when repeated with the same arguments, so declaring is also how
/// a client recreates what a restarted broker lost.
public struct Topology: Sendable {
    public struct Exchange: Sendable {
        public enum Kind: String, Sendable { case topic, fanout, direct }
        public var name: String
        public var kind: Kind
        public var arguments: [String: HeaderValue]

        public init(name: String, kind: Kind, arguments: [String: HeaderValue] = [:]) {
            self.name = name
            self.kind = kind
            self.arguments = arguments
        }
    }

    public struct Queue: Sendable {
        public var name: String
        public var arguments: [String: HeaderValue]

        public init(name: String, arguments: [String: HeaderValue] = [:]) {
            self.name = name
            self.arguments = arguments
        }

        /// A replicated queue: the default for anything that holds work (https://www.rabbitmq.com/docs/quorum-queues).
        public static func quorum(_ name: String, arguments: [String: HeaderValue] = [:]) -> Queue {
            Queue(name: name, arguments: arguments.merging(["x-queue-type": .string("quorum")]) { $1 })
        }

        /// A queue that holds each message for `delay`, then dead-letters it to `target` through
        /// the default exchange: how a retry waits without blocking its consumer. Replicated, and
        /// dead-lettering at least once (RabbitMQ ≥ 3.10): a message waiting here survives a
        /// broker failure and is moved on only once the target has taken it.
        public static func delay(_ name: String, delay: Duration, target: String) -> Queue {
            .quorum(
                name,
                arguments: [
                    "x-message-ttl": .int(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000),
                    "x-dead-letter-exchange": .string(""),
                    "x-dead-letter-routing-key": .string(target),
                    "x-dead-letter-strategy": .string("at-least-once"),
                    "x-overflow": .string("reject-publish"),
                ])
        }
    }

    public struct Binding: Sendable {
        public var queue: String
        public var exchange: String
        public var routingKey: String

        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public static func + (lhs: Topology, rhs: Topology) -> Topology {
        Topology(
            exchanges: lhs.exchanges + rhs.exchanges, queues: lhs.queues + rhs.queues,
            bindings: lhs.bindings + rhs.bindings)
    }
}
