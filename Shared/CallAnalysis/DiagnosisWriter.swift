import Foundation
import LanguageModel
import Shared

/// Asks a chat model for a short written account of a diagnosis, for the owner's message and
/// `attache-ops calls show`. Optional: the diagnosis stands without it, so a failure here is
/// an error for the caller to log, never a reason to drop the diagnosis.
public struct DiagnosisWriter: Sendable {
    public static let promptVersion = "diagnosis-writer/1"
    /// Longest written summary kept, in characters.
    public static let longest = 600

    public let model: any ChatModel

    public init(model: any ChatModel) {
        self.model = model
    }

    /// `diagnosis` with `writtenSummary` and `writer` set.
    public func write(_ diagnosis: Diagnosis, call: CallCompleted, verdict: SessionVerdict) async throws -> Diagnosis {
        let answer: String
        do {
            answer = try await model.complete(request(for: diagnosis, call: call, verdict: verdict))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CallAnalysisError.modelFailed(model: model.name, reason: "\(error)")
        }
        let paragraph =
            answer.trimmingCharacters(in: .whitespacesAndNewlines)
            .components(separatedBy: "\n\n").first?
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces) ?? ""
        guard !paragraph.isEmpty else { throw CallAnalysisError.answerEmpty(model: model.name) }
        var written = diagnosis
        written.writtenSummary = paragraph.count > Self.longest ? String(paragraph.prefix(Self.longest - 1)) + "…" : paragraph
        written.writer = model.name
        return written
    }

    public func request(for diagnosis: Diagnosis, call: CallCompleted, verdict: SessionVerdict) -> ChatRequest {
        let system = """
            You explain to a meeting's owner, in two or three plain sentences, why their AI meeting assistant's call \
            went wrong and what would fix it. Use only the findings and transcript given; do not invent causes. \
            No lists, no headings, no preamble.
            """
        var lines = ["Verdict: \(verdict.summary)", "", "Findings (root causes, most telling first):"]
        for cause in diagnosis.rootCauses {
            lines.append("- \(cause.kind.rawValue): \(cause.summary)")
            lines += cause.evidence.prefix(4).map { "    \($0)" }
        }
        if diagnosis.rootCauses.isEmpty { lines.append("- none found") }
        lines += ["", JudgeAnalyser.callText(call)]
        return ChatRequest(
            messages: [ChatMessage(.system, system), ChatMessage(.user, lines.joined(separator: "\n"))], maxTokens: 200,
            temperature: 0.2)
    }
}
