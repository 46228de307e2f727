import Synchronization

extension TestStack {
    /// Runs `body` with the chaos stack's PostgreSQL server running (its URL), which `body` may
    /// stop and start (`chaos("stop-postgresql")`). Tests that do so take turns: one test's
    /// outage must not land in the middle of another's. The server is running again afterwards.
    public static func withChaosDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        await chaosDatabaseTurns.take()
        defer { chaosDatabaseTurns.give() }
        try await chaos("start-postgresql")
        return try await using(
            try chaosDatabaseURL(), tearDown: { _ in try await chaos("start-postgresql") }, body)
    }

    private static let chaosDatabaseTurns = Turns()
}

/// One holder at a time, the others waiting in order.
private final class Turns: Sendable {
    private let state = Mutex<(held: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func take() async {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state in
                if state.held {
                    state.waiting.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func give() {
        let next = state.withLock { state in
            if state.waiting.isEmpty {
                state.held = false
                return nil as CheckedContinuation<Void, Never>?
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
