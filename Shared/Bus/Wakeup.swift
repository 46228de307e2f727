import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lets async callers interrupt a broker thread that is waiting on its socket, so that an ack or
/// a publish queued from Swift is sent at once instead of after the next poll timeout.
///
/// One thread waits (the broker thread that owns the instance); any number signal. A signal
/// writes to the pipe only when the thread sleeps in `poll`: while it runs, the signal is just
/// recorded, and its next `wait` returns at once. So a busy thread costs its signallers no
/// system call, and itself no extra wake-up.
final class Wakeup: Sendable {
    /// The thread runs; nothing signalled since its last wait.
    private static let running: UInt8 = 0
    /// Signalled since the thread's last wait (by a caller that may or may not have written).
    private static let signalled: UInt8 = 1
    /// The thread is in (or about to enter) `poll`: a signal must write to wake it.
    private static let sleeping: UInt8 = 2

    private let readDescriptor: Int32
    private let writeDescriptor: Int32
    private let state = Atomic<UInt8>(Wakeup.running)

    init() {
        var descriptors: [Int32] = [0, 0]
        precondition(pipe(&descriptors) == 0, "cannot create a pipe: errno \(errno)")
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Call after queuing the work that the thread should pick up.
    func signal() {
        guard state.exchange(Self.signalled, ordering: .acquiringAndReleasing) == Self.sleeping else { return }
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Blocks until `socket` is readable, `signal()` is called, or `timeout` passes; returns at
    /// once if `signal()` was called since the previous wait. Returns whether the socket is
    /// readable (false when it returned for a signal without polling). Call before taking
    /// queued work, so that work queued after the take wakes the next wait. Only the owning
    /// thread may call it.
    @discardableResult
    func wait(socket: Int32?, timeout: Duration) -> Bool {
        // Announce the sleep; a signal that came first is consumed instead.
        let announced = state.compareExchange(
            expected: Self.running, desired: Self.sleeping, ordering: .acquiringAndReleasing)
        guard announced.exchanged else {
            // An exchange, not a store: reading the signaller's write orders its queued work
            // before the caller's take.
            _ = state.exchange(Self.running, ordering: .acquiringAndReleasing)
            return false
        }
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let count = socket == nil ? 1 : 2
        let (ready, wakeReadable, socketReadable) = withUnsafeTemporaryAllocation(
            of: pollfd.self, capacity: 2
        ) { descriptors in
            descriptors[0] = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
            descriptors[1] = pollfd(fd: socket ?? -1, events: Int16(POLLIN), revents: 0)
            let ready = poll(descriptors.baseAddress, nfds_t(count), max(0, milliseconds))
            return (ready, descriptors[0].revents != 0, count > 1 && descriptors[1].revents != 0)
        }
        // Back to running: signals from now on are recorded, not written. A signal that came
        // during the poll needs no record: its work is already queued, and the caller takes
        // queued work next. A signaller that saw `sleeping` may still be about to write its
        // byte: a stray byte only makes a later poll return early, and is drained then.
        _ = state.exchange(Self.running, ordering: .acquiringAndReleasing)
        if ready > 0, wakeReadable { drain() }
        return ready > 0 && socketReadable
    }

    private func drain() {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            while read(readDescriptor, buffer.baseAddress, buffer.count) > 0 {}
        }
    }
}
