import Bus
import Delivery
import Foundation
import HTTPClient
import Logging
import Shared
import Slack

/// bench-gateway: Slack's requests through a running bot-gateway (ATTACHE_AMQP_URL,
/// ATTACHE_BUS_PREFIX and ATTACHE_SLACK_SIGNING_SECRET: the service's own; GATEWAY_URL its
/// address).
///
///   bench-gateway COUNT CONCURRENCY
///
/// Posts COUNT signed `message.im` events on loopback, CONCURRENCY at a time, a tenth of them
/// twice (as Slack retries), and measures each answer. Then waits until every distinct event is
/// in prep-orchestrator's queue (where bot-gateway publishes them; nothing consumes it during the
/// bench). Prints `gateway.slack_events_per_s` (distinct events verified, recorded and published,
/// over the time from the first request to the last one in the queue), `gateway.slack_ack.p50_ms`,
/// `gateway.slack_ack.p99_ms` and `gateway.slack_duplicates_published` (must be 0).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-gateway: \(message)\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
guard arguments.count == 2, arguments[0] > 0, arguments[1] > 0 else { fail("usage: bench-gateway COUNT CONCURRENCY") }
let (count, concurrency) = (arguments[0], arguments[1])
let environment = ProcessInfo.processInfo.environment
guard let secret = environment["ATTACHE_SLACK_SIGNING_SECRET"], let gateway = environment["GATEWAY_URL"] else {
    fail("ATTACHE_SLACK_SIGNING_SECRET and GATEWAY_URL are required")
}
let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
let queue = ServiceQueues(prefix: environment["ATTACHE_BUS_PREFIX"] ?? "attache", service: "prep-orchestrator").workQueue
let logger = Logger(label: "bench-gateway")
let http = HTTPClient(retry: .none, logger: logger)

/// Event `index`, and whether it is a retry of one sent before.
let sends: [(index: Int, retry: Bool)] = (0..<count).flatMap { index in
    index % 10 == 0 ? [(index, false), (index, true)] : [(index, false)]
}
func event(_ index: Int) -> [UInt8] {
    Array(
        #"{"type":"event_callback","event_id":"EvBench\#(index)","team_id":"T1","event":{"type":"message","channel_type":"im","user":"U0OWNER","channel":"D0DM","text":"answer \#(index)","ts":"1.\#(index)"}}"#
            .utf8)
}

let began = ContinuousClock.now
let acks = try await withThrowingTaskGroup(of: Double.self) { group in
    var next = 0
    func add() {
        let send = sends[next]
        next += 1
        group.addTask {
            let body = event(send.index)
            let timestamp = String(Int(Date().timeIntervalSince1970))
            var headers = [
                ("Content-Type", "application/json"), ("X-Slack-Request-Timestamp", timestamp),
                ("X-Slack-Signature", SlackSignature.sign(body: body, timestamp: timestamp, secret: secret)),
            ]
            if send.retry { headers.append(("X-Slack-Retry-Num", "1")) }
            let started = ContinuousClock.now
            let response = try await http.send(
                OutboundRequest(method: "POST", url: gateway + "/webhooks/slack/events", headers: headers, body: body))
            guard response.status == 200 else { fail("an event was answered \(response.status): \(response.text)") }
            return (ContinuousClock.now - started).secondsValue * 1000
        }
    }
    for _ in 0..<min(concurrency, sends.count) { add() }
    var acks: [Double] = []
    while let ack = try await group.next() {
        acks.append(ack)
        if next < sends.count { add() }
    }
    return acks
}

// Every distinct event published once: the queue fills to `count` and no further.
func queued() async throws -> Int {
    try await AdminChannel.run(broker) { channel in
        defer { channel.close() }
        return try channel.messageCount(queue: queue)
    }
}
let deadline = ContinuousClock.now + .seconds(300)
while try await queued() < count {
    guard ContinuousClock.now < deadline else { fail("only \(try await queued()) of \(count) events published in 5 minutes") }
    try await Task.sleep(for: .milliseconds(20))
}
let published = ContinuousClock.now - began
try await Task.sleep(for: .seconds(1))  // time for a duplicate to show up, if there were one
let extra = try await queued() - count

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}
print("gateway.slack_events_per_s: \(Int(Double(count) / published.secondsValue))")
print(String(format: "gateway.slack_ack.p50_ms: %.1f", percentile(acks, 0.5)))
print(String(format: "gateway.slack_ack.p99_ms: %.1f", percentile(acks, 0.99)))
print("gateway.slack_duplicates_published: \(extra)")
