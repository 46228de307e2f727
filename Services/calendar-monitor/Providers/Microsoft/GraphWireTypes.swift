import Foundation

extension MicrosoftGraphProvider {
    /// One page of a delta round.
    struct DeltaPage: Decodable {
        var value: [GraphEvent]
        var nextLink: String?
        var deltaLink: String?

        enum CodingKeys: String, CodingKey {
            case value
            case nextLink = "@odata.nextLink"
            case deltaLink = "@odata.deltaLink"
        }
    }

    /// The parts of Graph's `event` resource that a meeting needs
    /// (https://learn.microsoft.com/en-us/graph/api/resources/event). A removed instance has only
    /// `id` and `@removed`.
    struct GraphEvent: Decodable, Sendable {
        struct Removed: Decodable, Sendable { var reason: String? }
        struct Body: Decodable, Sendable {
            var contentType: String?
            var content: String?
        }
        struct Location: Decodable, Sendable { var displayName: String? }
        struct EmailAddress: Decodable, Sendable {
            var name: String?
            var address: String?
        }
        struct Recipient: Decodable, Sendable { var emailAddress: EmailAddress? }
        struct ResponseStatus: Decodable, Sendable { var response: String? }
        struct AttendeeEntry: Decodable, Sendable {
            var type: String?
            var status: ResponseStatus?
            var emailAddress: EmailAddress?
        }
        struct OnlineMeeting: Decodable, Sendable { var joinUrl: String? }

        var id: String
        var removed: Removed?
        var type: String?
        var subject: String?
        var body: Body?
        var bodyPreview: String?
        var location: Location?
        var locations: [Location]?
        var start: GraphDateTime?
        var end: GraphDateTime?
        var isAllDay: Bool?
        var isCancelled: Bool?
        var showAs: String?
        var organizer: Recipient?
        var attendees: [AttendeeEntry]?
        var onlineMeeting: OnlineMeeting?
        var onlineMeetingUrl: String?

        enum CodingKeys: String, CodingKey {
            case id, type, subject, body, bodyPreview, location, locations, start, end, isAllDay, isCancelled, showAs, organizer,
                attendees, onlineMeeting, onlineMeetingUrl
            case removed = "@removed"
        }
    }

    /// Graph's `dateTimeTimeZone`.
    struct GraphDateTime: Decodable, Sendable {
        var dateTime: String
        var timeZone: String?
    }

    /// Graph's error body: `{"error": {"code": "…", "message": "…"}}`.
    struct GraphErrorResponse: Decodable {
        struct Detail: Decodable {
            var code: String?
            var message: String?
        }
        var error: Detail
    }
}
