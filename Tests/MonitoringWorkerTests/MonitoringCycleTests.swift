import CallAnalysis
import Delivery
import Foundation
import HTTPClient
import LanguageModel
import Shared
import Store
import Synchronization
import TestSupport
import Testing

@testable import MonitoringWorker

/// The post-call review cycle against a real database: one verdict per session however often
/// the call is reported and however many replicas run, within the cycle's caps, and an analyser
/// outage costing only the session it struck, for a bounded number of tries.
@Suite("Monitoring cycle")
struct MonitoringCycleTests {
    static let start = Date(timeIntervalSince1970: 1_796_896_800)  // 2026-12-10T10:00:00Z

    @Test("a call reported twice and two replicas cycling at once: one verdict per session, published once")
    func exactlyOnce() async throws {
        try await withReview { review in
            let calls = [Calls.answered(), Calls.unjustifiedUnknown(), Calls.nothingAsked()]
            for call in calls {
                try await review.report(call)
                try await review.report(call)  // the same call under a new message id
            }
            #expect(try await review.count("SELECT count(*) AS n FROM monitoring.results") == 3)
            async let first = review.cycle(at: 0).cycle()
            async let second = review.cycle(at: 0).cycle()
            let reports = try await [first, second]
            #expect(reports.map(\.analysed).reduce(0, +) == 3, "each session judged by one replica")
            let again = try await review.cycle(at: 600).cycle()
            #expect(again.analysed == 0, "a stored verdict is never recomputed")
            let statuses = try await review.statuses()
            #expect(statuses == [calls[0].sessionID: "pass", calls[1].sessionID: "fail", calls[2].sessionID: "skipped"])
            let published = try await review.published(MonitoringResultRecorded.self)
            #expect(Set(published.map(\.sessionID)) == Set(calls.map(\.sessionID)) && published.count == 3)
            let failed = try #require(published.first { $0.sessionID == calls[1].sessionID })
            #expect(failed.intents.first?.type == "ask_fact" && failed.intents.first?.fulfilment == "fail")
        }
    }

    @Test("a cycle judges at most ten sessions, oldest first, and diagnoses at most three, one after another")
    func caps() async throws {
        try await withReview { review in
            let calls = (0..<12).map { Calls.unjustifiedUnknown(at: Self.start.addingTimeInterval(Double($0) * 60)) }
            for call in calls.reversed() { try await review.report(call) }
            let writer = OverlapCountingModel()
            let first = try await review.cycle(at: 0, writer: writer).cycle()
            #expect(first == .init(analysed: 10, failed: 0, diagnosed: 3))
            let judged = try await review.statuses().filter { $0.value != "pending" }.keys
            #expect(Set(judged) == Set(calls.prefix(10).map(\.sessionID)), "the ten oldest")
            let second = try await review.cycle(at: 300, writer: writer).cycle()
            #expect(second == .init(analysed: 2, failed: 0, diagnosed: 3))
            #expect(writer.mostAtOnce == 1, "diagnoses ask the model one after another")
            #expect(writer.requests == 6)
            let diagnoses = try await review.published(CallDiagnosed.self)
            #expect(diagnoses.count == 6)
            #expect(diagnoses.allSatisfy { $0.rootCauses.first == "ignored_context" }, "\(diagnoses.map(\.rootCauses))")
        }
    }

    @Test("an analyser outage marks its session error with the reason, tries again later, three times in all; the others go on")
    func outage() async throws {
        try await withReview { review in
            let struck = Calls.answered()
            let fine = Calls.answered(at: Self.start.addingTimeInterval(60))
            try await review.report(struck)
            try await review.report(fine)
            let analyser = FailingFor(session: struck.sessionID)
            let first = try await review.cycle(at: 0, analyser: analyser).cycle()
            #expect(first.analysed == 1 && first.failed == 1)
            #expect(try await review.statuses() == [struck.sessionID: "error", fine.sessionID: "pass"])
            #expect(try await review.string("SELECT error FROM monitoring.results WHERE status = 'error'").contains("HTTP 503"))
            #expect(try await review.published(MonitoringResultRecorded.self).map(\.sessionID) == [fine.sessionID])

            let tooSoon = try await review.cycle(at: 60, analyser: analyser).cycle()
            #expect(tooSoon.failed == 0, "the next try waits for a later cycle")
            for minutes in [5.0, 10, 15] {
                _ = try await review.cycle(at: minutes * 60, analyser: analyser).cycle()
            }
            #expect(analyser.tries == 3, "bounded")
            let results = try await review.published(MonitoringResultRecorded.self)
            #expect(results.map(\.status) == ["pass", "error"], "the final failure is published, once")
            #expect(results.last?.summary.contains("HTTP 503") == true)
        }
    }

