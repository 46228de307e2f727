import Bus
import Delivery
import Foundation
import HTTPClient
import Shared
import Slack
import Store
import TestSupport
import Testing

/// Preparing a meeting in Slack through the real processes: prep-orchestrator talking to a fake
/// of Slack's Web API, and bot-gateway taking the clicks and replies Slack would send, signed,
/// over the real broker and database.
@Suite("End to end in Slack")
struct SlackEndToEndTests {
    static let signingSecret = "e2e-signing-secret-0123456789abcdef"

    @Test("the owner starts prep in Slack, answers in the DM, and gets the materials there")
    func prepInSlack() async throws {
        let prefix = TestStack.uniqueName("e2e_slack")
        let fake = try await FakeSlack()
        defer { fake.stop() }
        let owner = fake.addUser(email: "alex@example.com")
        try await TestDatabase.with { databaseURL in
            let common = [
                "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"), "ATTACHE_DATABASE_URL": databaseURL,
                "ATTACHE_BUS_PREFIX": prefix, "ATTACHE_RETRY_DELAYS_MS": "200,500,1000", "ATTACHE_LOG_LEVEL": "info",
            ]
            let specific = [
                "prep-orchestrator": [
                    "ATTACHE_TIMER_POLL_MS": "100", "ATTACHE_SLACK_BOT_TOKEN": fake.configuration.botToken,
                    "ATTACHE_SLACK_API_URL": fake.baseURL,
                ],
                "bot-gateway": ["ATTACHE_SLACK_SIGNING_SECRET": Self.signingSecret],
            ]
            var ports: [String: Int] = [:]
            var processes: [String: ChildProcess] = [:]
            for (service, environment) in specific {
                ports[service] = try freePort()
                processes[service] = try ServiceBinaries.start(
                    service,
                    environment: common.merging(environment) { $1 }.merging(["ATTACHE_HTTP_PORT": String(ports[service]!)]) { $1 }
                )
            }
            defer { for process in processes.values { process.signal(SIGKILL) } }
            let running = processes
            do {
                try await converse(fake: fake, owner: owner, ports: ports, prefix: prefix)
            } catch {
                let logs = running.map { "--- \($0.key)\n\($0.value.output.suffix(3000))" }
                Issue.record("\(error)\n\(logs.joined(separator: "\n"))")
            }
            for process in processes.values { process.signal(SIGTERM) }
            for (service, process) in processes {
                #expect(await process.exitStatus(within: .seconds(40)) == 0, "\(service)\n\(process.output.suffix(2000))")
            }
        }
        try await SystemBus.deleteQueues(prefix: prefix)
    }

    func converse(fake: FakeSlack, owner: String, ports: [String: Int], prefix: String) async throws {
        let http = HTTPClient(retry: .none, logger: TestStack.logger)
        for port in ports.values {
            try await eventually("ready") {
                (try? await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/readyz")))?.status == 200
            }
        }
        try await classify(prefix: prefix)
        try await eventually("the prep request in the owner's DM") {
            fake.directMessage(with: owner).map { !fake.messages(in: $0).isEmpty } == true
        }
        let dm = try #require(fake.directMessage(with: owner))
        let request = try #require(fake.messages(in: dm).first)
        let blocks = try #require(request.blocks)
        let workflow = try #require(
            blocks.components(separatedBy: #""value":""#).dropFirst().first?.prefix(36).description, "the button's value")

        let gateway = "http://127.0.0.1:\(ports["bot-gateway"]!)"
        func send(_ path: String, _ body: String, contentType: String) async throws {
            let timestamp = String(Int(Date().timeIntervalSince1970))
            let response = try await http.send(
                OutboundRequest(
                    method: "POST", url: gateway + path,
                    headers: [
                        ("Content-Type", contentType), ("X-Slack-Request-Timestamp", timestamp),
                        (
                            "X-Slack-Signature",
                            SlackSignature.sign(body: Array(body.utf8), timestamp: timestamp, secret: Self.signingSecret)
                        ),
                    ],
                    body: Array(body.utf8)))
            #expect(response.status == 200, "\(path): \(response.status) \(response.text)")
        }
        @Sendable func said() -> [String] { fake.messages(in: dm).compactMap(\.text) }

        let click =
            #"{"type":"block_actions","user":{"id":"\#(owner)"},"container":{"type":"message","channel_id":"\#(dm)","message_ts":"\#(request.ts)"},"actions":[{"type":"button","action_id":"prep_start","value":"\#(workflow)","action_ts":"1.1"}]}"#
        try await send(
            "/webhooks/slack/interactivity", "payload=" + click.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
            contentType: "application/x-www-form-urlencoded")
        for (index, answer) in ["Announce the Q1 reorg", "skip", "Two hires start in January"].enumerated() {
            try await eventually("question \(index + 1) asked") {
                said().last?.hasPrefix("Question \(index + 1) of 3") == true
            }
            let event =
                #"{"type":"event_callback","event_id":"EvE2E\#(index)","event":{"type":"message","channel_type":"im","user":"\#(owner)","channel":"\#(dm)","text":"\#(answer)","ts":"2.\#(index)"}}"#
            try await send("/webhooks/slack/events", event, contentType: "application/json")
        }
        try await eventually("the materials in the DM") {
            said().last?.hasPrefix("Your materials for ") == true
        }
        #expect(said().contains("Great! Generating your materials…"))
        #expect(fake.messages(in: dm).first?.updates == 1, "the prep request says prep started")
    }

    /// A staff meeting three days away, classified, as the classifier would publish it.
    func classify(prefix: String) async throws {
        let start = Date().addingTimeInterval(3 * 86_400)
        let meeting = MeetingSnapshot(
            meetingID: UUID(), revision: 1, source: "e2e", externalID: "e2e-slack", title: "Weekly staff meeting",
            description: "Updates.", start: start, end: start.addingTimeInterval(3600),
            organizer: Participant(email: "alex@example.com", name: "Alex Rivera"), attendees: [], conferenceURL: nil)
        let envelope = Envelope(
            tenantID: "default", correlationID: meeting.meetingID,
            payload: MeetingClassified(
                meeting: meeting, meetingType: "staff_meeting", rule: "e2e", matchedKeywords: [], prepTriggerAt: Date(),
                reminderAt: start.addingTimeInterval(-7200), botJoinAt: start.addingTimeInterval(-120),
                prepQuestions: ["What do you want from this meeting?", "Anything to announce?", "Who needs a heads-up?"],
                contextRequired: ["big_rocks", "staffing"]))
        try await SystemBus.publish(envelope, prefix: prefix)
    }
}
