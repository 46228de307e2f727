import Foundation
import HTTPClient
import ObjectStore
import TestSupport
import Testing

@testable import PrepOrchestrator

/// The materials in an S3-compatible store (SeaweedFS started by the project's scripts).
@Suite("Materials in S3")
struct S3MaterialsTests {
    @Test("materials are uploaded under tenant and meeting, linked with presigned URLs that work, and swept with their rows")
    func uploadLinkAndSweep() async throws {
        let s3 = try TestStack.s3()
        let client = S3Client(
            configuration: .init(
                endpoint: s3.url, bucket: "prep-materials-tests", accessKey: s3.accessKey, secretKey: s3.secretKey),
            http: HTTPClient(retry: .none, logger: TestStack.logger))
        try await client.ensureBucket()
        let store = S3MaterialsStore(client: client)
        try await withPrep(store: store) { prep in
            let classified = classification(title: "Budget & hiring", startsIn: 20 * 60)
            try await prep.classify(classified)
            try await prep.settle()
            let steps = try await prep.steps(of: classified.meeting.meetingID)
            let lastError = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT last_error FROM prep.steps WHERE step = 'store_materials'")?.optionalString("last_error")
            }
            #expect(steps["store_materials"] == "done", "\(lastError ?? "")")
            let sent = try #require(try await prep.notifications(of: classified.meeting.meetingID).last)
            let agendaLink = try #require(PrepHarness.link("Agenda", in: sent.text))
            #expect(
                agendaLink.hasPrefix(
                    "\(s3.url)/prep-materials-tests/acme/\(classified.meeting.meetingID.uuidString.lowercased())/"))
            #expect(agendaLink.contains("X-Amz-Expires=86400"))
            let agenda = try await prep.get(agendaLink)
            #expect(agenda.status == 200)
            #expect(agenda.text.contains("Budget &amp; hiring"))
            #expect(try await prep.get(agendaLink.replacingOccurrences(of: "agenda.html", with: "notes.md")).status == 403)

            // Thirty-one days on, the sweep deletes the objects and the rows.
            _ = try await prep.pool.withConnection { db in
                try db.execute("UPDATE prep.materials SET created_at = now() - interval '31 days'")
            }
            #expect(try await MaterialsSweep(pool: prep.pool, store: store, logger: TestStack.logger).sweep() == 1)
            #expect(try await prep.get(agendaLink).status == 404)
        }
    }
}