    @Test("the cycle's turn is taken by one replica per interval")
    func turns() async throws {
        try await withReview { review in
            async let first = review.cycle(at: 0).takeTurn()
            async let second = review.cycle(at: 0).takeTurn()
            let both = try await [first, second]
            #expect(both.filter { $0 }.count == 1)
            let early = try await review.cycle(at: 299).takeTurn()
            #expect(!early)
            let due = try await review.cycle(at: 300).takeTurn()
            #expect(due)
        }
    }
}

// MARK: - The world

/// A database with monitoring-worker's schema, and cycles over it at chosen times.
struct Review {
    let pool: PostgresPool
    let outbox: Outbox

    func report(_ call: CallCompleted) async throws {
        let envelope = Envelope(
            occurredAt: call.endedAt, tenantID: "acme", correlationID: call.meetingID, payload: call)
        let context = try HandlerContext(
            messageID: UUID(), messageType: CallCompleted.messageType, pool: pool, outbox: outbox, logger: TestStack.logger)
        try await CallReview().callCompleted(envelope, context)
    }

    func cycle(
        at seconds: TimeInterval, analyser: any CallAnalyser = EmbeddedAnalyser(), writer: (any ChatModel)? = nil
    ) -> MonitoringCycle {
        MonitoringCycle(
            pool: pool, outbox: outbox, analyser: analyser, diagnostician: Diagnostician(),
            writer: writer.map { DiagnosisWriter(model: $0) }, settings: .init(),
            clock: { MonitoringCycleTests.start.addingTimeInterval(3600 + seconds) }, logger: TestStack.logger)
    }

    func statuses() async throws -> [UUID: String] {
        try await pool.withConnection { db in
            Dictionary(
                uniqueKeysWithValues: try db.query("SELECT session_id, status FROM monitoring.results").map {
                    (try $0.uuid("session_id"), try $0.string("status"))
                })
        }
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.withConnection { db in try db.queryOne(sql)!.int("n") }
    }

    func string(_ sql: String) async throws -> String {
        try await pool.withConnection { db in try db.queryOne(sql)!.string(sql.split(separator: " ")[1].description) }
    }

    /// The events of type `P` waiting in the outbox, in the order they were written.
    func published<P: EventPayload>(_ type: P.Type) async throws -> [P] {
        try await pool.withConnection { db in
            try db.query(
                "SELECT body FROM monitoring.outbox WHERE message_type = $1 ORDER BY position", [P.messageType.description]
            ).map { try MessageCoding.decoder().decode(Envelope<P>.self, from: Data(try $0.string("body").utf8)).payload }
        }
    }
}

func withReview<T>(_ body: (Review) async throws -> T) async throws -> T {
    try await TestDatabase.with(schema: ResultsSchema.name, migrations: ResultsSchema.migrations) { pool in
        try await body(Review(pool: pool, outbox: try Outbox(schema: ResultsSchema.name)))
    }
}

/// Calls as realtime-worker reports them.
enum Calls {
    static let context = [
        "Meeting: Q3 budget review", "Agenda: budget, then hiring", "Budget: 1.2 million for Q3, 5 percent under plan",
    ]

    static func call(_ turns: [(CallTurn.Role, String)], at start: Date) -> CallCompleted {
        CallCompleted(
            sessionID: UUID(), meetingID: UUID(), botID: "bot-1", startedAt: start, endedAt: start.addingTimeInterval(600),
            turns: turns.enumerated().map { index, turn in
                CallTurn(
                    role: turn.0, speaker: turn.0 == .agent ? "Attaché" : "Dana", text: turn.1,
                    at: start.addingTimeInterval(Double(index) * 10))
            }, context: context, problems: [])
    }

    static func answered(at start: Date = MonitoringCycleTests.start) -> CallCompleted {
        call(
            [
                (.agent, "Hi, this is Attaché joining from Acme."), (.participant, "What is on the agenda today?"),
                (.agent, "Here is what I have for agenda: budget, then hiring."),
            ], at: start)
    }

