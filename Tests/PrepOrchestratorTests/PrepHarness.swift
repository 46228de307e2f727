import Crypto
import Delivery
import Foundation
import HTTPClient
import Hummingbird
import Shared
import Store
import TestSupport

@testable import PrepOrchestrator

/// prep-orchestrator's workflow in process, on a database of its own: handlers fed directly, an
/// engine run until nothing is due, and the prep page and materials links served over HTTP.
struct PrepHarness {
    let pool: PostgresPool
    let outbox: Outbox
    let wakeup = WakeSignal()
    let steps: PrepSteps
    let engine: WorkflowEngine
    let handlers: WorkflowHandlers
    let prepPage: PrepPage
    let links: MaterialsLinks
    let server: FakeServer
    let http = HTTPClient(retry: .none, logger: TestStack.logger)

    static let contextFolder = Bundle.module.url(forResource: "context", withExtension: nil, subdirectory: "Fixtures")!

    init(
        pool: PostgresPool, provider: (any ContextProvider)? = nil, store: (any MaterialsStore)? = nil,
        channels: [any OwnerChannel] = [LocalChannel()], directory: OwnerDirectory? = nil,
        settings: PrepSteps.Settings = .init(), contextTimeout: Duration = .seconds(10)
    ) async throws {
        self.pool = pool
        outbox = try Outbox(schema: WorkflowSchema.name)
        let key = SymmetricKey(size: .bits256)
        let page = PrepPage(pool: pool, outbox: outbox, wakeup: wakeup, logger: TestStack.logger)
        let routes = MaterialsRoutes(pool: pool, links: MaterialsLinks(baseURL: "", key: key))
        server = try await FakeServer { router, _ in
            page.register(on: router)
            routes.register(on: router)
        }
        prepPage = page
        links = MaterialsLinks(baseURL: server.url, key: key)
        var settings = settings
        settings.publicURL = server.url
        steps = PrepSteps(
            pool: pool,
            context: ContextGatherer(
                provider: provider ?? FolderContextProvider(folder: Self.contextFolder), timeout: contextTimeout, attempts: 2,
                retryDelay: .milliseconds(10)),
            channels: OwnerChannels(chain: channels, directory: directory), generator: EmbeddedGenerator(),
            store: store ?? DatabaseMaterialsStore(links: links), settings: settings)
        engine = WorkflowEngine(pool: pool, outbox: outbox, steps: steps, wakeup: wakeup, logger: TestStack.logger)
        handlers = WorkflowHandlers(wakeup: wakeup, settings: settings, adopted: engine.adopted)
    }

    func stop() { server.stop() }

    /// Runs steps until none is due.
    func settle() async throws {
        while try await engine.runDueSteps() > 0 {}
    }

    func context(_ type: MessageType, id: UUID) throws -> HandlerContext {
        try HandlerContext(messageID: id, messageType: type, pool: pool, outbox: outbox, logger: TestStack.logger)
    }

    func classify(_ classified: MeetingClassified) async throws {
        let envelope = Envelope(tenantID: "acme", correlationID: classified.meeting.meetingID, payload: classified)
        try await handlers.classified(envelope, try context(MeetingClassified.messageType, id: envelope.id))
    }

    /// Classifications that arrived together, through the batch handler (as the consumer hands
    /// them over); returns their envelopes, to deliver again.
    @discardableResult
    func classify(together envelopes: [Envelope<MeetingClassified>]) async throws -> [Envelope<MeetingClassified>] {
        try await handlers.classified(
            envelopes,
            BatchContext(
                messageType: MeetingClassified.messageType, messageIDs: envelopes.map(\.id), pool: pool, outbox: outbox,
                logger: TestStack.logger))
        return envelopes
    }

    func cancel(_ meeting: MeetingSnapshot) async throws {
        let envelope = Envelope(
            tenantID: "acme", correlationID: meeting.meetingID,
            payload: ClassificationCancelled(
                meetingID: meeting.meetingID, meetingRevision: meeting.revision + 1, reason: "cancelled"))
        try await handlers.cancelled(envelope, try context(ClassificationCancelled.messageType, id: envelope.id))
    }

    // MARK: Reading what happened

