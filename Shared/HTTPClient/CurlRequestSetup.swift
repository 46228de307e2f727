import CCurl
import Foundation

/// The easy-handle options that follow from a request, shared by buffered and streamed transfers.
extension OutboundRequest {
    var hasHTTPScheme: Bool {
        let scheme = URLComponents(string: url)?.scheme?.lowercased()
        return scheme == "http" || scheme == "https"
    }

    /// Sets the URL, method, headers, body and timeouts on `handle`. The returned header list is
    /// read by libcurl during the transfer: free it (`curl_slist_free_all`) only afterwards.
    func configure(_ handle: UnsafeMutableRawPointer, userAgent: String, compressed: Bool) -> UnsafeMutablePointer<curl_slist>? {
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // Without this, curl sends "Expect: 100-continue" for larger bodies and waits for it.
        headerList = curl_slist_append(headerList, "Expect:")

        let milliseconds = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        attache_curl_set_string(handle, CURLOPT_URL, url)
        attache_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        attache_curl_set_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
        attache_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 10_000))
        attache_curl_set_string(handle, CURLOPT_USERAGENT, userAgent)
        if compressed { attache_curl_set_string(handle, CURLOPT_ACCEPT_ENCODING, "") }
        attache_curl_set_list(handle, CURLOPT_HTTPHEADER, headerList)
        switch method.uppercased() {
        case "GET": attache_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": attache_curl_set_long(handle, CURLOPT_NOBODY, 1)
        default: attache_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method.uppercased())
        }
        if let payload = body {
            attache_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.count))
            payload.withUnsafeBytes { bytes in
                _ = attache_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            }
        }
        return headerList
    }
}

/// Status and headers of a response, from the header lines libcurl hands over one at a time.
struct ResponseHeadParser {
    private(set) var status = 0
    /// Names in lower case; a repeated header keeps its last value.
    private(set) var headers: [String: String] = [:]

    /// Takes one header line; true once the blank line ends a final (not 1xx) response head.
    mutating func receive(_ line: String) -> Bool {
        if line.hasPrefix("HTTP/") {
            // A new response (after 100 Continue, 103 Early Hints or a redirect) starts over.
            headers.removeAll()
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return false
        }
        guard let colon = line.firstIndex(of: ":") else {
            return line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && status >= 200
        }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        return false
    }
}
