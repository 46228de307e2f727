import Delivery
import Foundation
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// A database of its own for a test whose code uses fixed schema names (the services do).
public enum TestDatabase {
    /// Creates an empty database on the test server (or on `server`) and returns its URL.
    public static func create(on server: String? = nil) async throws -> String {
        let admin = try server ?? TestStack.databaseURL()
        let name = TestStack.uniqueName("db")
        _ = try await PostgresPool(url: admin, size: 1).withConnection { try $0.execute("CREATE DATABASE \(name)") }
        return replacingDatabase(in: admin, with: name)
    }

    /// Runs `body` with a database of its own, dropped afterwards whatever happens.
    public static func with<T>(on server: String? = nil, _ body: (String) async throws -> T) async throws -> T {
        try await using(try await create(on: server), tearDown: { try await drop($0) }, body)
    }

    /// Runs `body` with a pool on a database of its own in which a service's schema has been
    /// migrated as the service migrates it at start (Delivery's tables, then its own).
    public static func with<T>(
        on server: String? = nil, schema: String, migrations: [Migration], _ body: (PostgresPool) async throws -> T
    ) async throws -> T {
        try await with(on: server) { url in
            let pool = PostgresPool(url: url, size: 2)
            try await Migrator.migrate(
                pool, schema: schema, migrations: DeliveryMigrations.all + migrations, logger: TestStack.logger)
            return try await body(pool)
        }
    }

    public static func drop(_ url: String) async throws {
        guard let name = URLComponents(string: url)?.path.dropFirst(), name.hasPrefix("t_db_") else { return }
        let admin = replacingDatabase(in: url, with: "attache")
        _ = try await PostgresPool(url: admin, size: 1).withConnection {
            try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    private static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return components.string!
    }
}

/// A TCP port nothing listens on right now, for a child process to bind. It comes from below
/// the kernel's ephemeral range: a port from that range, free now, can be handed to any server
/// in another test that binds port 0 before the child binds it.
public func freePort() throws -> Int {
    let ephemeralStart =
        (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .flatMap { $0.split(whereSeparator: \.isWhitespace).first }.flatMap { Int($0) } ?? 32768
    let candidates = 20000..<max(ephemeralStart, 20001)
    for _ in 0..<100 {
        let port = Int.random(in: candidates)
        if canBind(port) { return port }
    }
    throw POSIXError(.EADDRINUSE)
}

private func canBind(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
