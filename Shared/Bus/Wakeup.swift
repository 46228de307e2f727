#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Lets async callers interrupt a broker thread that is waiting on its socket, so that an ack or
/// a publish queued from Swift is sent at once instead of after the next poll timeout.
final class Wakeup: Sendable {
    private let readDescriptor: Int32
    private let writeDescriptor: Int32
    /// Set while a wake byte is in the pipe: later signals skip the write system call.
    private let pending = Atomic<Bool>(false)

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

    func signal() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Blocks until `socket` is readable, `signal()` is called, or `timeout` passes. Returns
    /// whether the socket is readable. Call before taking queued work, so that work queued
    /// after the take wakes the next wait.
    @discardableResult
    func wait(socket: Int32?, timeout: Duration) -> Bool {
        var descriptors = [pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)]
        if let socket { descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&descriptors, nfds_t(descriptors.count), max(0, milliseconds))
        if ready > 0, descriptors[0].revents != 0 { drain() }
        return ready > 0 && descriptors.count > 1 && descriptors[1].revents != 0
    }

    private func drain() {
        pending.store(false, ordering: .releasing)
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }
}
