import Foundation
import HummingbirdWSClient
import Synchronization
import TestSupport
import Testing

@testable import RealtimeWorker

/// The agent joins from its tenant's company: the greeting says it and the camera page shows it.
@Suite("The tenant's company", .serialized)
struct TenantCompanyTests {
    @Test("the agent greets with the company in its tenant's directory file and the page is told it first")
    func tenantsCompany() async throws {
        try await withDirectory(["acme.yaml": "company: Acme Robotics\nowners: []\n"]) { folder in
            try await withWorld(
                environment: ["ATTACHE_DIRECTORY_DIR": folder.path, "ATTACHE_COMPANY_NAME": "Default Co"]
            ) { world in
                try await world.classify()
                try await world.deliver(.inCallRecording)
                let texts = Mutex<[String]>([])
                _ = try await WebSocketClient.connect(url: world.mediaURL(), logger: TestStack.logger) { inbound, outbound, _ in
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        guard case let .text(text) = message else { continue }
                        texts.withLock { $0.append(text) }
                        // The greeting has been said.
                        if text.contains(#""reaction":"neutral""#) { try await outbound.close(.normalClosure, reason: nil) }
                    }
                }
                #expect(
                    texts.withLock { $0.first } == #"{"company":"Acme Robotics","name":"Attaché","type":"agent"}"#,
                    "the page learns whom it shows before anything else")
                try await world.deliver(.callEnded)
                let completed = try #require(try await world.callCompleted())
                #expect(completed.turns.first?.text == "Hi, this is Attaché joining from Acme Robotics.")
            }
        }
    }

    @Test("a tenant without a file or without a company gets ATTACHE_COMPANY_NAME; an unreadable file is named")
    func fallbacks() throws {
        try withDirectory(["plain.yaml": "owners: []\n", "broken.yaml": "company: [unclosed\n"]) { folder in
            let companies = TenantCompanies(folder: folder, fallback: "Default Co")
            let (plain, nobody, path) = (
                try companies.company(of: "plain"), try companies.company(of: "nobody"),
                try companies.company(of: "../etc/passwd")
            )
            #expect(plain == "Default Co")
            #expect(nobody == "Default Co")
            #expect(path == "Default Co", "a tenant id is never a path")
            let error = #expect(throws: TenantCompanies.Unreadable.self) { try companies.validate() }
            #expect(error?.description.contains("broken.yaml") == true)
        }
    }

    private func withDirectory<T>(_ files: [String: String], _ body: (URL) async throws -> T) async throws -> T {
        let folder = try Self.makeDirectory(files)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try await body(folder)
    }

    private func withDirectory<T>(_ files: [String: String], _ body: (URL) throws -> T) throws -> T {
        let folder = try Self.makeDirectory(files)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    private static func makeDirectory(_ files: [String: String]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return folder
    }
}
