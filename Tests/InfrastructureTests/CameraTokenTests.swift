import CallAccess
import Crypto
import Foundation
import Testing

@Suite("Camera tokens")
struct CameraTokenTests {
    let key = SymmetricKey(size: .bits256)
    let meeting = UUID()
    let end = Date(timeIntervalSince1970: 1_796_900_400)

    @Test("a token is accepted for its meeting until its expiry")
    func valid() throws {
        let token = CameraToken.mint(meeting: meeting, expiresAt: end, key: key)
        try CameraToken.verify(token, meeting: meeting, now: end.addingTimeInterval(-7200), key: key)
        try CameraToken.verify(token, meeting: meeting, now: end.addingTimeInterval(-1), key: key)
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "safe in a query as is")
    }

    @Test("a token for another meeting, or under another key, is invalid")
    func wrongMeetingOrKey() {
        let token = CameraToken.mint(meeting: meeting, expiresAt: end, key: key)
        #expect(throws: CameraTokenError.invalid) {
            try CameraToken.verify(token, meeting: UUID(), now: end.addingTimeInterval(-60), key: key)
        }
        #expect(throws: CameraTokenError.invalid) {
            try CameraToken.verify(token, meeting: meeting, now: end.addingTimeInterval(-60), key: SymmetricKey(size: .bits256))
        }
    }

    @Test("a tampered token is refused, whichever byte changed, and a later expiry cannot be written in")
    func tampered() throws {
        let token = CameraToken.mint(meeting: meeting, expiresAt: end, key: key)
        for index in token.indices {
            var changed = token
            changed.replaceSubrange(index...index, with: token[index] == "A" ? "B" : "A")
            #expect(throws: CameraTokenError.self) {
                try CameraToken.verify(changed, meeting: meeting, now: end.addingTimeInterval(-60), key: key)
            }
        }
        // The expiry of a token for a year later, with this token's MAC: invalid, not accepted.
        let later = CameraToken.mint(meeting: meeting, expiresAt: end.addingTimeInterval(365 * 86400), key: key)
        let spliced = String(later.prefix(10)) + token.dropFirst(10)
        #expect(throws: CameraTokenError.invalid) {
            try CameraToken.verify(spliced, meeting: meeting, now: end.addingTimeInterval(60), key: key)
        }
        #expect(throws: CameraTokenError.malformed) {
            try CameraToken.verify("not/a+token==", meeting: meeting, now: end, key: key)
        }
    }

    @Test("a token is expired from its expiry on, by the clock given")
    func expired() {
        let token = CameraToken.mint(meeting: meeting, expiresAt: end, key: key)
        #expect(throws: CameraTokenError.expired) { try CameraToken.verify(token, meeting: meeting, now: end, key: key) }
        #expect(throws: CameraTokenError.expired) {
            try CameraToken.verify(token, meeting: meeting, now: end.addingTimeInterval(3600), key: key)
        }
    }

    @Test("no token, or an empty one, is missing")
    func missing() {
        #expect(throws: CameraTokenError.missing) { try CameraToken.verify(nil, meeting: meeting, now: end, key: key) }
        #expect(throws: CameraTokenError.missing) { try CameraToken.verify("", meeting: meeting, now: end, key: key) }
    }

    @Test("the key is base64 of 32 bytes or more; the camera URL carries the meeting and the token")
    func keyAndURL() {
        #expect(CameraToken.key(base64: Data(count: 31).base64EncodedString()) == nil)
        #expect(CameraToken.key(base64: "not base64") == nil)
        #expect(CameraToken.key(base64: Data(count: 32).base64EncodedString()) != nil)
        let meeting = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!
        #expect(
            CameraToken.cameraURL(base: "https://rt.example.com/", meeting: meeting, token: "abc_-")
                == "https://rt.example.com/camera/6f9619ff-8b86-d011-b42d-00c04fc964ff?token=abc_-")
    }
}
