import Foundation
import HTTPClient
import HummingbirdWSClient
import Logging
import Synchronization

/// Debian's Chromium, headless, driven over the DevTools protocol: a page as a meeting bot's
/// browser would load it, with a fake microphone playing a WAV file. Use it through
/// `withBrowser { … }`, which ends the browser (and its helper processes) however the body ends.
public final class HeadlessBrowser: Sendable {
    public static let executable = "/usr/bin/chromium"
    let process: ChildProcess
    let profile: URL
    let devToolsPort: Int
    let logger: Logger
    private let pages = Mutex<[BrowserPage]>([])

    public struct NotAvailable: Error, CustomStringConvertible {
        public var description: String
    }

    init(fakeMicrophone: String?, logger: Logger) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw NotAvailable(description: "no \(Self.executable): install Debian's chromium (./scripts/test does)")
        }
        self.logger = logger
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        var arguments = [
            // No crash reporter: its handler leaves the process group, and would outlive the browser.
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-crash-reporter", "--disable-breakpad", "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=\(profile.path)",
            // The WebSocket client sends an Origin, which DevTools refuses unless allowed.
            "--remote-allow-origins=*",
            "--window-size=1280,720", "--autoplay-policy=no-user-gesture-required",
            // The meeting bot's browser grants the microphone, which is the meeting's sound.
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            // Chromium would throttle a page it thinks nobody looks at.
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
        ]
        if let fakeMicrophone { arguments.append("--use-file-for-fake-audio-capture=\(fakeMicrophone)") }
        arguments.append("about:blank")
        var environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        environment["HOME"] = profile.path
        process = try ChildProcess(
            Self.executable, arguments, environment: environment, logPath: profile.path + ".log", ownProcessGroup: true)
        // Chromium writes the port it chose, once it listens.
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        let process = process
        var port = 0
        do {
            try await eventually("Chromium's DevTools port", within: .seconds(120)) {
                // (Reaped as soon as it exits, so it is gone then.)
                if kill(process.pid, 0) != 0 { throw NotAvailable(description: "Chromium exited") }
                return FileManager.default.fileExists(atPath: portFile.path)
            }
            let text = try String(contentsOf: portFile, encoding: .utf8)
            port = Int(text.split(separator: "\n").first ?? "") ?? 0
        } catch {
            process.signalGroup(SIGKILL)
            _ = await process.exitStatus(within: .seconds(10))
            throw NotAvailable(description: "Chromium did not start (\(error)): \(process.output.suffix(2000))")
        }
        devToolsPort = port
    }

    /// The browser's tab, sized `width`×`height` CSS pixels, on `url` (the same tab each time).
    public func open(_ url: String, width: Int = 1280, height: Int = 720) async throws -> BrowserPage {
        let page: BrowserPage
        debugTrace("open \(url)")
        if let existing = pages.withLock({ $0.first }) {
            page = existing
        } else {
            let http = HTTPClient(retry: .none, logger: logger)
            let listed = try await http.send(
                OutboundRequest(url: "http://127.0.0.1:\(devToolsPort)/json/list", timeout: .seconds(30)))
            let targets = try JSONSerialization.jsonObject(with: Data(listed.body)) as? [[String: Any]] ?? []
            guard let socketURL = targets.first(where: { $0["type"] as? String == "page" })?["webSocketDebuggerUrl"] as? String
            else { throw NotAvailable(description: "Chromium has no tab: \(listed.status) \(listed.text)") }
            debugTrace("connecting \(socketURL)")
            page = try await BrowserPage(socketURL: socketURL, logger: logger)
            debugTrace("connected")
            pages.withLock { $0.append(page) }
            try await page.send("Runtime.enable")
            try await page.send("Log.enable")
            try await page.send("Page.enable")
        }
        try await page.resize(width: width, height: height)
        try await page.send("Page.navigate", ["url": url])
        return page
    }

    func close() async {
        for page in pages.withLock({ $0 }) { page.close() }
        process.signalGroup(SIGTERM)
        if await process.exitStatus(within: .seconds(15)) == nil {
            process.signalGroup(SIGKILL)
            _ = await process.exitStatus(within: .seconds(15))
        }
        // Helpers that outlived the browser.
        process.signalGroup(SIGKILL)
        try? FileManager.default.removeItem(at: profile)
        try? FileManager.default.removeItem(atPath: profile.path + ".log")
    }
}

/// Runs `body` with a headless Chromium, and ends the browser whether `body` returns or throws.
public func withBrowser<T>(
    fakeMicrophone: String? = nil, logger: Logger = TestStack.logger, _ body: (HeadlessBrowser) async throws -> T
) async throws -> T {
    try await using(
        try await HeadlessBrowser(fakeMicrophone: fakeMicrophone, logger: logger), tearDown: { await $0.close() }, body)
}

/// One tab, over its DevTools WebSocket: commands with their answers, and what the page logged.
public final class BrowserPage: Sendable {
    private let commands: AsyncStream<String>.Continuation
    private let connection: Task<Void, any Error>
    private let shared = Shared()

