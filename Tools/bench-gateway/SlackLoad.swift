import Bus
import Delivery
import Foundation
import HTTPClient
import Slack

/// COUNT signed `message.im` events, a tenth of them twice (as Slack retries); waits until every
/// distinct event is in prep-orchestrator's queue.
func benchSlack(
    count: Int, concurrency: Int, secret: String, gateway: String, broker: AMQPConfiguration, prefix: String
) async throws {
    let queue = ServiceQueues(prefix: prefix, service: "prep-orchestrator").workQueue
    let before = try await queued(queue, on: broker)
    /// Event `index`, and whether it is a retry of one sent before.
    let sends: [(index: Int, retry: Bool)] = (0..<count).flatMap { index in
        index % 10 == 0 ? [(index, false), (index, true)] : [(index, false)]
    }
    // Event ids of this run only: an earlier run's receipts would take them for retries.
    let run = UUID().uuidString.prefix(8).lowercased()
    let began = ContinuousClock.now
    let acks = await post(sends.count, concurrency: concurrency, to: gateway) { position in
        let send = sends[position]
        let body = Array(
            #"{"type":"event_callback","event_id":"EvBench\#(run)_\#(send.index)","team_id":"T1","event":{"type":"message","channel_type":"im","user":"U0OWNER","channel":"D0DM","text":"answer \#(send.index)","ts":"1.\#(send.index)"}}"#
                .utf8)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        var headers = [
            ("Content-Type", "application/json"), ("X-Slack-Request-Timestamp", timestamp),
            ("X-Slack-Signature", SlackSignature.sign(body: body, timestamp: timestamp, secret: secret)),
        ]
        if send.retry { headers.append(("X-Slack-Retry-Num", "1")) }
        return OutboundRequest(method: "POST", url: gateway + "/webhooks/slack/events", headers: headers, body: body)
    }
    // Every distinct event published once: the queue fills to `count` and no further.
    let published = try await awaitQueued(before + count, in: queue, on: broker, what: "Slack events") - began
    try await Task.sleep(for: .seconds(1))  // time for a duplicate to show up, if there were one
    let extra = try await queued(queue, on: broker) - before - count

    print("gateway.slack_events_per_s: \(Int(Double(count) / published.secondsValue))")
    print(String(format: "gateway.slack_ack.p50_ms: %.1f", percentile(acks, 0.5)))
    print(String(format: "gateway.slack_ack.p99_ms: %.1f", percentile(acks, 0.99)))
    print("gateway.slack_duplicates_published: \(extra)")
}
