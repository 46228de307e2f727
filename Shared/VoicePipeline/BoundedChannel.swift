import Synchronization

private enum SendStep { case delivered, stored, closed, wait }

/// An async channel holding at most `capacity` elements: `send` waits while it is full, so a slow
/// stage slows the stage before it instead of letting memory grow. One consumer; any number of
/// producers. Finishing lets the consumer drain what is buffered; cancelling a waiting sender
/// or receiver ends its wait.
public final class BoundedChannel<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Failure = Never

    private struct State {
        var buffer: [Element] = []
        var finished = false
        var receiver: CheckedContinuation<Element?, Never>?
        var senders: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextSenderID = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "a bounded channel needs room for one element")
        self.capacity = capacity
    }

    /// Returns false if the channel was finished (the element was not taken).
    @discardableResult
    public func send(_ element: Element) async -> Bool {
        while true {
            let step: SendStep = state.withLock { state in
                if state.finished { return .closed }
                if let receiver = state.receiver {
                    state.receiver = nil
                    receiver.resume(returning: element)
                    return .delivered
                }
                if state.buffer.count < capacity {
                    state.buffer.append(element)
                    return .stored
                }
                return .wait
            }
            switch step {
            case .delivered, .stored: return true
            case .closed: return false
            case .wait:
                let id = state.withLock { state in
                    defer { state.nextSenderID += 1 }
                    return state.nextSenderID
                }
                let open = await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow: Bool = state.withLock { state in
                            if state.finished || state.buffer.count < capacity || Task.isCancelled { return true }
                            state.senders.append((id, continuation))
                            return false
                        }
                        if resumeNow { continuation.resume(returning: true) }
                    }
                } onCancel: {
                    let waiting = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                        guard let index = state.senders.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.senders.remove(at: index).continuation
                    }
                    waiting?.resume(returning: false)
                }
                if !open || Task.isCancelled { return false }
            }
        }
    }

    /// No more elements: the consumer gets what is buffered, then the end.
    public func finish() {
        let (receiver, senders) = state.withLock { state in
            state.finished = true
            defer {
                state.receiver = nil
                state.senders = []
            }
            return (state.buffer.isEmpty ? state.receiver : nil, state.senders.map(\.continuation))
        }
        receiver?.resume(returning: nil)
        for sender in senders { sender.resume(returning: false) }
    }

    fileprivate func next() async -> Element? {
        if let ready = takeBuffered() { return ready.element }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now: Element?? = state.withLock { state in
                    if !state.buffer.isEmpty { return .some(takeFirst(&state)) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.receiver = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let receiver = state.withLock { state in
                defer { state.receiver = nil }
                return state.receiver
            }
            receiver?.resume(returning: nil)
        }
    }

    /// `.some(element)` if one was buffered, or `.some(nil)` at the end.
    private func takeBuffered() -> (element: Element?, Void)? {
        state.withLock { state in
            if !state.buffer.isEmpty { return (takeFirst(&state), ()) }
            if state.finished { return (nil, ()) }
            return nil
        }
    }

    /// Takes the oldest element and lets one waiting sender try again.
    private func takeFirst(_ state: inout State) -> Element {
        let element = state.buffer.removeFirst()
        if !state.senders.isEmpty { state.senders.removeFirst().continuation.resume(returning: true) }
        return element
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BoundedChannel
        public mutating func next() async -> Element? { await channel.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: self) }
}
