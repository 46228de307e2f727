import Foundation

extension CameraToken {
    /// The address the bot's browser loads as its camera: `{base}/camera/{meeting}?token=…`,
    /// `base` being the realtime worker's public address (a trailing slash is dropped).
    public static func cameraURL(base: String, meeting: UUID, token: String) -> String {
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        // base64url needs no escaping in a query.
        return "\(trimmed)/camera/\(meeting.uuidString.lowercased())?token=\(token)"
    }
}
