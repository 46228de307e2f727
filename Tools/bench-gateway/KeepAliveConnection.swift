import Foundation
import HTTPClient

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP/1.1 connection kept open from request to request, as the senders being imitated
/// keep theirs (Svix and Slack deliver over pooled keep-alive connections). Blocking, for one
/// load-generator thread: the generator shares two cores with the service it measures, so it
/// spends as little as it can per request.
final class KeepAliveConnection {
    private let host: String
    private let port: UInt16
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []

    init(url: String) {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host,
            let port = components.port
        else { fail("GATEWAY_URL must be http://host:port, not \(url)") }
        self.host = host
        self.port = UInt16(port)
    }

    deinit { if socket >= 0 { close(socket) } }

    /// Sends `request` and reads its whole answer; opens the connection again when the server closed it.
    func exchange(_ request: OutboundRequest) -> (status: Int, body: String) {
        if socket < 0 { connect() }
        let bytes = Self.serialise(request, host: host, port: port)
        let sent = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count, let response = readResponse() else {
            // A connection the server closed while idle: one fresh attempt, as an HTTP client would.
            reconnect()
            return exchange(request)
        }
        if response.close { reconnect() }
        return (response.status, response.body)
    }

    private func connect() {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            fail("GATEWAY_URL's host must be an IPv4 address, not \(host)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { fail("could not connect to \(host):\(port): \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    private func reconnect() {
        close(socket)
        socket = -1
        buffer.removeAll()
        connect()
    }

    /// Reads one response (Content-Length framed, as the gateway answers); nil if the connection ended first.
    private func readResponse() -> (status: Int, body: String, close: Bool)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            headEnd = buffer.firstRange(of: separator)?.upperBound
            if headEnd == nil { guard fill() else { return nil } }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self).lowercased()
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { fail("not an HTTP response: \(head.prefix(100))") }
        var length = 0
        var close = false
        for line in lines.dropFirst() {
            if line.hasPrefix("content-length:") { length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if line.hasPrefix("connection:") && line.contains("close") { close = true }
            if line.hasPrefix("transfer-encoding:") {
                fail("the gateway answered chunked; this generator reads Content-Length only")
            }
        }
        while buffer.count < headEnd! + length { guard fill() else { return nil } }
        let body = String(decoding: buffer[headEnd!..<(headEnd! + length)], as: UTF8.self)
        buffer.removeFirst(headEnd! + length)
        return (status, body, close)
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    private static func serialise(_ request: OutboundRequest, host: String, port: UInt16) -> [UInt8] {
        let path =
            URLComponents(string: request.url).map { $0.percentEncodedPath + ($0.percentEncodedQuery.map { "?" + $0 } ?? "") }
            ?? "/"
        var head =
            "\(request.method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(request.body?.count ?? 0)\r\n"
        for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (request.body ?? [])
    }
}
