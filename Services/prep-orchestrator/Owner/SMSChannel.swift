import Foundation
import Twilio

/// A text message to the owner's phone (from the tenant's directory) through Twilio: short, the
/// headline and the one link that matters (the prep page, then the agenda), within two segments.
/// An owner without a number, or one who replied STOP, is not texted; the chain goes on.
struct SMSChannel: OwnerChannel {
    let client: TwilioClient
    let directory: OwnerDirectory
    var name: String { "sms" }

    struct NoNumber: Error, CustomStringConvertible {
        var owner: String
        var description: String { "the directory has no phone number for \(owner)" }
    }

    func deliver(_ message: OwnerMessage) async throws {
        guard let phone = try directory.phone(of: message.recipient, tenant: message.tenant) else {
            throw NoNumber(owner: message.recipient)
        }
        _ = try await client.send(to: phone, body: Self.body(message))
    }

    /// Two GSM segments hold 306 characters; the link goes whole, so the headline gives way.
    static func body(_ message: OwnerMessage) -> String {
        guard let link = message.links.first else { return String(message.headline.prefix(300)) }
        let tail = " \(link.label): \(link.url)"
        return String(message.headline.prefix(max(40, 300 - tail.count))) + tail
    }
}
