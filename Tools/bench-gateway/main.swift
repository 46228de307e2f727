import Bus
import Foundation
import HTTPClient

/// bench-gateway: a meeting provider's or Slack's requests through a running bot-gateway
/// (ATTACHE_AMQP_URL and ATTACHE_BUS_PREFIX: the service's own; GATEWAY_URL its address).
///
///   bench-gateway slack COUNT CONCURRENCY            (ATTACHE_SLACK_SIGNING_SECRET)
///   bench-gateway recall BOTS CONCURRENCY [SEGMENTS] (ATTACHE_WEBHOOK_SECRET)
///
/// slack posts COUNT signed `message.im` events on loopback, a tenth of them twice (as Slack
/// retries), and waits until every distinct event is in prep-orchestrator's queue. Prints
/// `gateway.slack_events_per_s`, `gateway.slack_ack.p50_ms`, `gateway.slack_ack.p99_ms` and
/// `gateway.slack_duplicates_published` (must be 0).
///
/// recall posts Recall.ai webhooks for BOTS bots (`bench-bot-0` …, rows already in
/// gateway.bots): each bot's statuses from joining_call to done with SEGMENTS transcript
/// segments (default 10) in the call, a tenth sent twice with the same webhook-id (as Svix
/// retries), and waits until every distinct webhook's event is in realtime-worker's queue.
/// Prints `gateway.webhooks_per_s`, `gateway.webhook_ack.p50_ms`, `gateway.webhook_ack.p99_ms`
/// and `gateway.webhook_duplicates_published` (must be 0).
///
/// Rates are distinct requests verified, recorded once and published, over the time from the
/// first request to the last event in the queue; nothing consumes the queues during the bench.
let arguments = Array(CommandLine.arguments.dropFirst())
let numbers = arguments.dropFirst().compactMap(Int.init)
guard let mode = arguments.first, numbers.count == arguments.count - 1, numbers.count >= 2, numbers.allSatisfy({ $0 > 0 })
else { fail("usage: bench-gateway slack COUNT CONCURRENCY | bench-gateway recall BOTS CONCURRENCY [SEGMENTS]") }
let environment = ProcessInfo.processInfo.environment
guard let gateway = environment["GATEWAY_URL"] else { fail("GATEWAY_URL is required") }
let broker = try AMQPConfiguration(url: environment["ATTACHE_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/")
let prefix = environment["ATTACHE_BUS_PREFIX"] ?? "attache"

switch mode {
case "slack":
    guard let secret = environment["ATTACHE_SLACK_SIGNING_SECRET"] else { fail("ATTACHE_SLACK_SIGNING_SECRET is required") }
    try await benchSlack(
        count: numbers[0], concurrency: numbers[1], secret: secret, gateway: gateway, broker: broker, prefix: prefix)
case "recall":
    guard let secret = environment["ATTACHE_WEBHOOK_SECRET"] else { fail("ATTACHE_WEBHOOK_SECRET is required") }
    try await benchRecall(
        bots: numbers[0], concurrency: numbers[1], segments: numbers.count > 2 ? numbers[2] : 10, secret: secret,
        gateway: gateway, broker: broker, prefix: prefix)
default:
    fail("unknown mode '\(mode)': slack or recall")
}
