import Foundation

func say(_ message: String) {
    FileHandle.standardError.write(Data("bench-calendar: \(message)\n".utf8))
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("bench-calendar: \(message)\n".utf8))
    exit(status)
}

/// A failed check: the figures are wrong, not the bench.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func fixed(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

func report(_ result: CycleResult) {
    let cpu = result.cpu
    say(
        """
        \(result.name): \(fixed(result.seconds)) s (all connections synced at \(fixed(result.syncSeconds)) s), \
        \(result.rowsWritten) rows written (\(result.rowsInserted) new), \(result.published) events published; \
        fake Google: \(result.fake.fullListings) full + \(result.fake.incrementalListings) incremental listings, \
        \(result.fake.pages) pages, \(result.fake.eventsServed) events, \(result.fake.gone) × 410, \(result.fake.rejected) rejected, \
        \(result.fake.tokenRequests) token requests, \(fixed(result.fake.handlerSeconds)) s in handlers
        \(result.name) CPU seconds (\(fixed(cpu.machineCapacity, 0)) available on all cores, \(fixed(cpu.machine, 1)) busy): \
        calendar-monitor's code \(fixed(cpu.bench, 1)) (async \(fixed(cpu.async, 1)), blocking threads \(fixed(cpu.blocking, 1))), \
        fake Google (NIO threads) \(fixed(cpu.fakeServer, 1)), PostgreSQL \(fixed(cpu.postgres, 1)), RabbitMQ \(fixed(cpu.broker, 1)), \
        everything else on the machine \(fixed(cpu.others, 1))
        """)
}

func printFigures(_ result: CycleResult, _ key: String, connections: Int) {
    print("calendar.\(key).seconds: \(fixed(result.seconds))")
    print("calendar.\(key).sync_seconds: \(fixed(result.syncSeconds))")
    print("calendar.\(key).events_published: \(result.published)")
    print("calendar.\(key).rows_written: \(result.rowsWritten)")
    if key != "full" {
        print("calendar.\(key).connections_per_s: \(Int((Double(connections) / result.seconds).rounded()))")
    }
}

/// Where the CPU went, in seconds (2 cores give 2 per second of the cycle).
func printCPU(_ result: CycleResult, _ key: String) {
    let cpu = result.cpu
    print("calendar.\(key).cpu.available_s: \(fixed(cpu.machineCapacity, 1))")
    print("calendar.\(key).cpu.calendar_monitor_s: \(fixed(cpu.bench, 1))")
    print("calendar.\(key).cpu.fake_google_s: \(fixed(cpu.fakeServer, 1))")
    print("calendar.\(key).cpu.postgres_s: \(fixed(cpu.postgres, 1))")
    print("calendar.\(key).cpu.rabbitmq_s: \(fixed(cpu.broker, 1))")
    print("calendar.\(key).cpu.other_processes_s: \(fixed(cpu.others, 1))")
}
