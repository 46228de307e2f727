import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid on a thread of its own.
/// (Foundation's `Process` misses child exits on these machines, leaving zombies and callers
/// waiting forever.) Output goes to a log file that a failing test can print.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String
    private let exit: Task<Int32, Never>

    /// Starts `executable` with `arguments` and exactly `environment`, output appended to `logPath`.
    /// With `ownProcessGroup` it leads a process group of its own, which `signalGroup` reaches
    /// whole: a browser's helper processes too.
    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String], logPath: String,
        ownProcessGroup: Bool = false
    ) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if ownProcessGroup {
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for string in argv + envp { free(string) } }
        var spawned: pid_t = 0
        let status = posix_spawn(&spawned, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL) }
        let pid = spawned
        self.pid = pid
        self.logPath = logPath
        exit = Task.detached {
            await withCheckedContinuation { continuation in
                Thread {
                    var raw: Int32 = 0
                    while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
                    // WIFEXITED → WEXITSTATUS; killed by a signal → 128 + signal, as shells report it.
                    continuation.resume(returning: raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f))
                }.start()
            }
        }
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Signals the process's whole group (see `ownProcessGroup`).
    public func signalGroup(_ signal: Int32) { kill(-pid, signal) }

    /// Waits for the process to end and returns its exit status.
    public func exitStatus() async -> Int32 { await exit.value }

    /// Waits up to `limit` for the process to end; nil if it is still running.
    public func exitStatus(within limit: Duration) async -> Int32? {
        try? await within(limit, "process \(pid) to exit") { await self.exitStatus() }
    }

    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs `sh -c command` with the current environment and returns its exit status.
    public static func shell(_ command: String) async throws -> Int32 {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("shell-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        return try await ChildProcess(
            "/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment, logPath: log
        ).exitStatus()
    }
}
