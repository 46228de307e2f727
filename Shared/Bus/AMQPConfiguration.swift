import Foundation

/// Where and how to reach the broker. Built from an `amqp://user:password@host:port/vhost` URL,
/// or from a comma-separated list of them: the nodes of one cluster, tried in turn.
public struct AMQPConfiguration: Sendable, CustomStringConvertible {
    /// One node of the broker.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { "\(host):\(port)" }
    }

    public var host: String
    public var port: Int
    /// Further nodes of the same cluster, tried in order after `host:port` when it cannot be
    /// reached: a client whose node died carries on through another one.
    public var alternates: [Address] = []
    public var user: String
    public var password: String
    public var virtualHost: String
    /// Both sides send a heartbeat at this interval; a peer silent for two intervals is dead.
    public var heartbeatSeconds: Int
    public var connectTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        virtualHost: String = "/", heartbeatSeconds: Int = 30, connectTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
        self.heartbeatSeconds = heartbeatSeconds
        self.connectTimeout = connectTimeout
    }

    /// Parses an AMQP URI (https://www.rabbitmq.com/docs/uri-spec). The virtual host is the
    /// percent-decoded path without its leading slash; an empty path means "/".
    public init(url: String, heartbeatSeconds: Int = 30) throws(AMQPURLError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased()
        else { throw AMQPURLError(url: url, problem: "it is not a URL") }
        guard scheme == "amqp" else {
            throw AMQPURLError(url: url, problem: "the scheme must be amqp (TLS is not supported yet)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw AMQPURLError(url: url, problem: "it names no host")
        }
        let path = components.percentEncodedPath
        let virtualHost = path.isEmpty || path == "/" ? "/" : String(path.dropFirst()).removingPercentEncoding ?? "/"
        self.init(
            host: host, port: components.port ?? 5672, user: components.user ?? "guest",
            password: components.password ?? "guest", virtualHost: virtualHost,
            heartbeatSeconds: heartbeatSeconds)
    }

    /// Parses one AMQP URI, or several separated by commas: the nodes of one cluster, tried in
    /// the order given on every (re)connect. Every URL must name the same user, password and
    /// virtual host (they are one broker); a single URL behaves exactly as `init(url:)`.
    public init(urls: String, heartbeatSeconds: Int = 30) throws(AMQPURLError) {
        let parts = urls.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count > 1 else {
            try self.init(url: urls, heartbeatSeconds: heartbeatSeconds)
            return
        }
        var nodes: [AMQPConfiguration] = []
        for (index, part) in parts.enumerated() {
            guard !part.isEmpty else {
                throw AMQPURLError(url: urls, problem: "broker \(index + 1) of \(parts.count) in the list is empty")
            }
            do { nodes.append(try AMQPConfiguration(url: part, heartbeatSeconds: heartbeatSeconds)) } catch {
                throw AMQPURLError(url: part, problem: "broker \(index + 1) of \(parts.count): \(error.problem)")
            }
        }
        let first = nodes[0]
        if let odd = nodes.firstIndex(where: {
            $0.user != first.user || $0.password != first.password || $0.virtualHost != first.virtualHost
        }) {
            throw AMQPURLError(
                url: parts[odd],
                problem: "broker \(odd + 1) names another user, password or virtual host than broker 1; "
                    + "the list is one cluster, reached with one login")
        }
        let addresses = nodes.map { Address(host: $0.host, port: $0.port) }
        guard Set(addresses.map(\.description)).count == addresses.count else {
            throw AMQPURLError(url: urls, problem: "a broker appears twice in the list")
        }
        self = first
        alternates = Array(addresses.dropFirst())
    }

    /// Every node, in the order a connection tries them.
    public var addresses: [Address] { [Address(host: host, port: port)] + alternates }

    /// How long a broker thread may sleep on an idle socket: half the heartbeat, so that
    /// heartbeats go out on time, and a few seconds when heartbeats are off (0).
    var idleWait: Duration {
        heartbeatSeconds > 0 ? .milliseconds(max(500, heartbeatSeconds * 500)) : .seconds(5)
    }

    /// Safe to log: the password never appears.
    public var description: String {
        "amqp://\(user)@\(addresses.map(\.description).joined(separator: ","))/\(virtualHost == "/" ? "" : virtualHost)"
    }
}

public struct AMQPURLError: Error, CustomStringConvertible {
    public var url: String
    public var problem: String
    public var description: String {
        "the AMQP URL is invalid: \(problem) (expected amqp://user:password@host:port/vhost, or several separated by commas)"
    }
}
