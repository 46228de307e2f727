import Foundation
import Resilience

/// The preparation workflow's steps: the design's Step Functions states.
enum StepName: String, Sendable, CaseIterable, Codable {
    case loadMeeting = "load_meeting"
    case gatherContext = "gather_context"
    case sendPrepNotification = "send_prep_notification"
    case waitForOwner = "wait_for_owner"
    case generateMaterials = "generate_materials"
    case storeMaterials = "store_materials"
    case sendMaterials = "send_materials"
    case scheduleReminder = "schedule_reminder"
    case sendReminder = "send_reminder"
    case notifyCancellation = "notify_cancellation"
    case requestBotJoin = "request_bot_join"
    /// Not in the main line: a message a channel reported undelivered goes on to the next one.
    case continueDelivery = "continue_delivery"
    /// Not in the main line: bot-gateway reported a problem with the meeting's bot.
    case notifyBotProblem = "notify_bot_problem"
    /// Not in the main line: monitoring-worker found that the agent failed the meeting's call.
    case notifyCallReview = "notify_call_review"

    /// How far into a workflow the step is (its place in the definition).
    var stage: Int { Self.allCases.firstIndex(of: self)! }
}

/// How often a step is tried, and how far apart: the delay before retry n is drawn at random
/// between zero and `interval × backoffRate^(n-1)`, capped at `maximumDelay` ("full jitter", so
/// that replicas retrying the same dependency spread out).
struct RetryPolicy: Sendable {
    var attempts: Int
    var interval: Duration
    var backoffRate: Double
    var maximumDelay: Duration

    func delay(beforeRetry retry: Int) -> Duration {
        let ceiling = Backoff(initial: interval, maximum: maximumDelay, multiplier: backoffRate).ceiling(forAttempt: retry)
        return .nanoseconds(Int64(Double.random(in: 0...ceiling.secondsValue) * 1e9))
    }

    static let standard = RetryPolicy(attempts: 5, interval: .seconds(2), backoffRate: 2, maximumDelay: .seconds(300))
    /// Steps that only touch the database: a failure is a bug or an outage, not worth long waits.
    static let local = RetryPolicy(attempts: 8, interval: .seconds(1), backoffRate: 2, maximumDelay: .seconds(600))
}

/// Version 1 of the workflow. A workflow records the version it started under and finishes on
/// it; a change to the steps' order or meaning is a new version, and both run side by side.
enum WorkflowDefinition {
    static let version = 1

    static func retry(_ step: StepName) -> RetryPolicy {
        switch step {
        case .loadMeeting, .scheduleReminder, .waitForOwner: .local
        default: .standard
        }
    }

    /// Where a step that has used up its attempts leads: the workflow goes on where it still
    /// can, and says what is missing.
    static func failurePath(_ step: StepName) -> StepName? {
        switch step {
        // Nobody could be asked: prepare from the context alone.
        case .sendPrepNotification: .generateMaterials
        // The materials exist even if the message about them was lost: the reminder still comes.
        case .sendMaterials: .scheduleReminder
        case .loadMeeting, .gatherContext, .waitForOwner, .generateMaterials, .storeMaterials, .scheduleReminder,
            .sendReminder, .notifyCancellation, .requestBotJoin, .continueDelivery,
            .notifyBotProblem, .notifyCallReview:
            nil
        }
    }
}
