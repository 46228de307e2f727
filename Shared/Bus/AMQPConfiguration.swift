import Foundation

/// Where and how to reach the broker. Built from an `amqp://user:password@host:port/vhost` URL.
public struct AMQPConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
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

    /// Safe to log: the password never appears.
    /// How long a broker thread may sleep on an idle socket: half the heartbeat, so that
    /// heartbeats go out on time, and a few seconds when heartbeats are off (0).
    var idleWait: Duration {
        heartbeatSeconds > 0 ? .milliseconds(max(500, heartbeatSeconds * 500)) : .seconds(5)
    }

    public var description: String { "amqp://\(user)@\(host):\(port)/\(virtualHost == "/" ? "" : virtualHost)" }
}

public struct AMQPURLError: Error, CustomStringConvertible {
    public var url: String
    public var problem: String
    public var description: String {
        "the AMQP URL is invalid: \(problem) (expected amqp://user:password@host:port/vhost)"
    }
}
