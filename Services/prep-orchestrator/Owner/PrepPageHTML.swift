import Foundation
import Runtime

/// The prep page's HTML: plain, accessible forms that work without JavaScript. Everything from
/// outside (titles, context, answers) is escaped.
enum PrepPageHTML {
    static func form(_ page: PrepPage.Page, saved: Bool) -> String {
        let e = HTMLEscaping.escape
        let workflow = page.workflow
        var body = """
            <h1>Prepare “\(e(workflow.meeting.title))”</h1>
            <p>\(e(OwnerMessages.typeName(workflow).capitalized)), \(e(OwnerMessages.when(workflow.meeting.start))).
            Answers are kept until \(e(OwnerMessages.when(page.expiresAt))).</p>

            """
        if saved { body += "<p role=\"status\">Your answers are saved. Finish when you are ready.</p>\n" }
        if !page.context.isEmpty {
            body += "<h2>What Attaché gathered</h2>\n<dl>\n"
            for result in page.context {
                body += "<dt>\(e(result.kind.title))</dt>"
                if !result.isAvailable {
                    body += "<dd>Unavailable: \(e(result.unavailableReason ?? ""))</dd>\n"
                } else if result.items.isEmpty {
                    body += "<dd>Nothing new.</dd>\n"
                } else {
                    body += result.items.map { "<dd>\(e(EmbeddedGenerator.point($0)))</dd>" }.joined() + "\n"
                }
            }
            body += "</dl>\n"
        }
        body += "<form method=\"post\">\n<h2>Your questions</h2>\n"
        for (position, question) in workflow.prepQuestions.enumerated() {
            let previous = page.answers.first { $0.question == question }
            body += """
                <p><label for="answer_\(position)">\(position + 1). \(e(question))</label><br>
                <textarea id="answer_\(position)" name="answer_\(position)" rows="3" cols="70">\(e(previous?.answer ?? ""))</textarea><br>
                <label><input type="checkbox" name="skip_\(position)"\(previous?.skipped == true ? " checked" : "")> Skip this question</label></p>

                """
        }
        body += """
            <p><button type="submit" name="action" value="save">Save answers</button>
            <button type="submit" name="action" value="finish">Finish and prepare my materials</button></p>
            </form>

            """
        return document(title: "Prepare \(workflow.meeting.title)", body: body)
    }

    static func finished() -> String {
        document(
            title: "Preparation finished",
            body: "<h1>Thank you</h1>\n<p role=\"status\">Generating your materials now; the links will reach you shortly.</p>\n")
    }

    static func refusal(_ refusal: PrepPage.Refusal) -> String {
        document(
            title: "Preparation link",
            body: "<h1>This link does not open a preparation</h1>\n<p>\(HTMLEscaping.escape(refusal.explanation))</p>\n")
    }

    private static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTMLEscaping.escape(title)) · Attaché</title>
        <style>body{font-family:sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.5}textarea{width:100%}</style>
        </head>
        <body>
        <main>
        \(body)</main>
        </body>
        </html>

        """
    }
}
