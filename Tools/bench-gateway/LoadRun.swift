import Bus
import Delivery
import Foundation
import HTTPClient
import Resilience
import Synchronization

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-gateway: \(message)\n".utf8))
    exit(2)
}

/// Posts every request, `concurrency` in flight at a time over as many keep-alive connections, in
/// the order given; fails on any answer but 200. Returns each request's time to its answer, in
/// milliseconds. Each connection is driven by a thread of its own, blocking: cheaper for the
/// two cores the generator shares with the gateway than a task and a dispatch hop per request.
func post(
    _ count: Int, concurrency: Int, to gateway: String, request: @escaping @Sendable (Int) -> OutboundRequest
) async -> [Double] {
    let next = Atomic<Int>(0)
    let acks = Mutex<[Double]>([])
    let workers = min(concurrency, count)
    await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
        let remaining = Atomic<Int>(workers)
        for _ in 0..<workers {
            Thread {
                let connection = KeepAliveConnection(url: gateway)
                var mine: [Double] = []
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < count else { break }
                    let outbound = request(index)
                    let started = ContinuousClock.now
                    let response = connection.exchange(outbound)
                    guard response.status == 200 else {
                        fail("\(outbound.url) answered \(response.status) to request \(index): \(response.body.prefix(200))")
                    }
                    mine.append((ContinuousClock.now - started).secondsValue * 1000)
                }
                acks.withLock { $0 += mine }
                if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { finished.resume() }
            }.start()
        }
    }
    return acks.withLock { $0 }
}

/// Messages waiting in `queue` (nothing consumes it during the bench).
func queued(_ queue: String, on broker: AMQPConfiguration) async throws -> Int {
    try await AdminChannel.run(broker) { channel in
        defer { channel.close() }
        return try channel.messageCount(queue: queue)
    }
}

/// Waits until `queue` holds `expected` messages; returns when that happened.
func awaitQueued(_ expected: Int, in queue: String, on broker: AMQPConfiguration, what: String) async throws
    -> ContinuousClock.Instant
{
    let deadline = ContinuousClock.now + .seconds(300)
    while try await queued(queue, on: broker) < expected {
        guard ContinuousClock.now < deadline else {
            fail("only \(try await queued(queue, on: broker)) of \(expected) \(what) published in 5 minutes")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return ContinuousClock.now
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}
