import Foundation
import TestSupport
import Testing

@testable import CallAnalysis

@Suite("Intent taxonomy")
struct TaxonomyTests {
    static let shippedPath = TestStack.repositoryRoot.appendingPathComponent("deploy/config/intents.yaml").path

    /// A valid file's text with `replace` swapped for `with`, for breaking one thing at a time.
    static func shipped(replacing old: String, with new: String) throws -> String {
        let text = try String(contentsOfFile: shippedPath, encoding: .utf8)
        #expect(text.contains(old), "the shipped file no longer has `\(old)`")
        return text.replacingOccurrences(of: old, with: new)
    }

    static func error(_ yaml: String) -> IntentTaxonomyError? {
        do {
            _ = try IntentTaxonomy.parse(yaml: yaml, source: "intents.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("the taxonomy built into the library is deploy/config/intents.yaml, byte for byte")
    func bundledMatchesShipped() throws {
        let shipped = try String(contentsOfFile: Self.shippedPath, encoding: .utf8)
        #expect(IntentTaxonomy.bundledYAML == shipped, "copy deploy/config/intents.yaml into BundledTaxonomy.swift")
    }

    @Test("the shipped file loads with the intents the design names, and smalltalk and none count for nothing")
    func shippedLoads() throws {
        let taxonomy = try IntentTaxonomy.load(from: Self.shippedPath)
        #expect(taxonomy.source == Self.shippedPath)
        #expect(
            taxonomy.intents.map(\.type) == [
                .askAgenda, .askFact, .requestActionItem, .requestFollowUp, .requestSummary, .scheduleChange, .smalltalk, .none,
            ])
        #expect(
            taxonomy.intent(.askFact)?.subjects.map(\.name) == [
                "budget", "incidents", "staffing", "decisions", "participant", "meeting_details", "priorities",
            ])
        #expect(!taxonomy.counts(.smalltalk))
        #expect(!taxonomy.counts(.none))
        #expect(!taxonomy.counts(IntentType("ask_weather")))
        #expect(taxonomy.counts(.askAgenda))
        for intent in taxonomy.intents { #expect(!intent.rubric.isEmpty) }
    }

    @Test("a missing file names the path and the setting")
    func missingFile() {
        #expect {
            try IntentTaxonomy.load(from: "/nonexistent/intents.yaml")
        } throws: { error in
            guard let error = error as? IntentTaxonomyError else { return false }
            return error.file == "/nonexistent/intents.yaml" && error.line == nil
                && error.description.contains("ATTACHE_INTENTS_FILE")
        }
    }

    @Test("a YAML syntax error names the line and the entry being edited")
    func syntaxError() throws {
        let yaml = try Self.shipped(replacing: "    keywords: [agenda, topics,", with: "    keywords: [agenda, topics,,]]")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "ask_agenda")
        #expect(error.line != nil)
        #expect(error.message.hasPrefix("YAML syntax error"))
    }

    @Test("an unknown key is refused with the intent it is in")
    func unknownKey() throws {
        let yaml = try Self.shipped(
            replacing: "    fulfilment: commitment\n    phrases:\n      - action item",
            with: "    fulfilment: commitment\n    phrase:\n      - action item")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "request_action_item")
        #expect(error.message.contains("unknown key `phrase`"))
    }

    @Test("an intent without a rubric is refused, naming the intent")
    func missingRubric() throws {
        let yaml = try Self.shipped(
            replacing: "  - name: request_summary\n    rubric: >-", with: "  - name: request_summary\n    notes: >-")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "request_summary")
        #expect(error.description.contains("rubric") || error.description.contains("notes"))
    }

    @Test("a fulfilment the analysers do not know is refused with the ones they do")
    func unknownFulfilment() throws {
        let yaml = try Self.shipped(replacing: "    fulfilment: recap", with: "    fulfilment: summary")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "request_summary")
        #expect(error.message.contains("answer, commitment, recap, none"))
    }

    @Test("a malformed pattern is refused at its own line, naming the subject")
    func badPattern() throws {
        let text = try Self.shipped(replacing: "          - budget*\n", with: "          - ... budget*\n")
        let error = try #require(Self.error(text))
        #expect(error.entry == "ask_fact/budget")
        #expect(error.message.contains("keywords` item 1"))
        let line = try #require(error.line)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false)[line - 1].contains("... budget*"))
    }

    @Test("an unclosed group is refused")
    func unclosedGroup() throws {
        let yaml = try Self.shipped(
            replacing: "      - what is the plan for (today|", with: "      - what is the plan for today|")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "ask_agenda")
    }

    @Test("an intent defined twice is refused with the first line")
    func duplicateIntent() throws {
        let yaml = try Self.shipped(replacing: "  - name: schedule_change", with: "  - name: request_summary")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "request_summary")
        #expect(error.message.contains("defined twice"))
    }

    @Test("a taxonomy without `none` is refused")
    func missingNone() throws {
        let yaml = try Self.shipped(replacing: "  - name: none\n", with: "  - name: nothing\n")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "none")
    }

    @Test("subjects on an intent that is not a question are refused")
    func subjectsOnRequest() throws {
        let yaml = try Self.shipped(
            replacing: "    fulfilment: recap\n",
            with: "    fulfilment: recap\n    subjects:\n      - name: budget\n        keywords: [budget]\n")
        let error = try #require(Self.error(yaml))
        #expect(error.entry == "request_summary")
        #expect(error.message.contains("`subjects`"))
    }

    @Test("an unknown version is refused")
    func unknownVersion() throws {
        let yaml = try Self.shipped(replacing: "version: 1\n", with: "version: 2\n")
        let error = try #require(Self.error(yaml))
        #expect(error.message.contains("version `2`"))
    }

    @Test("an empty file is refused")
    func emptyFile() {
        #expect(Self.error("")?.message.contains("empty") == true)
    }

    @Test("groups spell out into one pattern per alternative, and contractions match either spelling")
    func groupsAndContractions() throws {
        var vocabulary = Vocabulary()
        var set = PatternSet<Int>()
        try set.add("what is the plan for (today|this meeting)", tag: 1, vocabulary: &vocabulary)
        try set.add("budget*", tag: 2, vocabulary: &vocabulary)
        func tags(_ text: String) -> [Int] {
            let words = Words(text)
            return set.matches(in: vocabulary.read(words), range: 0..<words.words.count).map { set.tags[$0.pattern] }
        }
        #expect(tags("What's the plan for this meeting?") == [1])
        #expect(tags("whats the plan for today") == [1])
        #expect(tags("what is the plan for the week") == [])
        #expect(tags("Budgeting is hard") == [2])
        #expect(
            Words("Don't we follow-up? Ada's deck, then.").words == ["do", "not", "we", "follow", "up", "ada", "deck", "then"])
    }
}
