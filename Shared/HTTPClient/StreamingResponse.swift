import Dispatch

/// A response whose body is still arriving: status and headers are final, the body comes as
/// libcurl receives it. Stop reading (cancel the reading task, or drop `body`) to abort the
/// transfer and close its connection.
public struct StreamingResponse: Sendable {
    public var status: Int
    /// Header names in lower case; a repeated header keeps its last value.
    public var headers: [String: String]
    /// Chunks as they came off the wire, in order; it ends with the transfer's error if the
    /// transfer fails. Chunks are buffered without bound until read: read it promptly.
    public var body: AsyncThrowingStream<[UInt8], any Error>
    let control: TransferControl

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The rest of the body, at most `limit` bytes (then the transfer is aborted): for error
    /// responses, which are short.
    public func collect(upTo limit: Int) async throws -> [UInt8] {
        var collected: [UInt8] = []
        for try await chunk in body {
            collected += chunk.prefix(limit - collected.count)
            if collected.count >= limit {
                cancel()
                break
            }
        }
        return collected
    }

    /// Aborts the transfer, whether or not anyone reads the body.
    public func cancel() { control.cancel() }
}

extension HTTPClient {
    /// Sends `request` and returns as soon as the response head has arrived, with the body to
    /// read as it streams in.
    ///
    /// Retries follow the client's policy, and only before the response is returned: a retried
    /// status (429 and 503 for any request, as `send` does) is decided from the head alone and
    /// its body discarded, so no body byte has reached the caller. Once the response is returned
    /// nothing is retried: a failure mid-body ends `body` with the error.
    public func stream(_ request: OutboundRequest) async throws -> StreamingResponse {
        try await withRetries(
            request, attempt: { try await startStream($0) },
            head: { ($0.status, Self.retryAfter($0.headers["retry-after"])) },
            discard: { $0.cancel() })
    }

    private func startStream(_ request: OutboundRequest) async throws -> Result<StreamingResponse, HTTPClientError> {
        let control = TransferControl()
        let (body, bodyInput) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        bodyInput.onTermination = { _ in control.cancel() }
        do {
            let head = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { headInput in
                    // A queue of its own, as for `send`: the transfer blocks its thread until the body ends.
                    DispatchQueue(label: "http-stream").async { [userAgent] in
                        StreamingTransfer(
                            request: request, userAgent: userAgent, control: control, head: headInput, body: bodyInput
                        ).run()
                    }
                }
            } onCancel: {
                control.cancel()
            }
            return .success(StreamingResponse(status: head.status, headers: head.headers, body: body, control: control))
        } catch let error as HTTPClientError {
            return .failure(error)
        }
    }
}
