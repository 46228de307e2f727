import Synchronization

// Awaiting a task's `value` cannot be cancelled, and `within` waits for its operation to end
// even after the limit, so it could not fail a wait for a task that hangs (one blocked in a
// request that ignores cancellation, say). These give up on the task at the limit instead,
// cancel it, and throw `TimedOut`; the task is left to end when it can.

extension Task where Success: Sendable, Failure == any Error {
    /// The task's value, or `TimedOut` after `limit` (by default `hangLimit`), the task then cancelled.
    public func value(within limit: Duration = hangLimit, _ what: String) async throws -> Success {
        try await firstOf(result: { await self.result }, limit: limit, what: what, cancel: { self.cancel() }).get()
    }
}

extension Task where Success: Sendable, Failure == Never {
    /// The task's value, or `TimedOut` after `limit` (by default `hangLimit`), the task then cancelled.
    public func value(within limit: Duration = hangLimit, _ what: String) async throws -> Success {
        try await firstOf(result: { .success(await self.value) }, limit: limit, what: what, cancel: { self.cancel() }).get()
    }
}

private func firstOf<Success: Sendable>(
    result: @escaping @Sendable () async -> Result<Success, any Error>, limit: Duration, what: String,
    cancel: @escaping @Sendable () -> Void
) async throws -> Result<Success, any Error> {
    let settled = Mutex(false)
    let claim = { @Sendable in
        settled.withLock { done in
            defer { done = true }
            return !done
        }
    }
    return await withCheckedContinuation { (continuation: CheckedContinuation<Result<Success, any Error>, Never>) in
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled, claim() else { return }
            cancel()
            continuation.resume(returning: .failure(TimedOut(what: what)))
        }
        Task {
            let outcome = await result()
            guard claim() else { return }
            timer.cancel()
            continuation.resume(returning: outcome)
        }
    }
}
