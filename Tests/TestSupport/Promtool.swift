import Foundation

// promtool and other command-line checkers, run as the operator would run them (the
// observability tests: Tests/SystemTests/ObservabilityTests.swift and the voice metrics').

public struct PromtoolMissing: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// promtool from Debian's prometheus package, which scripts/test installs.
public func promtool() throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/promtool"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw PromtoolMissing(
        "promtool not found on PATH (\(path)): install Debian's `prometheus` package (apt-get install prometheus; scripts/test does)"
    )
}

/// Runs `executable` with `arguments` and `input` on its standard input; its exit status and its
/// standard output and error together.
public func runTool(_ executable: String, _ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let inputFile = scratch.appendingPathComponent("stdin")
    let outputFile = scratch.appendingPathComponent("output")
    try input.write(to: inputFile, atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: outputFile.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = TestStack.repositoryRoot
    let output = try FileHandle(forWritingTo: outputFile)
    defer { try? output.close() }
    process.standardInput = try FileHandle(forReadingFrom: inputFile)
    process.standardOutput = output
    process.standardError = output
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, try String(contentsOf: outputFile, encoding: .utf8))
}