    static func unjustifiedUnknown(at start: Date = MonitoringCycleTests.start) -> CallCompleted {
        call(
            [
                (.agent, "Hi, this is Attaché joining from Acme."), (.participant, "What is the budget for Q3?"),
                (.agent, "I do not have that in my notes for this meeting. I will note the question for the follow-up."),
            ], at: start)
    }

    static func nothingAsked(at start: Date = MonitoringCycleTests.start) -> CallCompleted {
        call(
            [(.agent, "Hi, this is Attaché joining from Acme."), (.participant, "Thanks everyone, see you next week.")], at: start
        )
    }
}

/// The embedded analyser, except for one session, for which the model is down.
final class FailingFor: CallAnalyser {
    struct Outage: Error, CustomStringConvertible {
        var description: String { "the judge model answered HTTP 503" }
    }

    let session: UUID
    private let count = Mutex(0)
    var name: String { "embedded" }
    var tries: Int { count.withLock { $0 } }

    init(session: UUID) { self.session = session }

    func analyse(_ call: CallCompleted) async throws -> SessionVerdict {
        guard call.sessionID != session else {
            count.withLock { $0 += 1 }
            throw Outage()
        }
        return try await EmbeddedAnalyser().analyse(call)
    }
}

/// A chat model that answers a line after a pause, counting how many requests overlapped.
final class OverlapCountingModel: ChatModel {
    private let state = Mutex((inFlight: 0, most: 0, requests: 0))
    var name: String { "overlap-counter" }
    var mostAtOnce: Int { state.withLock { $0.most } }
    var requests: Int { state.withLock { $0.requests } }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                self.state.withLock {
                    $0.inFlight += 1
                    $0.most = max($0.most, $0.inFlight)
                    $0.requests += 1
                }
                // Long enough for a second request to overlap, were diagnoses run in parallel.
                try? await Task.sleep(for: .milliseconds(50))
                continuation.yield("The agent missed the budget that its prep notes had.")
                self.state.withLock { $0.inFlight -= 1 }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

@Suite("Verdicts as Langfuse scores")
struct LangfuseScoresTests {
    @Test(
        "each verdict goes to Langfuse as a categorical status and a numeric confidence on its session, once; an outage is tried again next cycle"
    )
    func export() async throws {
        let langfuse = try await FakeLangfuse()
        defer { langfuse.stop() }
        try await withReview { review in
            let answered = Calls.answered()
            try await review.report(answered)
            let exporter = LangfuseScores(
                configuration: .init(
                    baseURL: langfuse.url, publicKey: FakeLangfuse.publicKey, secretKey: FakeLangfuse.secretKey),
                pool: review.pool, http: HTTPClient(retry: .none, logger: TestStack.logger), logger: TestStack.logger)
            langfuse.failNext(1)
            var cycle = review.cycle(at: 0)
            cycle.langfuse = exporter
            let first = try await cycle.cycle()
            #expect(first.analysed == 1 && first.exported == 0, "Langfuse was down")
            let second = try await cycle.cycle()
            #expect(second.exported == 1)
            let session = answered.sessionID.uuidString.lowercased()
            #expect(
                langfuse.scores.map { "\($0.name)=\($0.value) \($0.dataType)" } == [
                    "attache_call_status=pass CATEGORICAL",
                    "attache_intent_confidence=\(langfuse.scores.last?.value ?? "") NUMERIC",
                ])
            #expect(langfuse.scores.allSatisfy { $0.sessionID == session })
            #expect(Double(langfuse.scores.last?.value ?? "") ?? 0 >= 0.5)
            let third = try await cycle.cycle()
            #expect(third.exported == 0, "exported once")
        }
    }

    @Test("wrong keys are refused by Langfuse and cost nothing but the export")
    func wrongKeys() async throws {
        let langfuse = try await FakeLangfuse()
        defer { langfuse.stop() }
        try await withReview { review in
            try await review.report(Calls.answered())
            var cycle = review.cycle(at: 0)
            cycle.langfuse = LangfuseScores(
                configuration: .init(baseURL: langfuse.url, publicKey: FakeLangfuse.publicKey, secretKey: "sk-lf-wrong"),
                pool: review.pool, http: HTTPClient(retry: .none, logger: TestStack.logger), logger: TestStack.logger)
            let report = try await cycle.cycle()
            #expect(report.analysed == 1 && report.exported == 0)
            #expect(langfuse.scores.isEmpty)
        }
    }
}
