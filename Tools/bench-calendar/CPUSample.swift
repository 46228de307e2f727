import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU seconds of the processes and threads that take part: this process split by thread
/// (NIO event loops serve the fake; Swift's cooperative pool runs the async code: the
/// provider's decoding, the scheduler, the relay; dispatch's overcommit threads run what
/// blocks: libpq with the transaction bodies that MeetingSync and ConnectionStore hand to the
/// pool, libcurl transfers, librabbitmq), the PostgreSQL cluster, the broker, and the machine.
struct CPUSample {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    var processSeconds: Double
    var threads: [Int: (name: String, ticks: Int)]
    var postgres: [Int: Int]
    var broker: [Int: Int]
    var machineBusy: Int
    var machineTotal: Int

    static func take(postmaster: Int?, broker brokerPIDs: [Int]) -> CPUSample {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let process =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        var threads: [Int: (name: String, ticks: Int)] = [:]
        for tid in pids(in: "/proc/self/task") {
            if let stat = stat("/proc/self/task/\(tid)/stat") { threads[tid] = (stat.name, stat.ticks) }
        }
        var postgres: [Int: Int] = [:]
        if let postmaster {
            for pid in pids(in: "/proc") {
                guard let stat = stat("/proc/\(pid)/stat"), pid == postmaster || stat.parent == postmaster else { continue }
                postgres[pid] = stat.ticks
            }
        }
        var broker: [Int: Int] = [:]
        for pid in brokerPIDs { if let stat = stat("/proc/\(pid)/stat") { broker[pid] = stat.ticks } }
        var busy = 0
        var total = 0
        if let line = try? String(contentsOfFile: "/proc/stat", encoding: .utf8).split(separator: "\n").first {
            let fields = line.split(separator: " ").dropFirst().compactMap { Int($0) }
            total = fields.reduce(0, +)
            busy = total - (fields.count > 4 ? fields[3] + fields[4] : 0)  // minus idle and iowait
        }
        return CPUSample(
            processSeconds: process, threads: threads, postgres: postgres, broker: broker, machineBusy: busy,
            machineTotal: total)
    }

    static func pids(in directory: String) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { Int($0) }
    }

    /// Name, parent and user+system ticks from /proc/…/stat.
    static func stat(_ path: String) -> (name: String, parent: Int, ticks: Int)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let open = text.firstIndex(of: "("),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let parent = Int(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else {
            return nil
        }
        return (name, parent, user + system)
    }

    /// The broker's Erlang VM: the beam.smp whose home is under `.state/<profile>`.
    static func brokerPIDs(profile: String) -> [Int] {
        pids(in: "/proc").filter { pid in
            guard let stat = stat("/proc/\(pid)/stat"), stat.name == "beam.smp",
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            else { return false }
            return command.contains("/.state/\(profile)/") || command.contains("/.state/\(profile)-")
        }
    }

    struct Split {
        var fakeServer = 0.0
        /// Swift's cooperative pool (threads named com.apple.root.default-qos).
        var async = 0.0
        /// Everything else in this process: blocking work on dispatch's overcommit threads, AMQP threads.
        var blocking = 0.0
        var bench: Double { async + blocking }
        var postgres = 0.0
        var broker = 0.0
        var machine = 0.0
        var machineCapacity = 0.0
        var others: Double { max(0, machine - fakeServer - bench - postgres - broker) }
    }

    static func - (end: CPUSample, start: CPUSample) -> Split {
        let tick = 1 / ticksPerSecond
        var split = Split()
        for (tid, thread) in end.threads {
            let seconds = Double(thread.ticks - (start.threads[tid]?.ticks ?? 0)) * tick
            if thread.name.hasPrefix("NIO-") {
                split.fakeServer += seconds
            } else if thread.name.hasSuffix("default-qos") {
                split.async += seconds
            }
        }
        // Threads that ended meanwhile count in the process total: they were blocking work.
        let process = end.processSeconds - start.processSeconds
        split.blocking = max(0, process - split.fakeServer - split.async)
        split.postgres = Double(end.postgres.reduce(0) { $0 + $1.value - (start.postgres[$1.key] ?? 0) }) * tick
        split.broker = Double(end.broker.reduce(0) { $0 + $1.value - (start.broker[$1.key] ?? 0) }) * tick
        split.machine = Double(end.machineBusy - start.machineBusy) * tick
        split.machineCapacity = Double(end.machineTotal - start.machineTotal) * tick
        return split
    }
}
