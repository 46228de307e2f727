import CallAccess
import Crypto
import Foundation
import Hummingbird
import Logging

/// Lets only the bearer of a call's camera token near the call: its page, where it lives, its
/// media. The answer never depends on whether the meeting is live, so ids cannot be probed:
/// no token is 401, any other refusal (wrong meeting, tampered, expired, not a meeting id) 403.
struct CameraGate: Sendable {
    let key: SymmetricKey
    let logger: Logger

    /// The meeting the request may reach, or the refusal to answer with.
    func admit(_ request: Request, meeting raw: String?) -> Result<UUID, HTTPError> {
        let token = request.uri.queryParameters.get("token")
        guard let token, !token.isEmpty else {
            return .failure(HTTPError(.unauthorized, message: "a camera token is required"))
        }
        do throws(CameraTokenError) {
            guard let meeting = raw.flatMap(UUID.init(uuidString:)) else { throw .invalid }
            try CameraToken.verify(token, meeting: meeting, now: Date(), key: key)
            return .success(meeting)
        } catch {
            // The reason for the operator, never the token.
            logger.info("camera token refused", metadata: ["path": "\(request.uri.path)", "reason": "\(error)"])
            return .failure(HTTPError(.forbidden, message: "the camera token is not valid for this meeting"))
        }
    }
}
