import Synchronization

/// Items handed over by many producers to one taker, who takes whatever has arrived (waiting
/// only while nothing has): under load the items come in batches by themselves, and a lone item
/// is never held back waiting for company.
public final class Mailbox<Item: Sendable>: Sendable {
    private struct State {
        var items: [Item] = []
        var taker: CheckedContinuation<[Item], Never>?
        var finished = false
    }

    private let state = Mutex(State())

    public init() {}

    public func put(_ item: Item) {
        let taker: CheckedContinuation<[Item], Never>? = state.withLock { state in
            guard let taker = state.taker else {
                state.items.append(item)
                return nil
            }
            state.taker = nil
            return taker
        }
        taker?.resume(returning: [item])
    }

    /// No more items will come: a waiting or later `take` returns what is left, then nothing.
    public func finish() {
        let taker = state.withLock { state in
            state.finished = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume(returning: [])
    }

    /// Up to `limit` items, in the order they were put; waits while there are none. Returns an
    /// empty array only once finished and drained. One taker at a time.
    public func take(upTo limit: Int = .max) async -> [Item] {
        await withCheckedContinuation { continuation in
            let taken: [Item]? = state.withLock { state in
                if state.items.isEmpty, !state.finished {
                    precondition(state.taker == nil, "a Mailbox has one taker at a time")
                    state.taker = continuation
                    return nil
                }
                let taken = Array(state.items.prefix(limit))
                state.items.removeFirst(taken.count)
                return taken
            }
            if let taken { continuation.resume(returning: taken) }
        }
    }
}
