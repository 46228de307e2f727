import Foundation
import Shared
import TestSupport
import Testing

@testable import PrepOrchestrator

/// What reaches the owner's data checks its credential, and what comes from outside is escaped.
@Suite("Preparation links and tokens")
struct PrepSecurityTests {
    @Test("materials links: a changed signature, file, id or expiry gets 403 saying so; an expired link says it expired")
    func forgedAndExpiredLinks() async throws {
        try await withPrep { prep in
            let classified = classification(startsIn: 20 * 60)  // straight to the materials
            try await prep.classify(classified)
            try await prep.settle()
            let sent = try #require(try await prep.notifications(of: classified.meeting.meetingID).last)
            let agenda = try #require(PrepHarness.link("Agenda", in: sent.text))
            #expect(try await prep.get(agenda).status == 200)

            let expires = try #require(URLComponents(string: agenda)?.queryItems?.first { $0.name == "expires" }?.value)
            for forged in [
                agenda.replacingOccurrences(of: "signature=", with: "signature=0"),
                agenda.replacingOccurrences(of: "agenda.html", with: "notes.md"),
                agenda.replacingOccurrences(of: "expires=\(expires)", with: "expires=\(Int(expires)! + 3600)"),
                agenda.components(separatedBy: "?")[0],
            ] {
                let response = try await prep.get(forged)
                #expect(response.status == 403, "\(forged)")
                #expect(response.text.contains("This link is not valid"))
            }
            let path = try #require(URL(string: agenda)?.pathComponents)
            let id = try #require(UUID(uuidString: path[path.count - 2]))
            let tomorrow = Date().addingTimeInterval(25 * 3600)
            let link = prep.links.link("agenda.html", materials: id, now: Date())
            #expect(
                prep.links.check(
                    "agenda.html", materials: id, expires: String(Int(link.expiresAt.timeIntervalSince1970)),
                    signature: URLComponents(string: link.url)?.queryItems?.first { $0.name == "signature" }?.value,
                    now: tomorrow) == .expired)
            let expired = prep.links.link("agenda.html", materials: id, now: Date().addingTimeInterval(-25 * 3600))
            let response = try await prep.get(expired.url)
            #expect(response.status == 403)
            #expect(response.text.contains("This link has expired"))
        }
    }

    @Test("an unknown token gets a clear page, never an error trace; a used one says it was used")
    func unknownAndUsedTokens() async throws {
        try await withPrep { prep in
            let unknown = try await prep.get("\(prep.server.url)/prep/not-a-token")
            #expect(unknown.status == 404)
            #expect(unknown.text.contains("This preparation link is not valid"))
            #expect(try await prep.post("\(prep.server.url)/prep/not-a-token", form: ["action": "finish"]).status == 404)

            let classified = classification()
            try await prep.classify(classified)
            try await prep.settle()
            let page = try #require(
                PrepHarness.link("Start prep", in: try await prep.notifications(of: classified.meeting.meetingID)[0].text))
            #expect(try await prep.post(page, form: ["action": "finish"]).status == 200)
            let reused = try await prep.post(page, form: ["answer_0": "again", "action": "finish"])
            #expect(reused.status == 410)
            #expect(reused.text.contains("already finished"))
            let answers = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT count(*) AS n FROM prep.answers")!.int("n")
            }
            #expect(answers == 0, "the reused token stored nothing")
            let stored = try await prep.pool.withConnection { db in
                try db.queryOne("SELECT token_hash FROM prep.owner_tokens")!.string("token_hash")
            }
            let token = try #require(page.split(separator: "/").last.map(String.init))
            #expect(stored == OwnerToken.hash(token) && stored != token, "only the token's hash is kept")
        }
    }

    @Test("HTML in a meeting's title or in an answer is shown as text, on the prep page and in the agenda")
    func htmlIsEscaped() async throws {
        try await withPrep { prep in
            let classified = classification(title: "Q4 <script>alert('title')</script> review")
            try await prep.classify(classified)
            try await prep.settle()
            let meeting = classified.meeting.meetingID
            let page = try #require(PrepHarness.link("Start prep", in: try await prep.notifications(of: meeting)[0].text))
            let form = try await prep.get(page)
            #expect(!form.text.contains("<script>"))
            #expect(form.text.contains("&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"))
            _ = try await prep.post(page, form: ["answer_0": "<img src=x onerror=alert(1)> & more", "action": "finish"])
            try await prep.settle()
            let agenda = try await prep.get(
                try #require(PrepHarness.link("Agenda", in: try await prep.notifications(of: meeting).last!.text)))
            #expect(agenda.status == 200)
            #expect(!agenda.text.contains("<script>") && !agenda.text.contains("<img"))
            #expect(agenda.text.contains("Goal: &lt;img src=x onerror=alert(1)&gt; &amp; more"))
        }
    }
}
