import Foundation
import HTTPClient
import Hummingbird
import HummingbirdWSClient
import Logging
import SpeechEngines
import Synchronization
import VoicePipeline

/// The simulated meeting's stand-in for the bot's camera webpage: given the camera URL a bot
/// gets (`CameraLink`), it joins the call's media connection at the realtime worker with the
/// URL's token (asking which replica owns the call, as the page does),
/// speaks the participants' lines into it with eSpeak NG in real time, and listens to the
/// agent, so that a demo call holds a real spoken conversation with no browser and no account.
struct SimulatedCamera: Sendable {
    let voice: ESpeakSynthesizer
    let http: HTTPClient
    let logger: Logger

    struct Attended: Sendable {
        var agentFrames = 0
        var interruptions = 0
    }

    /// Speaks `lines` into the call, each after the agent has fallen silent, and hangs up.
    func attend(cameraURL: String, lines: [String], beforeEachLine: @escaping @Sendable (Int) async throws -> Void)
        async throws -> Attended
    {
        let page = try CameraPageAddress(cameraURL)
        let mediaURL = try await ownerURL(page)
        let heard = AgentListener()
        let speech = try await lines.asyncMap { line in
            var samples: [Int16] = []
            for try await chunk in voice.synthesize(line) { samples += chunk.samples }
            return PCM.frames(samples)
        }
        let socketURL =
            mediaURL.replacingOccurrences(of: "http", with: "ws", options: .anchored)
            + "/media/\(page.meeting)?token=\(page.token)"
        _ = try await WebSocketClient.connect(url: socketURL, logger: logger) { inbound, outbound, _ in
            let speaking = Task {
                var pacer = FramePacer()
                let clock = pacer.clock
                func send(_ frame: AudioFrame) async throws {
                    try await outbound.write(.binary(ByteBuffer(bytes: frame.littleEndianBytes)))
                    try await pacer.wait()
                }
                // Silence, as a quiet room sends, until the agent has spoken and then said
                // nothing for a second.
                func waitForAnswer(atMost limit: Duration) async throws {
                    let end = clock.now + limit
                    let framesBefore = heard.attended.withLock { $0.agentFrames }
                    repeat {
                        try await send(.silence)
                    } while clock.now < end
                        && (heard.attended.withLock { $0.agentFrames } == framesBefore
                            || heard.lastFrame.withLock { $0 }.duration(to: clock.now) < .seconds(1))
                }
                try await waitForAnswer(atMost: .seconds(8))  // the greeting
                for (index, frames) in speech.enumerated() {
                    try await beforeEachLine(index)
                    for frame in frames { try await send(frame) }
                    try await waitForAnswer(atMost: .seconds(15))
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                switch message {
                case .binary:
                    heard.attended.withLock { $0.agentFrames += 1 }
                    heard.lastFrame.withLock { $0 = .now }
                case let .text(text) where text.contains("\"type\":\"clear\""):
                    heard.attended.withLock { $0.interruptions += 1 }
                case .text:
                    break
                }
            }
            try await speaking.value
        }
        return heard.attended.withLock { $0 }
    }

    /// What the camera heard of the agent, shared by the task that speaks and the loop that listens.
    private final class AgentListener: Sendable {
        let attended = Mutex(Attended())
        let lastFrame = Mutex(ContinuousClock.now)
    }

    /// Where the call's media connection lives, as the page learns it; the realtime worker
    /// may not have opened the call yet when the bot starts recording.
    private func ownerURL(_ page: CameraPageAddress) async throws -> String {
        let url = page.base + "/media/\(page.meeting)/owner?token=\(page.token)"
        for _ in 0..<50 {
            let response = try await http.send(OutboundRequest(url: url, timeout: .seconds(5)))
            if response.isSuccess, let owner = try? response.decode([String: String].self), let media = owner["media_url"] {
                return media.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw SimulatedCameraError(description: "no live call for meeting \(page.meeting) at \(redactedURL(url)) after 10 s")
    }
}

/// What the page reads from its own address: where it was loaded from, its meeting, its token.
struct CameraPageAddress {
    var base: String
    var meeting: String
    var token: String

    init(_ cameraURL: String) throws {
        guard let components = URLComponents(string: cameraURL), let scheme = components.scheme, let host = components.host,
            let token = components.queryItems?.first(where: { $0.name == "token" })?.value,
            let meeting = components.path.split(separator: "/").last
        else { throw SimulatedCameraError(description: "not a camera URL: \(redactedURL(cameraURL))") }
        base = "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
        self.meeting = String(meeting)
        self.token = token
    }
}

struct SimulatedCameraError: Error, CustomStringConvertible {
    var description: String
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
