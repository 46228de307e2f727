import Foundation
import HTTPClient
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The six services as separate processes, each with its own environment and HTTP port, which
/// the suite kills, stops and starts again as an orchestrator (or a crash) would.
final class Supervisor: Sendable {
    static let services = [
        "calendar-monitor", "classifier", "prep-orchestrator", "bot-gateway", "realtime-worker", "monitoring-worker",
    ]

    let binDir: String
    let logDir: String
    let environments: [String: [String: String]]
    let ports: [String: Int]
    private let running = Mutex<[String: ChildProcess]>([:])
    private let http = HTTPClient(retry: .none, logger: TestStack.logger)

    init(binDir: String, logDir: String, environments: [String: [String: String]], ports: [String: Int]) {
        self.binDir = binDir
        self.logDir = logDir
        self.environments = environments
        self.ports = ports
    }

    func start(_ name: String) throws {
        var environment = environments[name] ?? [:]
        let parent = ProcessInfo.processInfo.environment
        environment["PATH"] = parent["PATH"]
        environment["HOME"] = parent["HOME"]
        // Appended to across restarts: one log per service for the whole run.
        let process = try ChildProcess(
            "\(binDir)/\(name)", environment: environment, logPath: "\(logDir)/\(name).log")
        running.withLock { $0[name] = process }
    }

    func startAll() throws { for name in Self.services where environments[name] != nil { try start(name) } }

    func pid(_ name: String) -> pid_t? { running.withLock { $0[name]?.pid } }

    /// SIGKILL: the process gets no chance to finish anything.
    func kill9(_ name: String) async {
        guard let process = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        process.signal(SIGKILL)
        _ = await process.exitStatus()
    }

    /// SIGTERM, as an orchestrator stops a replica; returns the exit status (nil: it had to be
    /// killed after `limit`).
    func terminate(_ name: String, within limit: Duration = .seconds(60)) async -> Int32? {
        guard let process = running.withLock({ $0.removeValue(forKey: name) }) else { return nil }
        process.signal(SIGTERM)
        if let status = await process.exitStatus(within: limit) { return status }
        process.signal(SIGKILL)
        _ = await process.exitStatus()
        return nil
    }

    /// Every service's /readyz answers 200 (its broker and database reached).
    func awaitReady(_ names: [String] = Supervisor.services, within limit: Duration = .seconds(300)) async throws {
        for name in names {
            guard let port = ports[name] else { continue }
            let http = http
            try await eventually("\(name) ready", within: limit) {
                (try? await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/readyz", timeout: .seconds(5))))?.status
                    == 200
            }
        }
    }

    /// Stops whatever still runs: SIGTERM, then SIGKILL for a process that does not exit.
    func stopAll() async -> [String: Int32?] {
        var statuses: [String: Int32?] = [:]
        let names = running.withLock { Array($0.keys) }
        for name in names { running.withLock { $0[name] }?.signal(SIGTERM) }
        for name in names { statuses[name] = await terminate(name) }
        return statuses
    }

    func logTail(_ name: String, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: "\(logDir)/\(name).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// /proc/PID/status: resident memory and threads of a process.
struct ProcessStatus {
    var residentKB: Int
    var threads: Int

    init?(pid: pid_t) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) }
        }
        guard let rss = field("VmRSS"), let threads = field("Threads") else { return nil }
        residentKB = rss
        self.threads = threads
    }
}

/// Runs `sh -c command` (a scripts/stack command) and fails with its output if it fails.
func shell(_ command: String, logDir: String) async throws {
    let log = "\(logDir)/stack.log"
    let status = try await ChildProcess(
        "/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment, logPath: log
    ).exitStatus()
    guard status == 0 else { throw ChaosError.commandFailed(command: command, status: status, log: log) }
}

enum ChaosError: Error, CustomStringConvertible {
    case commandFailed(command: String, status: Int32, log: String)
    case setting(String, String)
    case stuck(String)

    var description: String {
        switch self {
        case .commandFailed(let command, let status, let log):
            "`\(command)` exited with \(status); its output is in \(log)"
        case .setting(let name, let problem): "\(name) \(problem)"
        case .stuck(let what): what
        }
    }
}

/// Progress for the operator, on stderr; stdout holds only the `name: value` lines.
func progress(_ text: String) { FileHandle.standardError.write(Data("==> \(text)\n".utf8)) }

/// One `name: value` line on stdout, unbuffered: a run watched through a pipe shows each
/// fault's lines as it ends.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
