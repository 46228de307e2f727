import CCurl
import Synchronization

/// Lets any thread abort a streaming transfer. The transfer waits in `curl_multi_poll`, which
/// `curl_multi_wakeup` interrupts at once; an easy transfer would notice only at its next
/// progress callback, which libcurl calls about once a second while the server is silent
/// (between two tokens of a slow model, say).
final class TransferControl: Sendable {
    /// `curl_multi_wakeup` is the one multi-handle call libcurl allows from any thread, and the
    /// only use made of this pointer off the transfer's thread.
    fileprivate struct MultiHandle: @unchecked Sendable { var pointer: UnsafeMutableRawPointer }

    private struct State {
        var cancelled = false
        /// Set while the transfer waits on it; the lock keeps `cancel` from waking a freed handle.
        var multi: MultiHandle?
    }
    private let state = Mutex(State())

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let multi = state.multi { curl_multi_wakeup(multi.pointer) }
        }
    }

    fileprivate func attach(_ multi: UnsafeMutableRawPointer?) {
        let handle = multi.map(MultiHandle.init)
        state.withLock { $0.multi = handle }
    }
}

/// One streamed libcurl transfer, used on one thread from start to finish: it hands over the
/// response head once the headers are complete, then each chunk of the body as libcurl
/// receives it.
final class StreamingTransfer {
    typealias Head = (status: Int, headers: [String: String])

    private let request: OutboundRequest
    private let userAgent: String
    private let control: TransferControl
    private var headParser = ResponseHeadParser()
    /// Resumed once: with the head, or with why the transfer ended before it.
    private var head: CheckedContinuation<Head, any Error>?
    private let body: AsyncThrowingStream<[UInt8], any Error>.Continuation

    init(
        request: OutboundRequest, userAgent: String, control: TransferControl, head: CheckedContinuation<Head, any Error>,
        body: AsyncThrowingStream<[UInt8], any Error>.Continuation
    ) {
        self.request = request
        self.userAgent = userAgent
        self.control = control
        self.head = head
        self.body = body
    }

    func run() {
        let error = perform()
        if let head {
            head.resume(
                throwing: error
                    ?? HTTPClientError.transport(
                        url: redactedURL(request.url), code: Int(CURLE_WEIRD_SERVER_REPLY.rawValue), message: "no response head"))
            self.head = nil
        }
        if let error { body.finish(throwing: error) } else { body.finish() }
    }

    /// Why the transfer failed, if it did; `CancellationError` when it was aborted.
    private func perform() -> (any Error)? {
        guard request.hasHTTPScheme, let easy = curl_easy_init() else {
            return HTTPClientError.invalidURL(redactedURL(request.url))
        }
        defer { curl_easy_cleanup(easy) }
        // No Accept-Encoding: a compressing server or proxy may hold small events back to fill a block.
        let headerList = request.configure(easy, userAgent: userAgent, compressed: false)
        defer { curl_slist_free_all(headerList) }
        // Nagle would hold back the request's last segment until the previous one is acknowledged.
        attache_curl_set_long(easy, CURLOPT_TCP_NODELAY, 1)
        installCallbacks(on: easy)
        guard let multi = curl_multi_init() else { return transportError(CURLE_OUT_OF_MEMORY) }
        defer { curl_multi_cleanup(multi) }
        curl_multi_add_handle(multi, easy)
        defer { curl_multi_remove_handle(multi, easy) }
        control.attach(multi)
        defer { control.attach(nil) }
        return withExtendedLifetime(self) { drive(multi) }
    }

    private func drive(_ multi: UnsafeMutableRawPointer) -> (any Error)? {
        var running: Int32 = 1
        while !control.isCancelled {
            let performed = curl_multi_perform(multi, &running)
            guard performed == CURLM_OK else { return multiError(performed) }
            if running == 0 { return completion(of: multi) }
            // The timeout only bounds the wait: libcurl's own timers (CURLOPT_TIMEOUT_MS) and
            // `TransferControl.cancel` wake it earlier.
            let polled = curl_multi_poll(multi, nil, 0, 1000, nil)
            guard polled == CURLM_OK else { return multiError(polled) }
        }
        return CancellationError()
    }

    private func completion(of multi: UnsafeMutableRawPointer) -> (any Error)? {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE else { continue }
            let code = message.pointee.data.result
            if code == CURLE_OK { return nil }
            if code == CURLE_WRITE_ERROR, control.isCancelled { return CancellationError() }
            if code == CURLE_OPERATION_TIMEDOUT {
                return HTTPClientError.timedOut(url: redactedURL(request.url), after: request.timeout)
            }
            return transportError(code)
        }
        return nil
    }

    private func transportError(_ code: CURLcode) -> HTTPClientError {
        .transport(url: redactedURL(request.url), code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)))
    }

    private func multiError(_ code: CURLMcode) -> HTTPClientError {
        .transport(url: redactedURL(request.url), code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code)))
    }

    private func installCallbacks(on easy: UnsafeMutableRawPointer) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        attache_curl_set_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<StreamingTransfer>.fromOpaque(context).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
            if transfer.headParser.receive(line) { transfer.deliverHead() }
            return size * count
        }
        attache_curl_set_pointer(easy, CURLOPT_HEADERDATA, context)
        attache_curl_set_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let transfer = Unmanaged<StreamingTransfer>.fromOpaque(context).takeUnretainedValue()
            return transfer.deliver(Array(UnsafeRawBufferPointer(start: data, count: size * count))) ? size * count : 0
        }
        attache_curl_set_pointer(easy, CURLOPT_WRITEDATA, context)
    }

    private func deliverHead() {
        head?.resume(returning: (headParser.status, headParser.headers))
        head = nil
    }

    /// False once nobody reads the body any more: returning less than it was given makes
    /// libcurl abort the transfer (CURLE_WRITE_ERROR).
    private func deliver(_ chunk: [UInt8]) -> Bool {
        deliverHead()
        if case .terminated = body.yield(chunk) {
            control.cancel()
            return false
        }
        return true
    }
}
