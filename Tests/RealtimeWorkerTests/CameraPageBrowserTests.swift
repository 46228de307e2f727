import Foundation
import Store
import TestSupport
import Testing

@testable import RealtimeWorker

/// The camera page in a real browser, as the meeting bot loads it: Debian's Chromium, headless,
/// its microphone a WAV of a participant asking a question. Screenshots are kept in
/// `.build/test-artifacts/` (camera-page-1280x720.png, camera-page-800x417.png).
@Suite("Camera page in Chromium", .serialized)
struct CameraPageBrowserTests {
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")

    @Test("the page joins with its token, the agent greets and answers the spoken question, with no console errors")
    func pageHoldsAConversation() async throws {
        let microphone = FileManager.default.temporaryDirectory.appendingPathComponent("question-\(UUID()).wav")
        defer { try? FileManager.default.removeItem(at: microphone) }
        // Silence first, so that the question comes once the greeting is over; a long silence
        // after, so that the answer is heard before the browser loops the file.
        try await SpokenWAV.write(
            "What is on the agenda today?", to: microphone, silenceBefore: .seconds(10), silenceAfter: .seconds(90))
        // The tenant's company (its directory file) over the default: the page is rendered with
        // the default and shows the tenant's once its media connection says so.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("directory-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "company: Acme Robotics\n".write(
            to: directory.appendingPathComponent("acme.yaml"), atomically: true, encoding: .utf8)
        try await withWorld(
            environment: ["ATTACHE_DIRECTORY_DIR": directory.path, "ATTACHE_COMPANY_NAME": "Default Co"]
        ) { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            try await withBrowser(fakeMicrophone: microphone.path) { browser in
                let page = try await browser.open(
                    "http://127.0.0.1:\(world.port)/camera/\(world.meeting)?token=\(world.token())", width: 1280, height: 720)
                try await eventually("the greeting, the question and the answer, in that order", within: .seconds(300)) {
                    Array(try await world.turnRoles().prefix(3)) == ["agent", "participant", "agent"]
                }
                let state = try await page.evaluate("window.attache")
                #expect(state.contains(#""status":"in the call""#), "\(state)")
                #expect(
                    try await page.evaluate("window.attache.agentFrames > 100") == "true", "the page played the agent's voice")
                #expect(try await page.evaluate("window.attache.sentFrames > 500") == "true", "the page sent the meeting's sound")
                #expect(try await page.evaluate("document.getElementById('company').textContent") == #""Acme Robotics""#)
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("camera-page-1280x720.png"))
                for (width, height) in [(1280, 720), (800, 417), (640, 640)] {
                    try await page.resize(width: width, height: height)
                    #expect(
                        try await page.evaluate(
                            "document.documentElement.scrollWidth <= innerWidth && document.documentElement.scrollHeight <= innerHeight"
                        ) == "true", "no scroll bars at \(width)×\(height)")
                }
                try await page.resize(width: 800, height: 417)
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("camera-page-800x417.png"))
                #expect(page.problems == [], "console errors, exceptions or refused loads")
            }
            try await world.deliver(.callEnded)
            let completed = try #require(try await world.callCompleted())
            try #require(completed.turns.count >= 3)
            #expect(completed.turns[0].text == "Hi, this is Attaché joining from Acme Robotics.")
            #expect(completed.turns[1].text == "what is on the agenda today")
            #expect(completed.turns[2].text.contains("budget review"), "answered from the meeting's description")
        }
    }

    @Test("without a valid token the browser gets no page and the call hears nothing from it")
    func pageWithoutToken() async throws {
        try await withWorld { world in
            try await world.classify()
            try await world.deliver(.inCallRecording)
            try await withBrowser { browser in
                for (query, status) in [("", 401), ("?token=\(world.token(for: UUID()))", 403)] {
                    let page = try await browser.open("http://127.0.0.1:\(world.port)/camera/\(world.meeting)\(query)")
                    try await eventually("the refusal has loaded") {
                        (try? await page.evaluate("location.pathname.startsWith('/camera/') && document.readyState"))
                            == #""complete""#
                    }
                    #expect(
                        try await page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus") == "\(status)")
                    #expect(try await page.evaluate("window.attache === undefined") == "true", "no page script ran")
                }
            }
            #expect(try await world.turnRoles() == [], "no page connected, so the agent never greeted")
        }
    }
}

extension World {
    /// The call's turns so far, in the order they were said.
    func turnRoles() async throws -> [String] {
        try await pool.withConnection { db in
            try db.query("SELECT role FROM realtime.turns ORDER BY spoken_at, id").map { try $0.string("role") }
        }
    }
}
