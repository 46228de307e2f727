import Foundation
import Resilience

/// One fact a context provider knows that bears on a meeting: a budget line, a big rock, an
/// incident, a staffing change, a decision waiting to be made.
struct ContextItem: Codable, Sendable, Equatable {
    var summary: String
    var detail: String?
    var owner: String?
    var status: String?

    init(summary: String, detail: String? = nil, owner: String? = nil, status: String? = nil) {
        self.summary = summary
        self.detail = detail
        self.owner = owner
        self.status = status
    }
}

/// The kinds of context a meeting type may require (`context_required` in the classifier's rules).
enum ContextKind: String, Sendable, CaseIterable, Codable {
    case budget
    case bigRocks = "big_rocks"
    case incidents
    case staffing
    case decisions

    /// How the kind reads as an agenda section or a line of a message.
    var title: String {
        switch self {
        case .budget: "Budget"
        case .bigRocks: "Big rocks"
        case .incidents: "Incidents"
        case .staffing: "Staffing"
        case .decisions: "Decisions needed"
        }
    }
}

struct ContextQuery: Sendable {
    var kind: ContextKind
    var tenant: String
    var owner: String
    var meetingStart: Date
}

/// A source of meeting context: the embedded one reads a tenant's folder of YAML files, the
/// cloud one asks a JSON endpoint per kind.
protocol ContextProvider: Sendable {
    var name: String { get }
    func items(for query: ContextQuery) async throws -> [ContextItem]
}

/// Why a branch has no context: said in the workflow's record and in the materials.
struct ContextUnavailable: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What one branch of GatherContext found.
struct ContextResult: Codable, Sendable, Equatable {
    var kind: ContextKind
    var items: [ContextItem]
    /// Nil when the branch succeeded; otherwise why it did not.
    var unavailableReason: String?
    var attempts: Int
    var durationMilliseconds: Int

    var isAvailable: Bool { unavailableReason == nil }
}

/// GatherContext's parallel branches: one per kind, each with its own timeout and retries. A
/// branch that fails or is too slow is recorded as unavailable with its reason, and the others
/// go on (unlike a Step Functions Parallel state, which fails whole).
struct ContextGatherer: Sendable {
    let provider: any ContextProvider
    var timeout: Duration = .seconds(10)
    var attempts = 2
    var retryDelay: Duration = .milliseconds(500)

    func gather(_ kinds: [ContextKind], tenant: String, owner: String, meetingStart: Date) async -> [ContextResult] {
        await withTaskGroup(of: ContextResult.self) { group in
            for kind in kinds {
                group.addTask {
                    await branch(ContextQuery(kind: kind, tenant: tenant, owner: owner, meetingStart: meetingStart))
                }
            }
            var results: [ContextResult] = []
            for await result in group { results.append(result) }
            return kinds.compactMap { kind in results.first { $0.kind == kind } }
        }
    }

    private func branch(_ query: ContextQuery) async -> ContextResult {
        let started = ContinuousClock.now
        var reason = ""
        for attempt in 1...max(1, attempts) {
            do {
                let items = try await withDeadline(timeout) { try await provider.items(for: query) }
                return ContextResult(
                    kind: query.kind, items: items, unavailableReason: nil, attempts: attempt,
                    durationMilliseconds: started.millisecondsUntilNow)
            } catch {
                reason = "\(error)"
                if attempt < attempts { try? await Task.sleep(for: retryDelay) }
            }
        }
        return ContextResult(
            kind: query.kind, items: [], unavailableReason: "\(provider.name): \(reason)", attempts: max(1, attempts),
            durationMilliseconds: started.millisecondsUntilNow)
    }
}

struct BranchTimedOut: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "no answer within \(limit)" }
}

/// `operation`'s result, or `BranchTimedOut` once `limit` has passed. The operation is then
/// cancelled; one that ignores cancellation is still waited for, so providers bound their own
/// requests too.
func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw BranchTimedOut(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension ContinuousClock.Instant {
    var millisecondsUntilNow: Int { Int((ContinuousClock.now - self).secondsValue * 1000) }
}
