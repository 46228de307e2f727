import Foundation
import HTTPClient

/// An S3-compatible object store, path-style (`{endpoint}/{bucket}/{key}`), signed with SigV4.
public struct S3Client: Sendable {
    public struct Configuration: Sendable, CustomStringConvertible {
        public var endpoint: String
        public var bucket: String
        public var region: String
        public var accessKey: String
        public var secretKey: String

        public init(endpoint: String, bucket: String, region: String = "us-east-1", accessKey: String, secretKey: String) {
            self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
            self.bucket = bucket
            self.region = region
            self.accessKey = accessKey
            self.secretKey = secretKey
        }

        /// Without the secret, so that a configuration can be logged.
        public var description: String { "bucket \(bucket) at \(endpoint) (\(region))" }
    }

    /// The store answered with an error; `code` is S3's (`NoSuchBucket`, `SignatureDoesNotMatch`…).
    public struct Failure: Error, CustomStringConvertible {
        public var operation: String
        public var status: Int
        public var code: String?
        public var description: String { "S3 \(operation) failed: HTTP \(status)\(code.map { " \($0)" } ?? "")" }
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let signer: SigV4

    public init(configuration: Configuration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
        signer = SigV4(accessKey: configuration.accessKey, secretKey: configuration.secretKey, region: configuration.region)
    }

    /// Creates the bucket unless it exists already.
    public func ensureBucket() async throws {
        let response = try await send("PUT", url: url(nil), body: [])
        guard response.isSuccess || [409].contains(response.status) else {
            throw Failure(operation: "create bucket", status: response.status, code: Self.code(response))
        }
    }

    public func put(_ key: String, body: [UInt8], contentType: String) async throws {
        let response = try await send("PUT", url: url(key), body: body, headers: [("Content-Type", contentType)])
        guard response.isSuccess else {
            throw Failure(operation: "put \(key)", status: response.status, code: Self.code(response))
        }
    }

    public func delete(_ key: String) async throws {
        let response = try await send("DELETE", url: url(key), body: [])
        guard response.isSuccess || response.status == 404 else {
            throw Failure(operation: "delete \(key)", status: response.status, code: Self.code(response))
        }
    }

    /// A URL anyone may GET `key` with until `expires` after `date`.
    public func presignedGET(_ key: String, at date: Date = Date(), expires: Duration) -> String {
        signer.presignedGET(url(key), at: date, expires: expires).absoluteString
    }

    private func url(_ key: String?) -> URL {
        let path = ([configuration.bucket] + (key.map { [$0] } ?? []))
            .joined(separator: "/").split(separator: "/").map { SigV4.encode(String($0)) }.joined(separator: "/")
        return URL(string: "\(configuration.endpoint)/\(path)")!
    }

    private func send(_ method: String, url: URL, body: [UInt8], headers: [(name: String, value: String)] = []) async throws
        -> OutboundResponse
    {
        try await http.send(
            OutboundRequest(
                method: method, url: url.absoluteString,
                headers: headers + signer.headers(method: method, url: url, body: body, at: Date()), body: body))
    }

    /// `<Error><Code>…</Code>` in S3's XML error body.
    static func code(_ response: OutboundResponse) -> String? {
        let text = response.text
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
