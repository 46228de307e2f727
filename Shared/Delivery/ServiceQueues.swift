import Bus
import Shared

/// The names and topology of one consuming service on the bus.
///
/// - `<prefix>.events`: the topic exchange every event is published to, routed by message name.
///   Its alternate exchange catches events no queue is bound for, so that none vanishes.
/// - `<prefix>.<service>`: the service's work queue (quorum), bound to the names it handles.
///   Replicas of the service consume it as competing consumers.
/// - `<prefix>.<service>.retry.<delay>ms`: one delay queue per retry step; an expired message is
///   dead-lettered back to the work queue. One queue per delay keeps a long delay from holding
///   up a short one (expiry happens only at the head of a queue).
/// - `<prefix>.<service>.dead-letter`: where messages are parked with the reason, until an
///   operator replays them.
public struct ServiceQueues: Sendable {
    public let prefix: String
    public let service: String
    public let retryDelays: [Duration]

    public init(prefix: String, service: String, retryDelays: [Duration] = ServiceQueues.defaultRetryDelays) {
        self.prefix = prefix
        self.service = service
        self.retryDelays = retryDelays
    }

    public static let defaultRetryDelays: [Duration] = [.seconds(1), .seconds(5), .seconds(30), .seconds(120)]

    public var eventsExchange: String { Self.eventsExchange(prefix: prefix) }
    public var workQueue: String { "\(prefix).\(service)" }
    public var deadLetterQueue: String { "\(prefix).\(service).dead-letter" }

    /// The delay queue for retry number `retry` (1-based); later retries reuse the longest delay.
    public func retryQueue(forRetry retry: Int) -> String {
        let delay = retryDelays[min(max(retry, 1), retryDelays.count) - 1]
        return "\(workQueue).retry.\(delay.milliseconds)ms"
    }

    public func topology(routingKeys: [String]) -> Topology {
        Self.eventsTopology(prefix: prefix)
            + Topology(
                queues: [.quorum(workQueue), .quorum(deadLetterQueue)]
                    + retryDelays.map { .delay("\(workQueue).retry.\($0.milliseconds)ms", delay: $0, target: workQueue) },
                bindings: routingKeys.map { .init(queue: workQueue, exchange: eventsExchange, routingKey: $0) })
    }

    /// The work and dead-letter queues of every consuming service, bound as `Subscriptions`
    /// says: what a service declares before publishing, so that no consumer's queue is missing
    /// when its first event goes out.
    public static func subscriptionsTopology(prefix: String) -> Topology {
        Subscriptions.byService.keys.sorted().reduce(eventsTopology(prefix: prefix)) { topology, service in
            let queues = ServiceQueues(prefix: prefix, service: service)
            return topology
                + Topology(
                    queues: [.quorum(queues.workQueue), .quorum(queues.deadLetterQueue)],
                    bindings: (Subscriptions.routingKeys(for: service) ?? []).map {
                        .init(queue: queues.workQueue, exchange: queues.eventsExchange, routingKey: $0)
                    })
        }
    }

    public static func eventsExchange(prefix: String) -> String { "\(prefix).events" }
    public static func unroutedQueue(prefix: String) -> String { "\(prefix).unrouted" }

    /// The unrouted queue keeps the newest 10 000 events for at most 7 days: enough to see what
    /// is published without a subscriber and to replay a recent one, without growing for ever
    /// while nobody reads it (`prep.notification.sent` and `monitoring.result` land there by design).
    public static let unroutedLimits: (length: Int64, age: Duration) = (10_000, .seconds(7 * 24 * 3600))

    /// The exchange publishers need, with its catch-all for unroutable events.
    public static func eventsTopology(prefix: String) -> Topology {
        let unrouted = unroutedQueue(prefix: prefix)
        return Topology(
            exchanges: [
                .init(name: unrouted, kind: .fanout),
                .init(name: eventsExchange(prefix: prefix), kind: .topic, arguments: ["alternate-exchange": .string(unrouted)]),
            ],
            queues: [
                .quorum(
                    unrouted,
                    arguments: [
                        "x-max-length": .int(unroutedLimits.length),
                        "x-message-ttl": .int(unroutedLimits.age.milliseconds),
                        "x-overflow": .string("drop-head"),
                    ])
            ],
            bindings: [.init(queue: unrouted, exchange: unrouted, routingKey: "")])
    }
}

/// Headers the delivery layer writes on retried and parked messages.
public enum DeliveryHeader {
    public static let attempts = "x-attache-attempts"
    public static let error = "x-attache-error"
    public static let originalRoutingKey = "x-attache-original-routing-key"
    public static let parkedAt = "x-attache-parked-at"
    public static let parkedBy = "x-attache-parked-by"
    public static let replayedAt = "x-attache-replayed-at"
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
