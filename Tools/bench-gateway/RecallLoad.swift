import Bus
import Crypto
import Delivery
import Foundation
import HTTPClient

/// A realistic life for each of BOTS bots (rows `bench-bot-0` … already in gateway.bots, put
/// there by scripts/bench): joining_call, in_waiting_room, in_call_recording, `segments`
/// transcript segments, call_ended, done, each bot's in its order with the bots interleaved,
/// signed as Recall.ai (Svix) signs them; a tenth sent twice with the same webhook-id, as Svix
/// retries. Waits until every distinct webhook's event is in realtime-worker's queue (which gets
/// both bot.status.changed and bot.transcript.received).
func benchRecall(
    bots: Int, concurrency: Int, segments: Int, secret: String, gateway: String, broker: AMQPConfiguration,
    prefix: String
) async throws {
    guard secret.hasPrefix("whsec_"), let keyBytes = Data(base64Encoded: String(secret.dropFirst(6))), !keyBytes.isEmpty
    else { fail("ATTACHE_WEBHOOK_SECRET must be whsec_ followed by base64") }
    let key = SymmetricKey(data: keyBytes)
    let queue = ServiceQueues(prefix: prefix, service: "realtime-worker").workQueue
    let before = try await queued(queue, on: broker)

    let life = RecallLife(segments: segments, start: Date().addingTimeInterval(-3600))
    let run = UUID().uuidString.prefix(8).lowercased()
    // Each bot's steps in order, the bots interleaved: step 0 of every bot, then step 1, …
    let webhooks: [(id: String, body: [UInt8])] = (0..<life.steps).flatMap { step in
        (0..<bots).map { bot in ("msg_\(run)_\(bot)_\(step)", life.body(bot: bot, step: step)) }
    }
    let sends: [Int] = webhooks.indices.flatMap { $0 % 10 == 0 ? [$0, $0] : [$0] }

    let url = gateway + "/webhooks/recall"
    let began = ContinuousClock.now
    let acks = await post(sends.count, concurrency: concurrency, to: gateway) { position in
        let webhook = webhooks[sends[position]]
        let timestamp = Int(Date().timeIntervalSince1970)
        let content = Data("\(webhook.id).\(timestamp).".utf8) + Data(webhook.body)
        let signature = "v1," + Data(HMAC<SHA256>.authenticationCode(for: content, using: key)).base64EncodedString()
        return OutboundRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/json"), ("webhook-id", webhook.id),
                ("webhook-timestamp", String(timestamp)), ("webhook-signature", signature),
            ],
            body: webhook.body, timeout: .seconds(15))
    }
    let published =
        try await awaitQueued(before + webhooks.count, in: queue, on: broker, what: "Recall webhooks' events") - began
    try await Task.sleep(for: .seconds(1))  // time for a duplicate to show up, if there were one
    let extra = try await queued(queue, on: broker) - before - webhooks.count

    print("gateway.webhooks: \(webhooks.count)")
    print("gateway.webhooks_per_s: \(Int(Double(webhooks.count) / published.secondsValue))")
    print(String(format: "gateway.webhook_ack.p50_ms: %.1f", percentile(acks, 0.5)))
    print(String(format: "gateway.webhook_ack.p99_ms: %.1f", percentile(acks, 0.99)))
    print("gateway.webhook_duplicates_published: \(extra)")
}

/// The webhooks of one bot's call, in Recall.ai's shapes, with Recall's timestamps.
struct RecallLife {
    static let before = ["joining_call", "in_waiting_room", "in_call_recording"]
    static let after = [("call_ended", "\"call_ended_by_host\""), ("done", "null")]

    let segments: Int
    let start: Date
    var steps: Int { Self.before.count + segments + Self.after.count }

    /// When step `step` of bot `bot` happened: two seconds apart, the bots a millisecond apart.
    func time(bot: Int, step: Int) -> Date { start.addingTimeInterval(Double(step) * 2 + Double(bot) / 1000) }

    func body(bot: Int, step: Int) -> [UInt8] {
        let botID = "bench-bot-\(bot)"
        let metadata = #"{"meeting":"bench-\#(bot)"}"#
        let at = time(bot: bot, step: step)
        let status: (code: String, subCode: String)?
        if step < Self.before.count {
            status = (Self.before[step], "null")
        } else if step >= Self.before.count + segments {
            status = Self.after[step - Self.before.count - segments]
        } else {
            status = nil
        }
        if let status {
            return Array(
                #"{"event":"bot.\#(status.code)","data":{"data":{"code":"\#(status.code)","sub_code":\#(status.subCode),"updated_at":"\#(Self.iso(at))"},"bot":{"id":"\#(botID)","metadata":\#(metadata)}}}"#
                    .utf8)
        }
        let callStart = time(bot: bot, step: Self.before.count - 1)
        let words = (0..<8).map { index in
            let offset = at.timeIntervalSince(callStart) + Double(index) * 0.3
            return
                #"{"text":"word\#(index)","start_timestamp":{"relative":\#(offset),"absolute":"\#(Self.iso(callStart.addingTimeInterval(offset)))"}}"#
        }
        let speaker = step % 2 == 0 ? "Ada Lovelace" : "Alan Turing"
        return Array(
            #"{"event":"transcript.data","data":{"data":{"words":[\#(words.joined(separator: ","))],"participant":{"id":\#(step % 2),"name":"\#(speaker)","is_host":false}},"bot":{"id":"\#(botID)","metadata":\#(metadata)}}}"#
                .utf8)
    }

    private static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
