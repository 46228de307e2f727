import Bus
import Delivery
import Foundation
import HTTPClient
import Resilience

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-gateway: \(message)\n".utf8))
    exit(2)
}

/// Posts every request, `concurrency` in flight at a time, in the order given; fails on any answer
/// but 200. Returns each request's time to its answer, in milliseconds.
func post(
    _ count: Int, concurrency: Int, with http: HTTPClient, request: @escaping @Sendable (Int) -> OutboundRequest
) async throws -> [Double] {
    try await withThrowingTaskGroup(of: Double.self) { group in
        var next = 0
        func add() {
            let index = next
            next += 1
            group.addTask {
                let outbound = request(index)
                let started = ContinuousClock.now
                let response = try await http.send(outbound)
                guard response.status == 200 else {
                    fail("\(outbound.url) answered \(response.status) to request \(index): \(response.text.prefix(200))")
                }
                return (ContinuousClock.now - started).secondsValue * 1000
            }
        }
        for _ in 0..<min(concurrency, count) { add() }
        var acks: [Double] = []
        acks.reserveCapacity(count)
        while let ack = try await group.next() {
            acks.append(ack)
            if next < count { add() }
        }
        return acks
    }
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
