#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Store

/// A database of its own for a test whose code uses fixed schema names (the services do).
public enum TestDatabase {
    /// Creates an empty database on the test server and returns its URL.
    public static func create() async throws -> String {
        let admin = try TestStack.databaseURL()
        let name = TestStack.uniqueName("db")
        try await PostgresPool(url: admin, size: 1).withConnection { try $0.execute("CREATE DATABASE \(name)") }
        return replacingDatabase(in: admin, with: name)
    }

    public static func drop(_ url: String) async throws {
        guard let name = URLComponents(string: url)?.path.dropFirst(), name.hasPrefix("t_db_") else { return }
        let admin = try TestStack.databaseURL()
        try await PostgresPool(url: admin, size: 1).withConnection {
            try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    private static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return components.string!
    }
}

/// A TCP port nothing listens on right now, for a child process to bind.
public func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
