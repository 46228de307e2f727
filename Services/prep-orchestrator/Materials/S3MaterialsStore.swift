import Foundation
import ObjectStore
import Resilience
import Store

/// Materials in an S3-compatible store: objects under `{tenant}/{meeting}/{materials id}/{file}`,
/// reached through presigned GET URLs (SigV4) that expire after the link lifetime.
struct S3MaterialsStore: MaterialsStore {
    let client: S3Client
    var lifetime: Duration = .seconds(24 * 3600)

    var name: String { "s3" }

    static func objectKey(_ file: String, key: MaterialsKey) -> String {
        "\(key.tenant)/\(key.meeting.uuidString.lowercased())/\(key.id.uuidString.lowercased())/\(file)"
    }

    func upload(_ files: [MaterialFile], key: MaterialsKey) async throws {
        for file in files {
            try await client.put(Self.objectKey(file.name, key: key), body: Array(file.body.utf8), contentType: file.contentType)
        }
    }

    func record(_ files: [MaterialFile], key: MaterialsKey, into effects: inout StepEffects) {}

    func link(_ file: String, key: MaterialsKey, now: Date) -> MaterialLink {
        MaterialLink(
            file: file, url: client.presignedGET(Self.objectKey(file, key: key), at: now, expires: lifetime),
            expiresAt: now.addingTimeInterval(lifetime.secondsValue))
    }

    func remove(_ files: [String], key: MaterialsKey) async throws {
        for file in files { try await client.delete(Self.objectKey(file, key: key)) }
    }
}