    func steps(of meeting: UUID) async throws -> [String: String] {
        try await pool.withConnection { db in
            Dictionary(
                uniqueKeysWithValues: try db.query(
                    """
                    SELECT s.step, coalesce(s.outcome, s.state) AS outcome FROM prep.steps s
                    JOIN prep.workflows w ON w.id = s.workflow_id WHERE w.meeting_id = $1
                    """, [meeting]
                ).map { (try $0.string("step"), try $0.string("outcome")) })
        }
    }

    func notifications(of meeting: UUID) async throws -> [(kind: String, channel: String, text: String)] {
        try await pool.withConnection { db in
            try db.query(
                """
                SELECT n.kind, n.channel, n.text FROM prep.notifications n JOIN prep.workflows w ON w.id = n.workflow_id
                WHERE w.meeting_id = $1 ORDER BY n.created_at
                """, [meeting]
            ).map { (try $0.string("kind"), try $0.string("channel"), try $0.string("text")) }
        }
    }

    /// What the notification steps recorded, in order: "kind via channel".
    func deliveries(of meeting: UUID) async throws -> [String] {
        try await notifications(of: meeting).map { "\($0.kind) via \($0.channel)" }
    }

    func published(_ type: MessageType) async throws -> [String] {
        try await pool.withConnection { db in
            try db.query("SELECT body FROM prep.outbox WHERE message_type = $1 ORDER BY position", [type.description])
                .map { try $0.string("body") }
        }
    }

    /// The link labelled `label` in a message's text.
    static func link(_ label: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("\(label): ") }.map { String($0.dropFirst(label.count + 2)) }
    }

    func get(_ url: String) async throws -> OutboundResponse {
        try await http.send(OutboundRequest(url: url))
    }

    func post(_ url: String, form: [String: String]) async throws -> OutboundResponse {
        let body = form.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value)"
        }.joined(separator: "&")
        return try await http.send(
            OutboundRequest(
                method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(body.utf8)))
    }
}

/// `channelsOn`, when given, makes the owner's channels on the test's database (a channel that
/// keeps state there, as SMS keeps opt-outs); `channels` otherwise.
func withPrep<T>(
    provider: (any ContextProvider)? = nil, store: (any MaterialsStore)? = nil,
    channels: [any OwnerChannel] = [LocalChannel()], channelsOn: ((PostgresPool) -> [any OwnerChannel])? = nil,
    directory: OwnerDirectory? = nil, settings: PrepSteps.Settings = .init(), contextTimeout: Duration = .seconds(10),
    _ body: (PrepHarness) async throws -> T
) async throws -> T {
    try await TestDatabase.with(schema: WorkflowSchema.name, migrations: WorkflowSchema.migrations) { pool in
        let harness = try await PrepHarness(
            pool: pool, provider: provider, store: store, channels: channelsOn?(pool) ?? channels, directory: directory,
            settings: settings, contextTimeout: contextTimeout)
        return try await using(harness, tearDown: { $0.stop() }, body)
    }
}

/// A meeting of `type` starting `startsIn` from now, classified with the shipped rules' settings.
func classification(
    title: String = "Platform staff meeting", type: String = "staff_meeting", startsIn: TimeInterval = 3 * 86_400,
    minutes: Double = 60, revision: Int = 1, meetingID: UUID = UUID(),
    questions: [String] = [
        "Which announcements or decisions does the team need to hear from you?",
        "Which big rocks need a status update or a call for help?",
        "Are there staffing changes, hires or departures to mention?",
    ],
    context: [String] = ["big_rocks", "budget", "staffing", "decisions"]
) -> MeetingClassified {
    let start = Date().addingTimeInterval(startsIn)
    let meeting = MeetingSnapshot(
        meetingID: meetingID, revision: revision, source: "ics:test", externalID: meetingID.uuidString, title: title,
        description: "Weekly sync of the platform team.\nJoin: https://meet.google.com/abc-defg-hij", start: start,
        end: start.addingTimeInterval(minutes * 60), organizer: Participant(email: "alex@example.com", name: "Alex Rivera"),
        attendees: [Participant(email: "sam@example.com", name: "Sam Chen"), Participant(email: "priya@example.com")],
        conferenceURL: "https://meet.google.com/abc-defg-hij")
    return MeetingClassified(
        meeting: meeting, meetingType: type, rule: type, matchedKeywords: [], prepTriggerAt: Date().addingTimeInterval(-1),
        reminderAt: start.addingTimeInterval(-2 * 3600), botJoinAt: start.addingTimeInterval(-120), prepQuestions: questions,
        contextRequired: context)
}
