import Foundation
import HTTPClient
import ObjectStore
import TestSupport
import Testing

/// The S3 client against a real S3-compatible server (SeaweedFS, which checks SigV4).
@Suite("Object store over S3")
struct ObjectStoreTests {
    let http = HTTPClient(retry: .none, logger: TestStack.logger)

    func client(secret: String? = nil) throws -> S3Client {
        let s3 = try TestStack.s3()
        return S3Client(
            configuration: .init(
                endpoint: s3.url, bucket: "objectstore-tests", accessKey: s3.accessKey, secretKey: secret ?? s3.secretKey),
            http: http)
    }

    @Test("an upload is fetched through its presigned URL; a changed, expired or unsigned URL, and a wrong secret, are refused")
    func presignedDownloads() async throws {
        let client = try client()
        try await client.ensureBucket()
        try await client.ensureBucket()  // again: it exists
        let key = "acme/\(UUID().uuidString.lowercased())/notes & agenda.md"
        try await client.put(key, body: Array("# Notes\n".utf8), contentType: "text/markdown; charset=utf-8")

        let url = client.presignedGET(key, expires: .seconds(3600))
        let fetched = try await http.send(OutboundRequest(url: url))
        #expect(fetched.status == 200)
        #expect(fetched.text == "# Notes\n")
        #expect(fetched.headers["content-type"] == "text/markdown; charset=utf-8")

        let signature = try #require(url.range(of: "X-Amz-Signature=")).upperBound
        let tampered = url[..<signature] + (url[signature...].first == "a" ? "b" : "a") + url[url.index(after: signature)...]
        #expect(try await http.send(OutboundRequest(url: String(tampered))).status == 403)
        let otherKey = url.replacingOccurrences(of: "notes%20%26%20agenda.md", with: "notes.md")
        #expect(try await http.send(OutboundRequest(url: otherKey)).status == 403)
        let expired = client.presignedGET(key, at: Date().addingTimeInterval(-7200), expires: .seconds(3600))
        #expect(try await http.send(OutboundRequest(url: expired)).status == 403)
        #expect(try await http.send(OutboundRequest(url: url.components(separatedBy: "?")[0])).status == 403)

        await #expect(throws: S3Client.Failure.self) {
            try await self.client(secret: "not-the-secret").put(key, body: [1], contentType: "text/plain")
        }
        try await client.delete(key)
        #expect(try await http.send(OutboundRequest(url: client.presignedGET(key, expires: .seconds(60)))).status == 404)
    }
}
