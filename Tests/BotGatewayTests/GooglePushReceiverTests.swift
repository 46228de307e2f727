import Foundation
import HTTPClient
import Shared
import Synchronization
import TestSupport
import Testing

@testable import BotGateway

@Suite("Google Calendar push receiver (bot-gateway)")
struct GooglePushReceiverTests {
    static let secret = GoogleChannelSecret("correct horse battery staple")
    static let channelID = "f3c0b0de-5d1e-4c3a-9b7e-2f6a1d9c8e70"

    /// Stands in for the database: keeps what would be published, deduplicated as the receipts
    /// table does it (by channel and message number).
    final class MemoryRecorder: GooglePushRecording {
        let published = Mutex<[CalendarPushReceived]>([])
        private let seen = Mutex<Set<String>>([])

        func record(_ push: CalendarPushReceived) async throws -> Bool {
            if let number = push.messageNumber {
                guard seen.withLock({ $0.insert("\(push.channelID)#\(number)").inserted }) else { return false }
            }
            published.withLock { $0.append(push) }
            return true
        }
    }

    @Test("the channel token is the same HMAC calendar-monitor computes (pinned to one vector)")
    func tokenVector() {
        // printf '%s' f3c0b0de-5d1e-4c3a-9b7e-2f6a1d9c8e70 | openssl dgst -sha256 -hmac 'correct horse battery staple'
        let expected = "57a6109a8e5564886c15e1dfe427750617af5a3dd64b8c0d81adc669282bf671"
        #expect(Self.secret.token(channelID: Self.channelID) == expected)
        #expect(Self.secret.verify(token: expected, channelID: Self.channelID))
        #expect(Self.secret.verify(token: expected.uppercased(), channelID: Self.channelID))
        #expect(!Self.secret.verify(token: expected, channelID: "another-channel"))
        #expect(!GoogleChannelSecret("another secret").verify(token: expected, channelID: Self.channelID))
        #expect(!Self.secret.verify(token: String(expected.dropLast(2)), channelID: Self.channelID))
        #expect(!Self.secret.verify(token: "zz" + expected.dropFirst(2), channelID: Self.channelID))
        #expect(!Self.secret.verify(token: nil, channelID: Self.channelID))
        #expect("\(Self.secret)" == "***")
    }

    @Test("POST /webhooks/google-calendar: verified notifications are published once; forged ones get 401")
    func receivesNotifications() async throws {
        let recorder = MemoryRecorder()
        let receiver = GooglePushReceiver(secret: Self.secret, recorder: recorder, logger: TestStack.logger)
        let server = try await FakeServer { router, _ in receiver.register(on: router) }
        defer { server.stop() }
        let http = HTTPClient(retry: .none, logger: TestStack.logger)

        func notify(_ headers: [(String, String)]) async throws -> Int {
            try await http.send(OutboundRequest(method: "POST", url: server.url + GooglePushReceiver.path, headers: headers))
                .status
        }
        func headers(
            channel: String = Self.channelID, token: String? = Self.secret.token(channelID: Self.channelID),
            state: String? = "exists", number: String = "2"
        ) -> [(String, String)] {
            var headers = [
                ("X-Goog-Channel-ID", channel), ("X-Goog-Resource-ID", "resource-primary"),
                ("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json"),
                ("X-Goog-Message-Number", number), ("X-Goog-Channel-Expiration", "Tue, 19 Nov 2030 01:13:52 GMT"),
            ]
            if let token { headers.append(("X-Goog-Channel-Token", token)) }
            if let state { headers.append(("X-Goog-Resource-State", state)) }
            return headers
        }

        #expect(try await notify(headers(state: "sync", number: "1")) == 200)
        #expect(try await notify(headers()) == 200)
        #expect(try await notify(headers()) == 200, "Google's retry of message 2 is acknowledged")
        #expect(try await notify(headers(number: "3")) == 200)
        let published = recorder.published.withLock { $0 }
        #expect(published.map(\.messageNumber) == [1, 2, 3], "message 2 once")
        #expect(published.map(\.resourceState) == ["sync", "exists", "exists"])
        #expect(
            published.allSatisfy {
                $0.provider == "google" && $0.channelID == Self.channelID && $0.resourceID == "resource-primary"
            })

        #expect(try await notify(headers(token: nil)) == 401)
        #expect(try await notify(headers(token: GoogleChannelSecret("another secret").token(channelID: Self.channelID))) == 401)
        #expect(
            try await notify(headers(channel: "another-channel", number: "9")) == 401, "a token is only good for its own channel")
        #expect(try await notify(headers(state: nil, number: "10")) == 400)
        #expect(recorder.published.withLock { $0.count } == 3)
    }
}
