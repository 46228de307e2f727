import Foundation
import Runtime

/// A file of a meeting's materials.
struct MaterialFile: Sendable, Equatable {
    var name: String
    var contentType: String
    var body: String
}

/// Renders materials as the three files the owner receives.
enum MaterialsRendering {
    static let fileNames = ["agenda.html", "questions.md", "notes.md"]

    static func files(_ materials: Materials) -> [MaterialFile] {
        [
            MaterialFile(name: "agenda.html", contentType: "text/html; charset=utf-8", body: agendaHTML(materials)),
            MaterialFile(name: "questions.md", contentType: "text/markdown; charset=utf-8", body: questionsMarkdown(materials)),
            MaterialFile(name: "notes.md", contentType: "text/markdown; charset=utf-8", body: notesMarkdown(materials)),
        ]
    }

    /// "10:00–10:05" for each section, in UTC, from the meeting's start.
    static func slots(_ materials: Materials) -> [String] {
        var start = materials.start
        return materials.agenda.map { section in
            let end = start.addingTimeInterval(Double(section.minutes) * 60)
            defer { start = end }
            return "\(clock(start))–\(clock(end))"
        }
    }

    /// "HH:MM" in UTC. Arithmetic rather than a Calendar: UTC has no daylight saving, and this
    /// runs for every section of every rendering.
    private static func clock(_ date: Date) -> String {
        let minutes = Int((date.timeIntervalSince1970 / 60).rounded(.down))
        let minuteOfDay = ((minutes % 1440) + 1440) % 1440
        func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(twoDigits(minuteOfDay / 60)):\(twoDigits(minuteOfDay % 60))"
    }

    static func when(_ materials: Materials) -> String {
        "\(materials.start.formatted(.iso8601.year().month().day())) \(slots(materials).first?.prefix(5) ?? "") UTC, \(materials.minutes) min"
    }

    static func agendaHTML(_ materials: Materials) -> String {
        let e = HTMLEscaping.escape
        var html = """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Agenda: \(e(materials.meetingTitle))</title></head>
            <body>
            <main>
            <h1>\(e(materials.meetingTitle))</h1>
            <p>\(e(when(materials))) · \(e(materials.meetingType.replacingOccurrences(of: "_", with: " ")))</p>

            """
        if !materials.caveats.isEmpty {
            html += "<aside><ul>\n" + materials.caveats.map { "<li>\(e($0))</li>\n" }.joined() + "</ul></aside>\n"
        }
        html += "<ol>\n"
        for (section, slot) in zip(materials.agenda, slots(materials)) {
            html += "<li><h2>\(e(section.title)) <small>\(e(slot)) · \(section.minutes) min</small></h2>\n"
            if !section.points.isEmpty {
                html += "<ul>\n" + section.points.map { "<li>\(e($0))</li>\n" }.joined() + "</ul>\n"
            }
            html += "</li>\n"
        }
        html += "</ol>\n"
        let answered = materials.answers.filter { $0.text != nil }
        if !answered.isEmpty {
            html += "<h2>The owner's answers</h2>\n<dl>\n"
            for answer in answered { html += "<dt>\(e(answer.question))</dt><dd>\(e(answer.text ?? ""))</dd>\n" }
            html += "</dl>\n"
        }
        html +=
            "<p><small>Prepared by Attaché (\(e(materials.generator))\(materials.model.map { ", \(e($0))" } ?? "")).</small></p>\n"
        return html + "</main>\n</body>\n</html>\n"
    }

    static func questionsMarkdown(_ materials: Materials) -> String {
        var text = "# Questions for “\(inline(materials.meetingTitle))”\n"
        for group in materials.questionGroups {
            text += "\n## \(inline(group.audience))\n\n" + group.questions.map { "- \(inline($0))\n" }.joined()
        }
        return text
    }

    static func notesMarkdown(_ materials: Materials) -> String {
        var text = "# Notes: \(inline(materials.meetingTitle))\n\n\(when(materials))\n"
        if !materials.attendees.isEmpty { text += "\nAttendees: \(materials.attendees.map(inline).joined(separator: ", "))\n" }
        for caveat in materials.caveats { text += "\n> \(inline(caveat))\n" }
        let gathered = materials.context.filter { $0.isAvailable && !$0.items.isEmpty }
        if !gathered.isEmpty {
            text += "\n## Context\n"
            for result in gathered {
                text +=
                    "\n### \(result.kind.title)\n\n" + result.items.map { "- \(inline(EmbeddedGenerator.point($0)))\n" }.joined()
            }
        }
        for (section, slot) in zip(materials.agenda, slots(materials)) {
            text += "\n## \(inline(section.title)) (\(slot), \(section.minutes) min)\n\n"
            text += section.points.map { "- \(inline($0))\n" }.joined()
            text += "\nNotes:\n"
        }
        text += "\n## Action items\n\n| Owner | Action | Due |\n|---|---|---|\n| | | |\n"
        text += "\n## Decisions\n\n| Decision | Decided by | Notes |\n|---|---|---|\n| | | |\n"
        return text
    }

    /// One line of Markdown: no line breaks, and no table cell or heading markers from outside.
    static func inline(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ").replacingOccurrences(of: "|", with: "\\|")
    }
}
