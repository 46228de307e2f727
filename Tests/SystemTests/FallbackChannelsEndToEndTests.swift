import Foundation
import HTTPClient
import Shared
import TestSupport
import Testing

/// The owner's fallback channels through the real processes: prep-orchestrator texting through a
/// fake of Twilio and e-mailing through the stack's SMTP server, bot-gateway taking Twilio's
/// signed status callbacks, over the real broker and database.
@Suite("End to end: SMS, then e-mail")
struct FallbackChannelsEndToEndTests {
    @Test("a text, a restart, the text undelivered: the prep request arrives by e-mail, and nothing is sent twice")
    func textThenEmail() async throws {
        let prefix = TestStack.uniqueName("e2e_fallback")
        let twilio = try await FakeTwilio()
        defer { twilio.stop() }
        try await withMailboxes(["owner"]) { boxes in
            let owner = boxes[0]
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try "owners:\n  - email: \(owner.address)\n    phone: \"+15555550142\"\n".write(
                to: folder.appendingPathComponent("default.yaml"), atomically: true, encoding: .utf8)
            try await TestDatabase.with { databaseURL in
                let smtp = try TestStack.smtp()
                let ports = ["prep-orchestrator": try freePort(), "bot-gateway": try freePort()]
                let gateway = "http://127.0.0.1:\(ports["bot-gateway"]!)"
                let common = [
                    "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"), "ATTACHE_DATABASE_URL": databaseURL,
                    "ATTACHE_BUS_PREFIX": prefix, "ATTACHE_RETRY_DELAYS_MS": "200,500,1000", "ATTACHE_LOG_LEVEL": "info",
                    "ATTACHE_TWILIO_AUTH_TOKEN": FakeTwilio.authToken,
                ]
                let specific = [
                    "prep-orchestrator": [
                        // A step the killed process held is taken over when its lease runs out.
                        "ATTACHE_TIMER_POLL_MS": "100", "ATTACHE_PREP_STEP_LEASE_SECONDS": "5",
                        "ATTACHE_OWNER_CHANNELS": "sms,email,local",
                        "ATTACHE_DIRECTORY_DIR": folder.path, "ATTACHE_TWILIO_ACCOUNT_SID": FakeTwilio.accountSID,
                        "ATTACHE_TWILIO_FROM": "+15555550199", "ATTACHE_TWILIO_API_URL": twilio.url,
                        "ATTACHE_TWILIO_STATUS_CALLBACK_URL": gateway + "/webhooks/twilio/status",
                        "ATTACHE_SMTP_URL": smtp.url, "ATTACHE_SMTP_USER": smtp.user, "ATTACHE_SMTP_PASSWORD": smtp.password,
                        "ATTACHE_SMTP_CA_FILE": smtp.caFile, "ATTACHE_SMTP_FROM": "prep@attache.test",
                    ],
                    "bot-gateway": [
                        "ATTACHE_PUBLIC_URL": gateway,
                        // Behind a public address bot-gateway needs the camera token key too.
                        "ATTACHE_CAMERA_TOKEN_KEY": Data((0..<32).map { _ in UInt8.random(in: 0...255) })
                            .base64EncodedString(),
                        "ATTACHE_WEBHOOK_SECRET": "whsec_"
                            + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString(),
                    ],
                ]
                func start(_ service: String) throws -> ChildProcess {
                    try ServiceBinaries.start(
                        service,
                        environment: common.merging(specific[service]!) { $1 }
                            .merging(["ATTACHE_HTTP_PORT": String(ports[service]!)]) { $1 })
                }
                let processes = ProcessBox([
                    "prep-orchestrator": try start("prep-orchestrator"), "bot-gateway": try start("bot-gateway"),
                ])
                defer { processes.killAll() }
                do {
                    try await ready(ports.values)
                    try await SystemBus.publish(Self.classified(owner: owner.address), prefix: prefix)
                    try await eventually("the prep request texted") { !twilio.sent.isEmpty }
                    // prep-orchestrator dies at once, wherever it was, and comes back.
                    processes.kill("prep-orchestrator")
                    processes.replace("prep-orchestrator", with: try start("prep-orchestrator"))
                    try await ready([ports["prep-orchestrator"]!])
                    let text = try #require(twilio.sent.first)
                    #expect(text.to == "+15555550142")
                    #expect(try await twilio.report("sent", for: text) == 200)
                    #expect(try await twilio.report("undelivered", errorCode: 30003, for: text) == 200)
                    try await eventually("the prep request e-mailed", within: .seconds(120)) {
                        (try? owner.delivered().isEmpty) == false
                    }
                    let mail = try #require(try owner.delivered().first)
                    #expect(decodeEncodedWords(mail.header("Subject") ?? "").hasPrefix("Time to prepare “Weekly staff meeting”"))
                    #expect(try mail.parts().first?.text.contains("Start prep: http://") == true)
                    #expect(twilio.sent.count == 1, "texted once, across the restart")
                    #expect(try owner.delivered().count == 1)
                } catch {
                    Issue.record("\(error)\n\(processes.logs())")
                }
                processes.stopAll()
                for (service, status) in await processes.exitStatuses() {
                    #expect(status == 0, "\(service)\n\(processes.logs())")
                }
            }
        }
        try await SystemBus.deleteQueues(prefix: prefix)
    }

    func ready(_ ports: some Sequence<Int>) async throws {
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        for port in ports {
            try await eventually("ready") {
                (try? await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/readyz")))?.status == 200
            }
        }
    }

    static func classified(owner: String) -> Envelope<MeetingClassified> {
        let start = Date().addingTimeInterval(3 * 86_400)
        let meeting = MeetingSnapshot(
            meetingID: UUID(), revision: 1, source: "e2e", externalID: "e2e-fallback", title: "Weekly staff meeting",
            description: "Updates.", start: start, end: start.addingTimeInterval(3600),
            organizer: Participant(email: owner, name: "Alex Rivera"), attendees: [], conferenceURL: nil)
        return Envelope(
            tenantID: "default", correlationID: meeting.meetingID,
            payload: MeetingClassified(
                meeting: meeting, meetingType: "staff_meeting", rule: "e2e", matchedKeywords: [], prepTriggerAt: Date(),
                reminderAt: start.addingTimeInterval(-7200), botJoinAt: start.addingTimeInterval(-120),
                prepQuestions: ["What do you want from this meeting?"], contextRequired: ["big_rocks"]))
    }
}

/// The test's service processes by name, killed when the test ends however it ends. A class so that `defer` and the test's body share one set.
final class ProcessBox {
    private var processes: [String: ChildProcess]

    init(_ processes: [String: ChildProcess]) { self.processes = processes }

    func kill(_ service: String) { processes[service]?.signal(SIGKILL) }
    func replace(_ service: String, with process: ChildProcess) { processes[service] = process }
    func killAll() { for process in processes.values { process.signal(SIGKILL) } }
    func stopAll() { for process in processes.values { process.signal(SIGTERM) } }

    func exitStatuses() async -> [(String, Int32?)] {
        var statuses: [(String, Int32?)] = []
        for (service, process) in processes { statuses.append((service, await process.exitStatus(within: .seconds(40)))) }
        return statuses
    }

    func logs() -> String {
        processes.map { "--- \($0.key)\n\($0.value.output.suffix(3000))" }.joined(separator: "\n")
    }
}
