import Foundation
import Shared

/// Sends a bot into a meeting. Implementations: the local simulated meeting (embedded default)
/// and Recall.ai. Either way, what happens next arrives as webhooks.
protocol MeetingBotProvider: Sendable {
    var name: String { get }
    /// Asks for a bot in the meeting, joining at the request's `joinAt`, and returns the
    /// provider's bot id. Asking again with the same `idempotencyKey` must return the same bot,
    /// not a second one.
    func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String
    /// Calls a bot off: one not in the call yet is deleted, one in the call is asked to leave.
    /// A bot the provider no longer knows counts as gone.
    func removeBot(_ botID: String, inCall: Bool) async throws
    /// What the finished call left: the provider's transcript and the recording's download
    /// link; nil while the provider is still processing them.
    func artifacts(of botID: String) async throws -> BotArtifacts?
}

struct BotArtifacts: Sendable, Equatable {
    var transcript: [BotArtifactsReady.Segment]
    var recordingURL: String?
}
