import Delivery
import Foundation

/// The console's pages, rendered on the server. No inline scripts or event handlers (the
/// Content-Security-Policy forbids them); forms and links only, so keyboard navigation is the
/// browser's own.
enum Pages {
    static let sections: [(path: String, name: String)] = [
        ("/meetings", "Meetings"), ("/workflows", "Workflows"), ("/calls", "Calls"), ("/connections", "Calendars"),
        ("/parked", "Parked"), ("/system", "System"),
    ]

    /// `refresh` (seconds) asks console.js to fetch the page again and swap its content in.
    static func layout(
        _ title: String, section: String?, session: OperatorSession?, refresh: Int? = nil, _ content: HTML
    ) -> HTML {
        let nav: HTML =
            session.map { session -> HTML in
                let links = sections.map { link -> HTML in
                    link.path == section
                        ? "<li><a href=\"\(link.path)\" aria-current=\"page\">\(link.name)</a></li>"
                        : "<li><a href=\"\(link.path)\">\(link.name)</a></li>"
                }
                return """
                    <header><nav aria-label="Sections"><ul>\(links)</ul></nav>\
                    <form method="post" action="/sign-out">\(csrfField(session))<button type="submit">Sign out</button></form>\
                    </header>
                    """
            } ?? ""
        let refreshAttribute: HTML = refresh.map { " data-refresh=\"\($0)\"" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\
            <title>\(title) · Attaché console</title>\
            <link rel="stylesheet" href="/console.css"><script src="/console.js" defer></script></head>
            <body><a class="skip" href="#main">Skip to content</a>\(nav)
            <main id="main"\(refreshAttribute)><h1>\(title)</h1>
            \(content)
            </main></body></html>
            """
    }

    static func csrfField(_ session: OperatorSession) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(session.csrfToken)\">"
    }

    static func signIn(error: String?) -> HTML {
        let message: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        return layout(
            "Sign in", section: nil, session: nil,
            """
            \(message)<form method="post" action="/sign-in" class="stack">
            <label for="token">Operator token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
            <button type="submit">Sign in</button></form>
            """)
    }

    static func message(_ title: String, _ text: String, session: OperatorSession?) -> HTML {
        layout(title, section: nil, session: session, "<p class=\"error\" role=\"alert\">\(text)</p>")
    }

    // MARK: Meetings

    static func meetings(
        _ rows: [OpsQueries.MeetingSummary], next: String?, form: FormFields, error: FieldError?, session: OperatorSession
    ) -> HTML {
        let problem: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0.field) \($0.problem)</p>" } ?? ""
        let search: HTML = """
            <form method="get" action="/meetings" class="filters" role="search">
            <label>Title <input name="title" value="\(form["title"])"></label>
            <label>Owner <input name="owner" value="\(form["owner"])" type="search"></label>
            <label>From <input name="from" type="date" value="\(form["from"])"></label>
            <label>To <input name="to" type="date" value="\(form["to"])"></label>
            <button type="submit">Search</button></form>
            """
        let body: [HTML] = rows.map { meeting in
            """
            <tr><td><a href="/meetings/\(meeting.id.uuidString.lowercased())">\(meeting.title)</a>\
            \(meeting.cancelled ? (" <span class=\"tag\">cancelled</span>" as HTML) : "")</td>\
            <td>\(meeting.owner ?? "–")</td><td><time datetime="\(meeting.startAt.formatted(.iso8601))">\
            \(meeting.startAt.consoleText)</time></td><td>\(meeting.meetingType ?? "not classified")</td>\
            <td>\(meeting.source)</td></tr>
            """
        }
        let more: HTML =
            next.map { cursor -> HTML in
                let query = queryString([
                    ("title", form["title"]), ("owner", form["owner"]), ("from", form["from"]), ("to", form["to"]),
                    ("after", cursor),
                ])
                return "<p><a href=\"/meetings?\(query)\" rel=\"next\">Earlier meetings</a></p>"
            } ?? ""
        return layout(
            "Meetings", section: "/meetings", session: session,
            """
            \(problem)\(search)
            \(table(["Title", "Owner", "Starts (UTC)", "Type", "Source"], body, empty: "No meetings match."))
            \(more)
            """)
    }

    static func story(_ story: OpsQueries.Story, session: OperatorSession) -> HTML {
        let meeting = story.meeting
        let events: [HTML] = story.events.map { event -> HTML in
            let detail: HTML = event.detail.map { "<p>\($0)</p>" } ?? ""
            return """
                <li class="event \(event.service)"><time datetime="\(event.at.formatted(.iso8601))">\(event.at.consoleText)</time> \
                <span class="service">\(event.service)</span> <strong>\(event.what)</strong>\(detail)</li>
                """
        }
        return layout(
            meeting.title, section: "/meetings", session: session, refresh: 15,
            """
            <dl class="facts"><dt>Meeting</dt><dd>\(meeting.id.uuidString.lowercased())</dd>\
            <dt>Owner</dt><dd>\(meeting.owner ?? "–")</dd><dt>Starts</dt><dd>\(meeting.startAt.consoleText)</dd>\
            <dt>Type</dt><dd>\(meeting.meetingType ?? "not classified")</dd></dl>
            <h2>Story</h2>
            \(events.isEmpty ? ("<p>Nothing recorded yet.</p>" as HTML) : ("<ol class=\"timeline\">\(events)</ol>" as HTML))
            """)
    }

    // MARK: Workflows, calls, connections

    static func workflows(
        _ rows: [OpsQueries.WorkflowSummary], states: [(state: String, count: Int)], state: String?, page: Int,
        hasMore: Bool, session: OperatorSession
    ) -> HTML {
        let filters: [HTML] =
            [state == nil ? ("<li><strong>all</strong></li>" as HTML) : ("<li><a href=\"/workflows\">all</a></li>" as HTML)]
            + states.map { entry in
                entry.state == state
                    ? "<li><strong>\(entry.state) (\(entry.count))</strong></li>"
                    : "<li><a href=\"/workflows?\(queryString([("state", entry.state)]))\">\(entry.state) (\(entry.count))</a></li>"
            }
        let body: [HTML] = rows.map { workflow in
            """
            <tr><td><a href="/meetings/\(workflow.meetingID.uuidString.lowercased())">\(workflow.title)</a></td>\
            <td>\(workflow.state)</td><td>\(workflow.meetingType)</td><td>\(workflow.start)</td>\
            <td>\(workflow.finishedSteps)/\(workflow.steps)</td><td>v\(workflow.definitionVersion)</td></tr>
            """
        }
        return layout(
            "Workflows", section: "/workflows", session: session, refresh: 10,
            """
            <nav aria-label="States"><ul class="filters">\(filters)</ul></nav>
            \(table(["Meeting", "State", "Type", "Starts", "Steps", "Definition"], body, empty: "No workflows."))
            \(pager("/workflows", [("state", state)], page: page, hasMore: hasMore))
            """)
    }

    static let callStatuses = ["pass", "fail", "partial", "skipped", "error", "pending"]

    static func calls(
        _ rows: [OpsQueries.CallSummary], status: String?, page: Int, hasMore: Bool, session: OperatorSession
    ) -> HTML {
        let options: [HTML] =
            [("<option value=\"\">all</option>" as HTML)]
            + callStatuses.map { name in
                name == status ? "<option selected>\(name)</option>" : "<option>\(name)</option>"
            }
        let body: [HTML] = rows.map { call in
            """
            <tr><td><a href="/meetings/\(call.meetingID.uuidString.lowercased())">\(call.sessionID.uuidString.lowercased().prefix(8).description)…</a></td>\
            <td>\(call.receivedAt.consoleText)</td><td>\(call.status)\(call.diagnosed ? (" <span class=\"tag\">diagnosed</span>" as HTML) : "")</td>\
            <td>\(call.intents.isEmpty ? "–" : call.intents.joined(separator: ", "))\
            \(call.confidence.map { String(format: " (%.2f)", $0) } ?? "")</td><td>\(call.summary ?? "")</td></tr>
            """
        }
        return layout(
            "Calls", section: "/calls", session: session, refresh: 10,
            """
            <form method="get" action="/calls" class="filters"><label>Verdict <select name="status">\(options)</select></label>\
            <button type="submit">Filter</button></form>
            \(table(["Session", "Received (UTC)", "Verdict", "Intents", "Summary"], body, empty: "No calls."))
            \(pager("/calls", [("status", status)], page: page, hasMore: hasMore))
            """)
    }

    static func connections(
        _ rows: [OpsQueries.ConnectionSummary], page: Int, hasMore: Bool, requested: UUID?, session: OperatorSession
    ) -> HTML {
        let notice: HTML =
            requested.map { id -> HTML in
                let which = rows.first { $0.id == id }.map { " for \($0.name) (\($0.owner))" } ?? ""
                return "<p class=\"notice\" role=\"status\">Sync requested\(which): calendar-monitor syncs it next.</p>"
            } ?? ""
        let body: [HTML] = rows.map { connection in
            let sync: HTML =
                connection.status == "active"
                ? """
                <form method="post" action="/connections/\(connection.id.uuidString.lowercased())/sync">\(csrfField(session))\
                <button type="submit" aria-label="Sync \(connection.name) (\(connection.owner)) now">Sync now</button></form>
                """
                : ""
            return """
                <tr><td>\(connection.owner)</td><td>\(connection.kind)</td><td>\(connection.name)</td><td>\(connection.status)</td>\
                <td>\(connection.lastSuccessAt?.consoleText ?? "never")</td><td>\(connection.nextSyncAt.consoleText)</td>\
                <td>\(connection.hasCursor ? "kept" : "none")</td>\
                <td>\(connection.lastError.map { "\($0) (\(connection.consecutiveFailures) in a row)" } ?? "")</td><td>\(sync)</td></tr>
                """
        }
        return layout(
            "Calendar connections", section: "/connections", session: session, refresh: 30,
            """
            \(notice)\(table(["Owner", "Kind", "Name", "Status", "Last sync (UTC)", "Next sync", "Cursor", "Error", ""], body, empty: "No calendars connected."))
            \(pager("/connections", [], page: page, hasMore: hasMore))
            """)
    }

    // MARK: Parked messages and the system

    static func describe(_ state: QueueState) -> String {
        switch state {
        case .counts(let messages, _): String(messages)
        case .missing: "0 (no queue yet)"
        case .unknown: "unknown (broker unreachable)"
        }
    }

    static func parkedIndex(_ states: [(service: String, parked: QueueState)], session: OperatorSession) -> HTML {
        let body: [HTML] = states.map { entry in
            """
            <tr><td><a href="/parked/\(entry.service)">\(entry.service)</a></td><td>\(describe(entry.parked))</td></tr>
            """
        }
        return layout(
            "Parked messages", section: "/parked", session: session, refresh: 10,
            table(["Service", "Parked"], body, empty: ""))
    }

    /// `messages` is nil when the service has no dead-letter queue on this bus prefix yet.
    static func parked(
        service: String, messages: [ParkedMessage]?, replayed: String?, session: OperatorSession
    ) -> HTML {
        let notice: HTML = replayed.map { "<p class=\"notice\" role=\"status\">Replayed \($0) message(s).</p>" } ?? ""
        guard let messages else {
            return layout(
                "Parked messages: \(service)", section: "/parked", session: session,
                """
                \(notice)<p>No parked messages: \(service) has no queues on this bus yet (it has not started, or \
                its queues were deleted).</p>
                """)
        }
        let body: [HTML] = messages.map { message -> HTML in
            let replayOne: HTML =
                message.messageID.map { id -> HTML in
                    """
                    <form method="post" action="/parked/\(service)/replay">\(csrfField(session))\
                    <input type="hidden" name="id" value="\(id)"><button type="submit">Replay</button></form>
                    """
                } ?? ""
            return """
                <tr><td>\(message.messageID ?? "(no id)")</td><td>\(message.type ?? "?")</td><td>\(message.parkedAt ?? "?")</td>\
                <td>\(message.attempts)</td><td>\(message.error)</td><td>\(replayOne)</td></tr>
                """
        }
        let replayAll: HTML =
            messages.isEmpty
            ? ""
            : """
            <form method="post" action="/parked/\(service)/replay">\(csrfField(session))\
            <button type="submit">Replay all to \(service)</button></form>
            """
        return layout(
            "Parked messages: \(service)", section: "/parked", session: session,
            """
            \(notice)\(replayAll)
            \(table(["Message", "Type", "Parked at", "Attempts", "Reason", ""], body, empty: "Nothing parked."))
            """)
    }

    static func describe(_ readiness: ServiceReadiness) -> (text: String, good: Bool) {
        switch readiness {
        case .ready: ("ready", true)
        case .notReady(let why): (why.hasPrefix("not ready") ? why : "not ready: \(why)", false)
        case .unreachable(let why): ("unreachable: \(why)", false)
        case .consuming: ("consuming (no /readyz address)", true)
        case .notConsuming: ("no consumers (no /readyz address)", false)
        case .unknown: ("unknown (broker unreachable)", false)
        }
    }

    /// `probing`: whether ATTACHE_OPS_SERVICE_URLS names any service, for the page's note.
    static func system(_ services: [ServiceStatus], probing: Bool, session: OperatorSession) -> HTML {
        let body: [HTML] = services.map { entry in
            let readiness = describe(entry.readiness)
            let replicas = entry.work.consumers.map(String.init) ?? "unknown"
            return """
                <tr><td>\(entry.service)</td><td>\(replicas)</td>\
                <td class="\(readiness.good ? "good" : "bad")">\(readiness.text)</td>\
                <td>\(entry.work.messages.map(String.init) ?? "unknown")</td>\
                <td>\(entry.parked.messages.map(String.init) ?? "unknown")</td></tr>
                """
        }
        let note: HTML =
            probing
            ? "Readiness is each listed service's own <code>/readyz</code> (through ATTACHE_OPS_SERVICE_URLS, so one replica's answer); the others are judged by their consumers."
            : "Readiness is judged by consumers: set ATTACHE_OPS_SERVICE_URLS to ask each service's <code>/readyz</code>."
        return layout(
            "System", section: "/system", session: session, refresh: 5,
            """
            <h2>Services</h2>
            \(table(["Service", "Replicas (consumers)", "Readiness", "Waiting work", "Parked"], body, empty: ""))
            <p class="hint">Replicas are the consumers on the service's work queue: each replica runs \
            ATTACHE_CONSUMERS of them (1 unless set). \(note)</p>
            """)
    }

    // MARK: Parts

    static func table(_ headings: [String], _ rows: [HTML], empty: String) -> HTML {
        guard !rows.isEmpty else { return "<p>\(empty)</p>" }
        let head: [HTML] = headings.map { "<th scope=\"col\">\($0)</th>" }
        return "<div class=\"scroll\"><table><thead><tr>\(head)</tr></thead><tbody>\(rows)</tbody></table></div>"
    }

    static func pager(_ path: String, _ filters: [(String, String?)], page: Int, hasMore: Bool) -> HTML {
        var links: [HTML] = []
        if page > 1 {
            links.append("<a href=\"\(path)?\(queryString(filters + [("page", String(page - 1))]))\" rel=\"prev\">Previous</a>")
        }
        if hasMore {
            links.append("<a href=\"\(path)?\(queryString(filters + [("page", String(page + 1))]))\" rel=\"next\">Next</a>")
        }
        return links.isEmpty ? "" : "<nav aria-label=\"Pages\" class=\"pager\">\(links)</nav>"
    }
}
