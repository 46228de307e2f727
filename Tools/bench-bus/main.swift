// The Swift side of `scripts/bench bus`: the work of Tools/bench-bus-c/bus_baseline.c, done
// through the `Bus` module.
//
//   1. declare a fresh durable quorum queue;
//   2. publish COUNT persistent messages of SIZE bytes to the default exchange with a
//      `Publisher`, one `publish(batch)` of WINDOW messages at a time, each awaited (that is,
//      confirmed by the broker) before the next; check that the queue holds COUNT messages;
//   3. consume them with a `Consumer` of prefetch PREFETCH, acking each message on its own;
//   4. delete the queue.
//
// Timing, identical on both sides: publishing runs from the first publish on a ready
// connection to the last confirm; consuming from the first delivery to the connection closed
// after the last ack. Prints `publish_per_s: X` and `consume_per_s: Y` on stdout, and on
// stderr the times with this process's CPU time and context switches for each phase.
//
// The run is not on the main actor (see `BusBench`): consuming from the main actor would add
// two executor hops per delivery, which no service pays.

import Bus
import Foundation
import Logging
import Synchronization

struct Options {
    var url =
        ProcessInfo.processInfo.environment["ATTACHE_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 }
        ?? "amqp://guest:guest@127.0.0.1:5672/"
    var queue = "bench-bus-swift-\(getpid())-\(Int(Date().timeIntervalSince1970))"
    var count = 100_000
    var size = 256
    var window = 100
    var prefetch = 100
}

let program = "bench-bus"

func usage(_ problem: String? = nil) -> Never {
    if let problem { FileHandle.standardError.write(Data("\(program): \(problem)\n".utf8)) }
    FileHandle.standardError.write(
        Data(
            """
            usage: \(program) [--url amqp://user:pass@host:port/vhost] [--queue NAME] [--count N] [--size BYTES]
                   [--window W] [--prefetch P]
              --url defaults to $ATTACHE_AMQP_URL, then amqp://guest:guest@127.0.0.1:5672/
              --queue defaults to a fresh name; the queue is deleted at the end

            """.utf8))
    exit(2)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("\(program): error: \(message)\n".utf8))
    exit(1)
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst()
    func number(_ option: String, _ text: String, _ range: ClosedRange<Int>) -> Int {
        guard let value = Int(text), range.contains(value) else {
            usage("\(option) wants a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }
    while let option = arguments.popFirst() {
        if option == "--help" || option == "-h" { usage() }
        guard let value = arguments.popFirst() else { usage("\(option) needs a value") }
        switch option {
        case "--url": options.url = value
        case "--queue": options.queue = value
        case "--count": options.count = number(option, value, 1...1_000_000_000)
        case "--size": options.size = number(option, value, 0...100_000_000)
        case "--window": options.window = number(option, value, 1...1_000_000)
        case "--prefetch": options.prefetch = number(option, value, 1...65_535)
        default: usage("unknown option \(option)")
        }
    }
    if options.queue.isEmpty { usage("--queue must not be empty") }
    return options
}

/// Seconds elapsed since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let (whole, attoseconds) = (ContinuousClock.now - start).components
    return Double(whole) + Double(attoseconds) / 1e18
}

/// This process's CPU time and context switches, for the diagnostic line on stderr.
struct Usage {
    var cpuSeconds: Double
    var switches: Int

    static var now: Usage {
        var usage = rusage()
        #if canImport(Glibc)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpu = usage.ru_utime
        let system = usage.ru_stime
        let seconds = Double(cpu.tv_sec + system.tv_sec) + Double(cpu.tv_usec + system.tv_usec) / 1e6
        return Usage(cpuSeconds: seconds, switches: usage.ru_nvcsw + usage.ru_nivcsw)
    }

    func until(_ end: Usage) -> Usage {
        Usage(cpuSeconds: end.cpuSeconds - cpuSeconds, switches: end.switches - switches)
    }
    var summary: String { "client CPU \(String(format: "%.3f", cpuSeconds)) s, \(switches) context switches" }
}

/// How many deliveries arrived: read by the stall watchdog.
final class Progress: Sendable {
    let received = Atomic<Int>(0)
}

/// The whole run. Not isolated to the main actor: like a service's `run()`, it publishes and
/// consumes from the global executor, so that no delivery hops to the main actor and back.
struct BusBench: Sendable {
    let options: Options
    let configuration: AMQPConfiguration
    let logger: Logger
    var queue: String { options.queue }
    var topology: Topology { Topology(queues: [.quorum(options.queue)]) }

    /// Deletes the queue: at the end, and on failure so that a failed run leaves nothing behind.
    func deleteQueue() async {
        let queue = queue
        _ = try? await AdminChannel.run(configuration) { channel in
            try channel.deleteQueue(queue)
            channel.close()
        }
    }

    /// Checks that the queue holds `expected` ready messages (all of them once confirmed); the
    /// quorum queue may show them a moment after the confirms: a few retries.
    ///
    /// Not used after consuming: RabbitMQ 3.10 quorum queues may requeue a few of the messages
    /// whose acks arrived just before the channel closed (seen with the C baseline too).
    func checkCount(_ expected: Int, _ moment: String) async {
        let queue = queue
        do {
            let count = try await AdminChannel.run(configuration) { channel in
                defer { channel.close() }
                var count = try channel.messageCount(queue: queue)
                for _ in 0..<50 where count != expected {
                    usleep(100_000)
                    count = try channel.messageCount(queue: queue)
                }
                return count
            }
            if count != expected {
                await failAndClean("the queue holds \(count) messages \(moment), expected \(expected)")
            }
        } catch {
            await failAndClean("inspecting the queue: \(error)")
        }
    }

    func failAndClean(_ message: String) async -> Never {
        await deleteQueue()
        fail(message)
    }

    func run() async {
        // A fresh queue: refuse one that already holds messages (they would be counted as ours).
        do {
            let (queue, topology) = (queue, topology)
            let existing = try await AdminChannel.run(configuration) { channel in
                try channel.declare(topology)
                defer { channel.close() }
                return try channel.messageCount(queue: queue)
            }
            if existing != 0 { fail("queue \(queue) already holds \(existing) messages: use a fresh queue name") }
        } catch {
            fail("declaring the queue: \(error)")
        }

        let (publishSeconds, publishUsage) = await publish()
        await checkCount(options.count, "after publishing (all confirmed)")
        let (consumeSeconds, consumeUsage) = await consume()
        await deleteQueue()

        FileHandle.standardError.write(
            Data(
                (program + ": \(options.count) messages of \(options.size) bytes, window \(options.window), "
                    + "prefetch \(options.prefetch): publish \(String(format: "%.3f", publishSeconds)) s "
                    + "(\(publishUsage.summary)), consume \(String(format: "%.3f", consumeSeconds)) s "
                    + "(\(consumeUsage.summary))\n").utf8))
        print("publish_per_s: \(String(format: "%.0f", Double(options.count) / publishSeconds))")
        print("consume_per_s: \(String(format: "%.0f", Double(options.count) / consumeSeconds))")
    }

    /// Publishes every message, a window at a time; returns the seconds it took.
    func publish() async -> (Double, Usage) {
        // The same properties as the C baseline: persistent (delivery_mode 2), nothing else.
        let message = OutgoingMessage(
            exchange: "", routingKey: queue, body: [UInt8](repeating: UInt8(ascii: "x"), count: options.size),
            contentType: nil, persistent: true)
        let fullWindow = [OutgoingMessage](repeating: message, count: options.window)

        let publisher = Publisher(configuration: configuration, topology: topology, name: "bench-bus", logger: logger)
        // Connecting is not part of the measurement (the C side connects before its clock starts).
        let connectDeadline = ContinuousClock.now + .seconds(10)
        while !publisher.isConnected {
            if ContinuousClock.now > connectDeadline {
                await publisher.close()
                await failAndClean("the publisher could not connect to \(configuration) within 10 s")
            }
            try? await Task.sleep(for: .milliseconds(1))
        }

        let usage = Usage.now
        let start = ContinuousClock.now
        do {
            var sent = 0
            while sent < options.count {
                let batch = min(options.window, options.count - sent)
                try await publisher.publish(batch == options.window ? fullWindow : Array(fullWindow.prefix(batch)))
                sent += batch
            }
        } catch {
            await publisher.close()
            await failAndClean("publishing: \(error)")
        }
        let elapsed = seconds(since: start)
        let used = usage.until(.now)
        await publisher.close()
        return (elapsed, used)
    }

    /// Consumes and acks every message, each on its own; returns the seconds from the first
    /// delivery to the connection closed after the last ack.
    func consume() async -> (Double, Usage) {
        let consumer = Consumer(
            configuration: configuration, queue: queue, topology: topology, prefetch: UInt16(options.prefetch),
            logger: logger)
        // The consumer reconnects on its own after a failure: a run that stalls for this long fails.
        let progress = Progress()
        let watchdog = Task {
            var seen = -1
            while seen != progress.received.load(ordering: .relaxed) {
                seen = progress.received.load(ordering: .relaxed)
                try await Task.sleep(for: .seconds(60))
            }
            consumer.stop()
        }
        defer { watchdog.cancel() }
        var start = ContinuousClock.now
        var usage = Usage.now
        var received = 0
        for await delivery in consumer.messages {
            if received == 0 {
                usage = .now
                start = .now
            }
            if delivery.body.count != options.size {
                await consumer.close()
                await failAndClean("received a message of \(delivery.body.count) bytes, expected \(options.size)")
            }
            delivery.ack()
            received += 1
            progress.received.store(received, ordering: .relaxed)
            if received == options.count { break }
        }
        await consumer.close()
        let elapsed = seconds(since: start)
        let used = usage.until(.now)
        if received < options.count {
            await failAndClean("the consumer stopped after \(received) of \(options.count) messages")
        }
        return (elapsed, used)
    }
}

let options = parseOptions()
let configuration: AMQPConfiguration
do {
    configuration = try AMQPConfiguration(url: options.url)
} catch {
    fail("\(error)")
}
var logger = Logger(label: "bench-bus")
logger.logLevel = .warning
await BusBench(options: options, configuration: configuration, logger: logger).run()
