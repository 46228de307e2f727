import CallAccess
import Crypto
import Foundation
import Runtime
import Shared
import Testing

@testable import BotGateway

@Suite("Camera link")
struct CameraLinkTests {
    @Test("a bot's camera URL is the realtime worker's page for its meeting, with a token valid until the end plus the grace")
    func cameraURL() throws {
        let key = SymmetricKey(size: .bits256)
        let end = Date(timeIntervalSince1970: 1_796_900_400)
        let request = BotJoinRequested(
            meetingID: UUID(), workflowID: UUID(), meetingURL: nil, botName: "Attaché", meetingTitle: "Standup",
            meetingStart: end.addingTimeInterval(-1800), meetingEnd: end)
        let url = CameraLink(base: "https://rt.example.com/", key: key, grace: .seconds(7200)).url(for: request)
        let components = try #require(URLComponents(string: url))
        #expect(components.host == "rt.example.com")
        #expect(components.path == "/camera/\(request.meetingID.uuidString.lowercased())")
        let token = try #require(components.queryItems?.first { $0.name == "token" }?.value)
        try CameraToken.verify(token, meeting: request.meetingID, now: end.addingTimeInterval(7199), key: key)
        #expect(throws: CameraTokenError.expired) {
            try CameraToken.verify(token, meeting: request.meetingID, now: end.addingTimeInterval(7200), key: key)
        }
    }

    @Test("the key is shared through configuration, and required once a camera page can be reached")
    func configuration() throws {
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let configured = try GatewayConfiguration(
            Environment(["ATTACHE_CAMERA_TOKEN_KEY": key, "ATTACHE_SIMULATED_CAMERA_REALTIME_URL": "http://127.0.0.1:9085"]))
        #expect(configured.cameraPageURL == "http://127.0.0.1:9085")
        #expect(configured.cameraTokenGrace == .seconds(7200))
        let request = BotJoinRequested(
            meetingID: UUID(), workflowID: UUID(), meetingURL: nil, botName: "Attaché", meetingTitle: "Standup",
            meetingStart: Date(), meetingEnd: Date().addingTimeInterval(60))
        let token = try #require(URLComponents(string: configured.cameraLink.url(for: request))?.queryItems?.first?.value)
        try CameraToken.verify(token, meeting: request.meetingID, now: Date(), key: try #require(CameraToken.key(base64: key)))

        #expect(throws: ConfigurationError.self) {
            try GatewayConfiguration(Environment(["ATTACHE_SIMULATED_CAMERA_REALTIME_URL": "http://127.0.0.1:9085"]))
        }
        _ = try GatewayConfiguration(Environment([:]))  // the embedded defaults: no camera, no key needed
    }
}
