extension AsyncThrowingStream where Failure == any Error, Element: Sendable {
    /// A stream that `produce` fills from a task of its own: it finishes when `produce` returns,
    /// with the error `produce` throws, and the consumer going away (or its task being
    /// cancelled) cancels `produce`, so that whatever it holds open is closed.
    static func produced(by produce: @escaping @Sendable (Continuation) async throws -> Void) -> Self {
        let (stream, output) = makeStream()
        let task = Task {
            do {
                try await produce(output)
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        output.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
        return stream
    }
}