    /// Held by the page and by its connection's task.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private struct State {
        var nextID = 0
        var pending: [Int: CheckedContinuation<Data, any Error>] = [:]
        var problems: [String] = []
        var closed = false
    }

    public struct CommandFailed: Error, CustomStringConvertible {
        public var description: String
    }

    init(socketURL: String, logger: Logger) async throws {
        let (stream, commands) = AsyncStream<String>.makeStream()
        self.commands = commands
        let shared = shared
        let (opened, open) = AsyncStream<Void>.makeStream()
        connection = Task {
            defer {
                open.finish()
                let waiting = shared.state.withLock { state in
                    state.closed = true
                    defer { state.pending = [:] }
                    return state.pending
                }
                for continuation in waiting.values {
                    continuation.resume(throwing: CommandFailed(description: "DevTools closed"))
                }
            }
            _ = try await WebSocketClient.connect(
                url: socketURL, configuration: .init(maxFrameSize: 1 << 26), logger: logger
            ) { inbound, outbound, _ in
                open.yield()
                let writer = Task {
                    for await command in stream { try await outbound.write(.text(command)) }
                }
                defer { writer.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 26) {
                    guard case let .text(text) = message else { continue }
                    BrowserPage.handle(Data(text.utf8), shared: shared)
                }
            }
        }
        var iterator = opened.makeAsyncIterator()
        guard await iterator.next() != nil else {
            _ = try await connection.value
            throw CommandFailed(description: "DevTools WebSocket did not open")
        }
    }

    private static func handle(_ data: Data, shared: Shared) {
        guard let message = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        if let id = message["id"] as? Int {
            shared.state.withLock { $0.pending.removeValue(forKey: id) }?.resume(returning: data)
            return
        }
        let params = message["params"] as? [String: Any] ?? [:]
        var problem: String?
        switch message["method"] as? String {
        case "Runtime.consoleAPICalled" where ["error", "assert"].contains(params["type"] as? String):
            let arguments = (params["args"] as? [[String: Any]] ?? []).map { "\($0["value"] ?? $0["description"] ?? "")" }
            problem = "console.\(params["type"] ?? ""): " + arguments.joined(separator: " ")
        case "Runtime.exceptionThrown":
            let details = params["exceptionDetails"] as? [String: Any] ?? [:]
            let exception = details["exception"] as? [String: Any] ?? [:]
            problem = "exception: \(exception["description"] ?? details["text"] ?? "")"
        case "Log.entryAdded":
            let entry = params["entry"] as? [String: Any] ?? [:]
            if entry["level"] as? String == "error" {
                problem = "log (\(entry["source"] ?? "")): \(entry["text"] ?? "") \(entry["url"] ?? "")"
            }
        default: break
        }
        if let problem { shared.state.withLock { $0.problems.append(problem) } }
    }

    /// Console errors, uncaught exceptions and error log entries (CSP violations, failed loads), in order.
    public var problems: [String] { shared.state.withLock { $0.problems } }

    /// Sends a DevTools command and returns its `result`.
    /// (Traced to stderr with ATTACHE_TEST_TRACE_BROWSER=1.)
    @discardableResult
    public func send(_ method: String, _ params: [String: any Sendable] = [:]) async throws -> [String: Any] {
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            let id: Int? = shared.state.withLock { state in
                guard !state.closed else { return nil }
                state.nextID += 1
                state.pending[state.nextID] = continuation
                return state.nextID
            }
            guard let id else { return continuation.resume(throwing: CommandFailed(description: "DevTools closed")) }
            // A browser that stopped answering fails the command instead of hanging the test.
            let shared = shared
            Task {
                try await Task.sleep(for: .seconds(120))
                shared.state.withLock { $0.pending.removeValue(forKey: id) }?.resume(
                    throwing: CommandFailed(description: "\(method): no answer from DevTools in 120 s"))
            }
            do {
                let message: [String: Any] = ["id": id, "method": method, "params": params]
                let command = try JSONSerialization.data(withJSONObject: message)
                commands.yield(String(decoding: command, as: UTF8.self))
            } catch {
                shared.state.withLock { $0.pending.removeValue(forKey: id) }?.resume(throwing: error)
            }
        }
        debugTrace("\(method) answered")
        let message = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        if let error = message["error"] { throw CommandFailed(description: "\(method): \(error)") }
        return message["result"] as? [String: Any] ?? [:]
    }

    /// The value of a JavaScript expression, as JSON text (`null` when undefined).
    public func evaluate(_ expression: String) async throws -> String {
        let result = try await send(
            "Runtime.evaluate",
            ["expression": "JSON.stringify((() => (\(expression)))()) ?? 'null'", "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw CommandFailed(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"] as? String ?? "null"
    }

    public func resize(width: Int, height: Int) async throws {
        try await send(
            "Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    /// A PNG of what the page shows, written to `path` (its folder made if need be).
    public func screenshot(to path: URL) async throws {
        let result = try await send("Page.captureScreenshot", ["format": "png"])
        guard let encoded = result["data"] as? String, let png = Data(base64Encoded: encoded) else {
            throw CommandFailed(description: "Page.captureScreenshot returned no image")
        }
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try png.write(to: path)
    }

    func close() {
        commands.finish()
        connection.cancel()
    }
}

func debugTrace(_ text: String) {
    guard ProcessInfo.processInfo.environment["ATTACHE_TEST_TRACE_BROWSER"] == "1" else { return }
    FileHandle.standardError.write(Data("browser: \(text)\n".utf8))
}
