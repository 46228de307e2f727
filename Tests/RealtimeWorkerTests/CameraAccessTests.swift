import CallAccess
import Crypto
import Foundation
import HTTPClient
import Hummingbird
import HummingbirdWSClient
import Synchronization
import TestSupport
import Testing

@testable import RealtimeWorker

/// Only the bearer of a call's camera token reaches its page, its owner and its media; nobody
/// learns from the answers whether a meeting is live.
@Suite("Camera access", .serialized)
struct CameraAccessTests {
    @Test("a missing token is 401 and a wrong, tampered or expired one 403, alike for a live and an unknown meeting")
    func refusedTokens() async throws {
        try await withWorld { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            let unknown = UUID()
            var answers: [String: [String: (status: Int, body: String)]] = [:]
            for (label, meeting) in [("live", world.meeting), ("unknown", unknown)] {
                let genuine = world.token(for: meeting)
                let tampered = String(genuine.dropLast()) + (genuine.hasSuffix("A") ? "B" : "A")
                let queries = [
                    "missing": "", "empty": "?token=", "other meeting": "?token=\(world.token(for: UUID()))",
                    "tampered": "?token=\(tampered)",
                    "expired": "?token=\(world.token(for: meeting, expiresAt: Date().addingTimeInterval(-1)))",
                    "another key":
                        "?token=\(CameraToken.mint(meeting: meeting, expiresAt: Date().addingTimeInterval(3600), key: SymmetricKey(size: .bits256)))",
                ]
                for path in ["/camera/\(meeting)", "/media/\(meeting)/owner", "/media/\(meeting)"] {
                    for (fault, query) in queries {
                        let answer = try await world.get(path + query)
                        let expected = fault == "missing" || fault == "empty" ? 401 : 403
                        #expect(answer.status == expected, "\(label) \(path) with a \(fault) token: \(answer.status)")
                        let key = path.replacingOccurrences(of: meeting.uuidString, with: "{meeting}") + " " + fault
                        answers[key, default: [:]][label] = answer
                    }
                }
            }
            for (request, byMeeting) in answers {
                #expect(byMeeting["live"]?.status == byMeeting["unknown"]?.status, "\(request)")
                #expect(byMeeting["live"]?.body == byMeeting["unknown"]?.body, "\(request)")
            }
            #expect(try await world.get("/camera/not-a-meeting").status == 401)
            #expect(try await world.get("/camera/not-a-meeting?token=\(world.token())").status == 403)

            // With the meeting's token: the page, and where the call lives; an unknown meeting's
            // genuine token learns only that there is no call for it.
            let page = try await world.get("/camera/\(world.meeting)?token=\(world.token())")
            #expect(page.status == 200)
            #expect(page.body.contains("Attaché"))
            #expect(try await world.ownerLookup().status == 200)
            #expect(try await world.get("/media/\(unknown)/owner?token=\(world.token(for: unknown))").status == 404)
        }
    }

    @Test(
        "the WebSocket upgrade is refused 401 without a token and 403 with a wrong or expired one, alike for a live and an unknown meeting"
    )
    func refusedUpgrades() async throws {
        try await withWorld { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            let http = HTTPClient(retry: .none, logger: TestStack.logger)
            var answers: [String: Set<String>] = [:]
            for meeting in [world.meeting, UUID()] {
                let queries = [
                    "missing": "", "other meeting": "?token=\(world.token(for: UUID()))",
                    "expired": "?token=\(world.token(for: meeting, expiresAt: Date().addingTimeInterval(-1)))",
                ]
                for (fault, query) in queries {
                    let response = try await http.send(
                        OutboundRequest(
                            url: "http://127.0.0.1:\(world.port)/media/\(meeting)\(query)",
                            headers: [
                                ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                                (
                                    "Sec-WebSocket-Key",
                                    Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                                ),
                            ]))
                    #expect(response.status == (fault == "missing" ? 401 : 403), "\(fault): \(response.status)")
                    answers[fault, default: []].insert("\(response.status) \(response.text)")
                    await #expect(throws: (any Error).self, "\(fault)") {
                        _ = try await WebSocketClient.connect(
                            url: world.mediaURL(meeting: meeting, query: query), logger: TestStack.logger
                        ) { _, outbound, _ in try await outbound.close(.normalClosure, reason: nil) }
                    }
                }
            }
            for (fault, distinct) in answers { #expect(distinct.count == 1, "\(fault): \(distinct)") }
        }
    }

    @Test("a client without the token can neither listen to nor replace the live page; a page with it may replace it")
    func replacingThePage() async throws {
        try await withWorld { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            let first = PageListener()
            let firstPage = Task { try await first.attend(world.mediaURL()) }
            defer { firstPage.cancel() }
            try await eventually("the first page hears the greeting") { first.frames > 0 }

            for query in ["", "?token=\(world.token(for: UUID()))"] {
                let intruder = PageListener()
                await #expect(throws: (any Error).self) { try await intruder.attend(world.mediaURL(query: query)) }
                #expect(intruder.frames == 0, "the intruder heard nothing")
            }
            #expect(!first.ended, "the live page is still connected")

            // A reload of the camera: the same token again takes over, and the first page is closed.
            let second = PageListener()
            let secondPage = Task { try await second.attend(world.mediaURL()) }
            defer { secondPage.cancel() }
            try await eventually("the first page is replaced") { first.ended }
            #expect(!second.ended)
            secondPage.cancel()
        }
    }
}

/// A camera page stand-in that only listens: counts the agent's audio frames until the server
/// closes the connection.
private final class PageListener: Sendable {
    private let state = Mutex((frames: 0, ended: false))
    var frames: Int { state.withLock { $0.frames } }
    var ended: Bool { state.withLock { $0.ended } }

    func attend(_ url: String) async throws {
        defer { state.withLock { $0.ended = true } }
        _ = try await WebSocketClient.connect(url: url, logger: TestStack.logger) { inbound, _, _ in
            for try await message in inbound.messages(maxSize: 1 << 16) {
                if case .binary = message { self.state.withLock { $0.frames += 1 } }
            }
        }
    }
}
