import Bus
import Foundation
import Runtime

/// `attache-ops serve`'s settings, read once at start. The database, broker and bus prefix are
/// read as every service reads them (`CommonConfiguration`); the console listens on a port of
/// its own so that it can run beside a service on one host.
public struct ConsoleConfiguration: ServiceConfiguration {
    public static let identity = ServiceIdentity("attache-ops", defaultHTTPPort: ConsoleConfiguration.defaultPort)
    public static let defaultPort = 8090
    public static let minimumTokenLength = 32

    public var common: CommonConfiguration
    /// What an operator types to sign in. Never logged.
    public var operatorToken: String
    public var host: String
    public var port: Int
    /// Adds `Secure` to the session cookie: set it when the console is reached over HTTPS.
    public var secureCookies: Bool
    public var sessionLifetime: Duration
    /// Rows on one page of a list.
    public var pageSize: Int
    /// Where the system page asks each service's `/readyz` (`ATTACHE_OPS_SERVICE_URLS`); a
    /// service left out is judged by whether anything consumes its queue.
    var serviceURLs: ServiceURLs

    public init(_ environment: Environment) throws(ConfigurationError) {
        common = try CommonConfiguration(for: Self.self, environment)
        let token = try environment.requiredString(
            "ATTACHE_OPS_TOKEN", hint: "the operators' sign-in token, at least \(Self.minimumTokenLength) characters")
        guard token.count >= Self.minimumTokenLength else {
            throw ConfigurationError(
                setting: "ATTACHE_OPS_TOKEN",
                problem: "must be at least \(Self.minimumTokenLength) characters (it has \(token.count)): "
                    + "make one with `openssl rand -hex 32`")
        }
        operatorToken = token
        host = environment.string("ATTACHE_OPS_HTTP_HOST", default: "127.0.0.1")
        port = try environment.integer("ATTACHE_OPS_HTTP_PORT", default: Self.defaultPort, in: 0...65535)
        switch environment.string("ATTACHE_OPS_SECURE_COOKIES", default: "false").lowercased() {
        case "true", "1", "yes": secureCookies = true
        case "false", "0", "no": secureCookies = false
        case let other:
            throw ConfigurationError(setting: "ATTACHE_OPS_SECURE_COOKIES", problem: "must be true or false, not '\(other)'")
        }
        sessionLifetime = .seconds(
            60 * (try environment.integer("ATTACHE_OPS_SESSION_MINUTES", default: 480, in: 5...(7 * 24 * 60))))
        pageSize = try environment.integer("ATTACHE_OPS_PAGE_SIZE", default: 50, in: 5...500)
        serviceURLs = try ServiceURLs(
            parsing: environment.optionalString(ServiceURLs.setting), services: OpsQueries.services)
    }

    /// For tests: the settings given, the rest as the environment would default them.
    public init(
        operatorToken: String, databaseURL: String, broker: String, busPrefix: String, secureCookies: Bool = false,
        sessionLifetime: Duration = .seconds(8 * 3600), pageSize: Int = 50, serviceURLs: String = ""
    ) throws(ConfigurationError) {
        try self.init(
            Environment([
                "ATTACHE_OPS_TOKEN": operatorToken, "ATTACHE_DATABASE_URL": databaseURL, "ATTACHE_AMQP_URL": broker,
                "ATTACHE_BUS_PREFIX": busPrefix, "ATTACHE_OPS_HTTP_PORT": "0",
                "ATTACHE_OPS_SECURE_COOKIES": secureCookies ? "true" : "false", ServiceURLs.setting: serviceURLs,
            ]))
        self.sessionLifetime = sessionLifetime
        self.pageSize = pageSize
    }
}
