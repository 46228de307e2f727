import CallAccess
import Crypto
import Foundation
import Shared

/// The camera URL a meeting bot is given: the realtime worker's camera page for the meeting,
/// with a token that admits it until the meeting's planned end plus a grace (calls overrun).
/// Every provider asks here, so that all bots' pages are let in alike.
struct CameraLink: Sendable {
    /// The realtime workers' public address, as the bot's browser reaches them.
    let base: String
    let key: SymmetricKey
    let grace: Duration

    func url(for request: BotJoinRequested) -> String {
        let expiry = request.meetingEnd.addingTimeInterval(TimeInterval(grace.components.seconds))
        let token = CameraToken.mint(meeting: request.meetingID, expiresAt: expiry, key: key)
        return CameraToken.cameraURL(base: base, meeting: request.meetingID, token: token)
    }
}
