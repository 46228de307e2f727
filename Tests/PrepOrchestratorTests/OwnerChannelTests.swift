import Foundation
import TestSupport
import Testing

@testable import PrepOrchestrator

/// The owner's channels as a fallback chain.
@Suite("Owner channels")
struct OwnerChannelTests {
    struct Down: OwnerChannel {
        let name: String
        func deliver(_ message: OwnerMessage) async throws -> String? { throw ContextUnavailable("\(name) is down") }
    }

    struct Recording: OwnerChannel {
        var name: String { "recording" }
        let delivered = Counter()
        func deliver(_ message: OwnerMessage) async throws -> String? {
            delivered.increment()
            return nil
        }
    }

    static let message = OwnerMessage(kind: .prepRequest, recipient: "alex@example.com", headline: "Time to prepare")

    @Test("a message goes through the first channel that takes it; when none does, each one's failure is said")
    func fallbackChain() async throws {
        let recording = Recording()
        let delivery = try await OwnerChannels(chain: [Down(name: "slack"), recording]).deliver(Self.message)
        #expect(delivery.channel == "recording" && delivery.failures == ["slack: slack is down"])
        #expect(recording.delivered.value == 1)
        await #expect {
            try await OwnerChannels(chain: [Down(name: "slack"), Down(name: "sms")]).deliver(Self.message)
        } throws: { error in
            "\(error)" == "no channel could deliver the message: slack: slack is down; sms: sms is down"
        }
    }

    struct Named: OwnerChannel {
        let name: String
        func deliver(_ message: OwnerMessage) async throws -> String? { nil }
    }

    @Test(
        "the order is the owner's, else their tenant's, else the configured one; unconfigured channels are passed over, local comes last"
    )
    func orderFromDirectory() throws {
        let directory = SMSChannelTests.directory
        let channels = OwnerChannels(chain: ["slack", "sms", "local"].map(Named.init), directory: directory)
        func chain(_ owner: String, tenant: String = "acme") throws -> [String] {
            try channels.chain(for: OwnerMessage(kind: .reminder, recipient: owner, tenant: tenant, headline: "Soon"))
        }
        #expect(try chain("alex@example.com") == ["slack", "sms", "local"], "the tenant's order, without e-mail")
        #expect(try chain("sam@example.com") == ["sms", "local"], "Sam's own order")
        #expect(try chain("alex@example.com", tenant: "no-such-tenant") == ["slack", "sms", "local"], "the configured order")
    }

    @Test("a directory naming a channel that does not exist is refused, naming the file and the channel")
    func unknownChannel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "owners:\n  - email: a@example.com\n    channels: [pager, local]\n".write(
            to: folder.appendingPathComponent("globex.yaml"), atomically: true, encoding: .utf8)
        #expect {
            try OwnerDirectory(folder: folder).validate()
        } throws: { error in
            "\(error)".contains("globex.yaml names a channel pager")
        }
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/config/directory")
        try OwnerDirectory(folder: shipped).validate()
    }

    @Test("when no channel reaches the owner, the step retries by its policy and then the materials are made without them")
    func unreachableOwner() async throws {
        try await withPrep { prep in
            let steps = PrepSteps(
                pool: prep.pool, context: prep.steps.context, channels: OwnerChannels(chain: [Down(name: "local")]),
                generator: EmbeddedGenerator(), store: prep.steps.store, settings: prep.steps.settings)
            let engine = WorkflowEngine(
                pool: prep.pool, outbox: prep.outbox, steps: steps, wakeup: prep.wakeup, logger: TestStack.logger)
            let classified = classification()
            try await prep.classify(classified)
            // Each retry comes due at once, as if its delay had passed: the notification's five
            // attempts, then the materials message's five.
            for _ in 0..<(2 * WorkflowDefinition.retry(.sendPrepNotification).attempts) {
                while try await engine.runDueSteps() > 0 {}
                _ = try await prep.pool.withConnection { db in
                    try db.execute("UPDATE prep.steps SET due_at = now() WHERE state = 'pending' AND last_error IS NOT NULL")
                }
            }
            while try await engine.runDueSteps() > 0 {}
            let outcomes = try await prep.steps(of: classified.meeting.meetingID)
            #expect(outcomes["send_prep_notification"]?.hasPrefix("failed after 5 attempt(s): no channel could deliver") == true)
            #expect(outcomes["generate_materials"] == "done", "the failure path: materials from the context alone")
            #expect(outcomes["send_materials"]?.hasPrefix("failed after 5 attempt(s)") == true, "nor can the materials")
            #expect(outcomes["schedule_reminder"] != nil, "its failure path: the reminder is still planned")
        }
    }
}
