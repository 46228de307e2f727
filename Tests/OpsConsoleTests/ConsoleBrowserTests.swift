import Foundation
import TestSupport
import Testing

/// The console in Debian's headless Chromium: sign-in with the keyboard, a meeting's story at
/// 1280 and 390 px wide, a replay. Screenshots are kept in `.build/test-artifacts/`
/// (console-story-1280.png, console-story-390.png, console-replayed.png).
@Suite("Operators' console in a browser")
struct ConsoleBrowserTests {
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")

    @Test("an operator signs in with the keyboard, reads a meeting's story at 1280 and 390 px, and replays a parked message")
    func signInStoryReplay() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let meeting = try await seed.meeting(title: "Quarterly review", owner: "alex@example.com", start: Seed.t0)
            try await seed.story(of: meeting)
            try await console.park("classifier", id: "message-1", reason: "no rule file")
            try await withBrowser { browser in
                let page = try await browser.open(console.base + "/sign-in")
                try await eventually("the sign-in form") {
                    (try? await page.evaluate("document.readyState === 'complete' && !!document.getElementById('token')"))
                        == "true"
                }
                _ = try await page.evaluate("document.getElementById('token').focus()")
                try await page.send("Input.insertText", ["text": ConsoleHarness.token])
                for type in ["keyDown", "keyUp"] {
                    try await page.send(
                        "Input.dispatchKeyEvent",
                        ["type": type, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"])
                }
                try await eventually("the meetings page") {
                    (try? await page.evaluate("location.pathname + ' ' + document.readyState")) == "\"/meetings complete\""
                }
                // The first Tab reaches the skip link, the next ones the sections.
                for type in ["keyDown", "keyUp"] {
                    try await page.send(
                        "Input.dispatchKeyEvent", ["type": type, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9])
                }
                #expect(try await page.evaluate("document.activeElement.className") == "\"skip\"")

                _ = try await page.evaluate("document.querySelector('main a[href^=\"/meetings/\"]').click()")
                try await eventually("the meeting's story") {
                    (try? await page.evaluate("document.querySelectorAll('.timeline li').length")) == "15"
                }
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("console-story-1280.png"))
                try await page.resize(width: 390, height: 844)
                try await eventually("the narrow layout") {
                    (try? await page.evaluate("window.innerWidth")) == "390"
                }
                #expect(
                    try await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth") == "true",
                    "nothing wider than a phone's screen")
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("console-story-390.png"))

                _ = try await browser.open(console.base + "/parked/classifier")
                try await eventually("the parked message") {
                    (try? await page.evaluate("!!document.querySelector('td form button')")) == "true"
                }
                _ = try await page.evaluate("document.querySelector('td form button').click()")
                try await eventually("the replay's notice") {
                    (try? await page.evaluate("document.querySelector('.notice')?.textContent ?? ''"))
                        == "\"Replayed 1 message(s).\""
                }
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("console-replayed.png"))
                try await eventually("the message back on the work queue") {
                    try await console.depth(console.queues("classifier").workQueue) == 1
                }
                #expect(page.problems == [], "console errors, exceptions or refused loads")
            }
        }
    }
}
