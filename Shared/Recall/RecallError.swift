import Foundation
import Resilience

/// Why Recall.ai did not do what was asked (https://docs.recall.ai/reference/errors). The API key
/// is never in a description.
public enum RecallError: Error, CustomStringConvertible, Equatable {
    /// 400, or a value refused before sending: `field` is Recall's name for it (`meeting_url`,
    /// `automatic_leave.waiting_room_timeout`…), `message` what is wrong with it.
    case invalid(field: String, message: String)
    /// 401 (no valid key) or 403 (Recall's firewall blocked the request): a configuration problem.
    case unauthorized(status: Int)
    /// 404: no such bot in this region's workspace.
    case notFound(String)
    /// 405 on deleting a bot: it was already dispatched to its call, so it must be told to leave.
    case alreadyJoined(botID: String)
    /// 429 still, after waiting as `Retry-After` asked as many times as allowed, or asked to wait
    /// longer than the client waits.
    case rateLimited(retryAfter: Duration?)
    /// 507 still after the retries: the ad-hoc bot pool is empty. Scheduled bots never see this.
    case noBotAvailable(attempts: Int)
    /// 409 still after the retries: a matching request (same idempotency key) is being processed.
    case conflict(attempts: Int)
    case unexpected(status: Int, body: String)
    case malformedResponse(String)

    /// Whether a later try could work; the others need someone to change something.
    public var isTransient: Bool {
        switch self {
        case .rateLimited, .noBotAvailable, .conflict: true
        case .unexpected(let status, _): status >= 500
        default: false
        }
    }

    public var description: String {
        switch self {
        case .invalid(let field, let message): "Recall.ai refused \(field): \(message)"
        case .unauthorized(401):
            "Recall.ai refused the API key (401): check ATTACHE_RECALL_API_KEY, and that ATTACHE_RECALL_REGION is the"
                + " region the key was made in (keys work in one region only)"
        case .unauthorized(let status):
            "Recall.ai blocked the request (\(status)): check ATTACHE_RECALL_API_KEY and ATTACHE_RECALL_REGION; a 403"
                + " is Recall's firewall refusing the payload or this server's address"
        case .notFound(let what): "Recall.ai has no \(what) (404) in this region's workspace"
        case .alreadyJoined(let botID): "bot \(botID) was already sent to its call (405): make it leave the call instead"
        case .rateLimited(let after):
            "Recall.ai is rate limiting (429)" + (after.map { "; it asked to wait \($0.secondsValue) s" } ?? "")
        case .noBotAvailable(let attempts):
            "Recall.ai had no ad-hoc bot available (507) after \(attempts) attempts; schedule bots more than 10"
                + " minutes ahead to avoid this"
        case .conflict(let attempts): "Recall.ai answered 409 (request in progress) after \(attempts) attempts"
        case .unexpected(let status, let body): "Recall.ai answered \(status)" + (body.isEmpty ? "" : ": \(body)")
        case .malformedResponse(let detail): "Recall.ai's answer could not be read: \(detail)"
        }
    }

    /// The first field Recall names in a 400 body, in its forms: `{"meeting_url": ["Invalid
    /// meeting URL"]}`, nested objects (`{"automatic_leave": {"waiting_room_timeout": […]}}`,
    /// named with dots), or `{"code": …, "detail": …}` for a refusal not about one field.
    static func validation(body: [UInt8]) -> RecallError {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .invalid(field: "(request)", message: String(decoding: body.prefix(300), as: UTF8.self))
        }
        if let detail = object["detail"] as? String {
            return .invalid(field: (object["code"] as? String) ?? "(request)", message: detail)
        }
        func first(_ value: Any, path: String) -> RecallError? {
            switch value {
            case let messages as [String]: return .invalid(field: path, message: messages.joined(separator: "; "))
            case let message as String: return .invalid(field: path, message: message)
            case let nested as [String: Any]:
                // Sorted, so that the same body always names the same field.
                for key in nested.keys.sorted() {
                    if let found = first(nested[key]!, path: path.isEmpty ? key : "\(path).\(key)") { return found }
                }
                return nil
            case let list as [Any]:
                for item in list { if let found = first(item, path: path) { return found } }
                return nil
            default: return nil
            }
        }
        return first(object, path: "") ?? .invalid(field: "(request)", message: String(decoding: body.prefix(300), as: UTF8.self))
    }
}
