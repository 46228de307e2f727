import Logging
import Synchronization

/// A verified, read webhook on its way to the database.
struct ReceivedWebhook: Sendable {
    var id: String
    var event: String
    var body: String
    var meaning: RecallWebhook.Meaning
}

/// Group commit for webhooks: a request hands its webhook over and waits; webhooks that arrive
/// while a transaction is committing wait together and go in the next one, up to
/// `largestBatch` a transaction and `commitsAtOnce` transactions at a time. A burst then costs
/// a transaction (and a disk flush) per batch rather than per webhook, and each request is
/// still answered only once its webhook's effects are committed.
///
/// When a batch's transaction fails, each of its webhooks is committed again alone, in order,
/// so that one that cannot be stored fails by itself and its batch-mates are recorded.
final class WebhookBatcher: Sendable {
    struct Settings: Sendable {
        var largestBatch = 128
        var commitsAtOnce = 2
    }

    typealias Outcome = WebhookReceiver.Outcome
    /// Records webhooks in one transaction: each one's outcome, or UnknownBot for one left out.
    typealias Commit = @Sendable ([ReceivedWebhook]) async throws -> [Result<Outcome, UnknownBot>]

    private struct Waiting: Sendable {
        var webhook: ReceivedWebhook
        var continuation: CheckedContinuation<Outcome, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var committing = 0
    }

    private let settings: Settings
    private let store: Commit
    private let logger: Logger
    private let state = Mutex(State())

    init(settings: Settings = Settings(), logger: Logger, commit: @escaping Commit) {
        precondition(settings.largestBatch > 0 && settings.commitsAtOnce > 0, "a batcher commits something")
        self.settings = settings
        self.logger = logger
        store = commit
    }

    /// Webhooks handed over and not yet in a transaction: for tests.
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Returns once the webhook is committed (or found to be a duplicate); throws UnknownBot for
    /// a webhook about a bot without a row, which is then kept nowhere.
    func record(_ webhook: ReceivedWebhook) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let startCommitting = state.withLock { state in
                state.waiting.append(Waiting(webhook: webhook, continuation: continuation))
                guard state.committing < settings.commitsAtOnce else { return false }
                state.committing += 1
                return true
            }
            // Unstructured: the committer outlives the request that started it, taking the
            // webhooks of later requests until none wait.
            if startCommitting { Task { await self.commitWhileWaiting() } }
        }
    }

    private func commitWhileWaiting() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let batch = Array(state.waiting.prefix(settings.largestBatch))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.committing -= 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Waiting]) async {
        do {
            let results = try await store(batch.map(\.webhook))
            precondition(results.count == batch.count, "a commit answers for every webhook of its batch")
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(with: result) }
            return
        } catch let error where batch.count == 1 {
            batch[0].continuation.resume(throwing: error)
            return
        } catch {
            logger.warning(
                "a batch of webhooks failed; committing each alone",
                metadata: ["webhooks": "\(batch.count)", "error": "\(error)"])
        }
        for waiting in batch {
            do {
                let results = try await store([waiting.webhook])
                waiting.continuation.resume(with: results[0])
            } catch {
                waiting.continuation.resume(throwing: error)
            }
        }
    }
}
