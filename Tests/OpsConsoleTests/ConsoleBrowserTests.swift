import Foundation
import TestSupport
import Testing

/// The console in Debian's headless Chromium: sign-in and the sections with the keyboard and a
/// visible focus, a meeting's story and every section at 1280 and 390 px wide, a replay, a sync
/// now. Screenshots are kept in `.build/test-artifacts/` (console-story-1280.png,
/// console-story-390.png, console-replayed.png, console-system-1280.png, console-system-390.png,
/// console-connections-1280.png, console-connections-390.png).
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

    @Test(
        "the keyboard reaches the sign-in form and every section with a visible focus, sync now works from the page, and every section fits 390 px"
    )
    func keyboardAndNarrowScreens() async throws {
        try await withConsole { console in
            let seed = Seed(console.pool)
            let meeting = try await seed.meeting(
                title: "Quarterly review with a title long enough to wrap on a phone", owner: "alex@example.com",
                start: Seed.t0)
            try await seed.workflow(of: meeting, title: "Quarterly review", state: "waiting_for_owner")
            try await seed.call(of: meeting, status: "partial", summary: "the price list was missing")
            _ = try await seed.connection(owner: "alex.rivera.operations@example.com", name: "Team")
            try await console.park("prep-orchestrator", id: "message-1", reason: "no workflow for the meeting")
            try await withBrowser { browser in
                let page = try await browser.open(console.base + "/sign-in")
                func press(_ key: String, code: Int, shift: Bool = false) async throws {
                    for type in ["keyDown", "keyUp"] {
                        var event: [String: any Sendable] = [
                            "type": type, "key": key, "code": key, "windowsVirtualKeyCode": code, "modifiers": shift ? 8 : 0,
                        ]
                        if key == "Enter" { event["text"] = "\r" }
                        try await page.send("Input.dispatchKeyEvent", event)
                    }
                }
                func at(_ path: String) async throws {
                    try await eventually("\(path) loaded") {
                        (try? await page.evaluate("location.pathname + ' ' + document.readyState")) == "\"\(path) complete\""
                    }
                }
                /// What has the focus, and whether it shows: its tag, href or text, and outline.
                func focused() async throws -> String {
                    try await page.evaluate(
                        """
                        (e => e.tagName + ' ' + (e.getAttribute('href') || e.id || e.textContent.trim()) + ' '
                            + getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth)(document.activeElement)
                        """)
                }

                // Sign-in: the token field has the focus on arrival; Tab reaches the button.
                try await eventually("the sign-in form") {
                    (try? await page.evaluate("document.readyState === 'complete' && document.activeElement.id")) == "\"token\""
                }
                try await page.send("Input.insertText", ["text": ConsoleHarness.token])
                try await press("Tab", code: 9)
                #expect(try await focused() == "\"BUTTON Sign in solid 3px\"")
                try await press("Enter", code: 13)
                try await at("/meetings")

                // Tab: the skip link, then each section in order, then sign out; all visibly focused.
                try await press("Tab", code: 9)
                #expect(try await focused() == "\"A #main solid 3px\"")
                for section in ["/meetings", "/workflows", "/calls", "/connections", "/parked", "/system"] {
                    try await press("Tab", code: 9)
                    #expect(try await focused() == "\"A \(section) solid 3px\"")
                }
                try await press("Tab", code: 9)
                #expect(try await focused() == "\"BUTTON Sign out solid 3px\"")
                try await press("Tab", code: 9, shift: true)
                try await press("Enter", code: 13)
                try await at("/system")
                #expect(try await page.evaluate("document.querySelector('h1').textContent") == "\"System\"")
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("console-system-1280.png"))

                // Sync now, from the page's own form (the browser sends Origin and Sec-Fetch-Site).
                _ = try await browser.open(console.base + "/connections")
                try await at("/connections")
                _ = try await page.evaluate("document.querySelector('td form button').click()")
                try await eventually("the sync's notice") {
                    (try? await page.evaluate("document.querySelector('.notice')?.textContent ?? ''"))
                        == "\"Sync requested for Team (alex.rivera.operations@example.com): calendar-monitor syncs it next.\""
                }
                try await page.screenshot(to: Self.artifacts.appendingPathComponent("console-connections-1280.png"))
                #expect(try await console.depth(console.queues("calendar-monitor").workQueue) == 1)

                // Every section at a phone's width: nothing wider than the screen.
                for path in [
                    "/meetings", "/workflows", "/calls", "/connections", "/parked", "/parked/prep-orchestrator", "/system",
                ] {
                    _ = try await browser.open(console.base + path, width: 390, height: 844)
                    try await at(path)
                    #expect(try await page.evaluate("window.innerWidth") == "390", "\(path)")
                    #expect(
                        try await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth") == "true",
                        "\(path) is wider than a phone's screen")
                    if path == "/system" || path == "/connections" {
                        try await page.screenshot(
                            to: Self.artifacts.appendingPathComponent(
                                "console\(path.replacingOccurrences(of: "/", with: "-"))-390.png"))
                    }
                }
                #expect(page.problems == [], "console errors, exceptions or refused loads")
            }
        }
    }
}
