import Foundation
import Shared

/// Sends a bot into a meeting. Implementations: the local simulated meeting (embedded default);
/// Recall.ai later. Either way, what happens next arrives as webhooks.
protocol MeetingBotProvider: Sendable {
    var name: String { get }
    /// Asks for a bot in the meeting and returns the provider's bot id. Asking again with the
    /// same `idempotencyKey` must return the same bot, not a second one.
    func createBot(for request: BotJoinRequested, idempotencyKey: UUID) async throws -> String
}
