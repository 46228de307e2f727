// Awaiting a task's `value` cannot be cancelled, so `within` alone could not end a wait for a
// task that hangs: these cancel the task when the limit passes, and throw `TimedOut`.

extension Task where Success: Sendable, Failure == any Error {
    /// The task's value, or `TimedOut` after `limit`, the task then cancelled.
    public func value(within limit: Duration, _ what: String) async throws -> Success {
        try await TestSupport.within(limit, what) {
            try await withTaskCancellationHandler { try await self.value } onCancel: { self.cancel() }
        }
    }
}

extension Task where Success: Sendable, Failure == Never {
    /// The task's value, or `TimedOut` after `limit`, the task then cancelled.
    public func value(within limit: Duration, _ what: String) async throws -> Success {
        try await TestSupport.within(limit, what) {
            await withTaskCancellationHandler { await self.value } onCancel: { self.cancel() }
        }
    }
}
