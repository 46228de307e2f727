import Foundation
import Shared

/// Reads a completed call and says what people wanted from the agent and whether they got it.
///
/// Implementations are pure with respect to the call: the same call gives the same verdict
/// (the judge, as far as its model is deterministic). A thrown error means there is no verdict
/// (the service marks the session `error` and retries later); a call with nothing to judge is
/// a `skipped` verdict, not an error.
public protocol CallAnalyser: Sendable {
    /// Stored with every verdict ("embedded", "judge").
    var name: String { get }
    func analyse(_ call: CallCompleted) async throws -> SessionVerdict
}

/// Why an analysis or a written diagnosis could not be made, in terms an operator can act on.
public enum CallAnalysisError: Error, CustomStringConvertible, Equatable {
    /// The model could not be asked (unreachable, refused, timed out): worth retrying later.
    case modelFailed(model: String, reason: String)
    /// The judge's answer is not a JSON object.
    case answerNotJSON(model: String, detail: String)
    /// The judge's answer is JSON but breaks the schema or the call's facts: `path` says where
    /// ("intents[1].confidence"), `problem` what.
    case answerInvalid(model: String, path: String, problem: String)
    /// The model answered with nothing usable.
    case answerEmpty(model: String)

    public var description: String {
        switch self {
        case let .modelFailed(model, reason):
            "the model \(model) could not be asked: \(reason)"
        case let .answerNotJSON(model, detail):
            "the model \(model) did not answer with a JSON object (\(detail)); the answer was discarded"
        case let .answerInvalid(model, path, problem):
            "the model \(model) answered with an invalid verdict: \(path): \(problem)"
        case let .answerEmpty(model):
            "the model \(model) answered with nothing"
        }
    }
}
