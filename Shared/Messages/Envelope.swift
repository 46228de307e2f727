import Foundation

/// A message type with its schema version, written `meeting.classified.v1` on the wire. The
/// routing key is the name without the version, so that a consumer bound to a name receives
/// every version and can park the ones it does not understand instead of never seeing them.
public struct MessageType: Hashable, Sendable, Codable, CustomStringConvertible {
    public let name: String
    public let version: Int

    public init(_ name: String, version: Int) {
        self.name = name
        self.version = version
    }

    public init?(parsing text: String) {
        guard let dot = text.lastIndex(of: "."), text[text.index(after: dot)...].hasPrefix("v"),
            let version = Int(text[text.index(dot, offsetBy: 2)...]), version > 0
        else { return nil }
        self.init(String(text[..<dot]), version: version)
    }

    public var description: String { "\(name).v\(version)" }
    public var routingKey: String { name }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = MessageType(parsing: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\(text) is not a versioned type like name.v1"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The body of an event, tied to exactly one message type.
public protocol EventPayload: Codable, Sendable, Equatable {
    static var messageType: MessageType { get }
}

/// Every message on the bus. `id` is unique per event and is what consumers deduplicate on;
/// `correlation_id` follows one meeting's story across services; `causation_id` names the
/// message that caused this one.
public struct Envelope<Payload: EventPayload>: Codable, Sendable, Equatable {
    public var id: UUID
    public var type: MessageType
    public var occurredAt: Date
    public var tenantID: String
    public var correlationID: UUID
    public var causationID: UUID?
    public var traceparent: String
    public var payload: Payload

    enum CodingKeys: String, CodingKey {
        case id, type, payload, traceparent
        case occurredAt = "occurred_at"
        case tenantID = "tenant_id"
        case correlationID = "correlation_id"
        case causationID = "causation_id"
    }

    public init(
        id: UUID = UUID(), occurredAt: Date = Date(), tenantID: String, correlationID: UUID, causationID: UUID? = nil,
        traceparent: String? = nil, payload: Payload
    ) {
        self.id = id
        self.type = Payload.messageType
        self.occurredAt = occurredAt
        self.tenantID = tenantID
        self.correlationID = correlationID
        self.causationID = causationID
        self.traceparent = traceparent ?? TraceContext.story(correlationID).traceparent
        self.payload = payload
    }

    /// A new event caused by `cause`: same tenant, same correlation, same trace; its parent is the
    /// span handling `cause` when traces are exported, else a new hop.
    public init<Cause>(_ payload: Payload, causedBy cause: Envelope<Cause>, occurredAt: Date = Date()) {
        self.init(
            occurredAt: occurredAt, tenantID: cause.tenantID, correlationID: cause.correlationID, causationID: cause.id,
            traceparent: (TraceContext.continuing(cause.traceparent) ?? TraceContext.story(cause.correlationID)).traceparent,
            payload: payload)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(MessageType.self, forKey: .type)
        guard type == Payload.messageType else {
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container, debugDescription: "expected \(Payload.messageType), found \(type)")
        }
        self.type = type
        id = try container.decode(UUID.self, forKey: .id)
        occurredAt = try container.decode(Date.self, forKey: .occurredAt)
        tenantID = try container.decode(String.self, forKey: .tenantID)
        correlationID = try container.decode(UUID.self, forKey: .correlationID)
        causationID = try container.decodeIfPresent(UUID.self, forKey: .causationID)
        traceparent = try container.decode(String.self, forKey: .traceparent)
        payload = try container.decode(Payload.self, forKey: .payload)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encode(tenantID, forKey: .tenantID)
        try container.encode(correlationID, forKey: .correlationID)
        try container.encodeIfPresent(causationID, forKey: .causationID)
        try container.encode(traceparent, forKey: .traceparent)
        try container.encode(payload, forKey: .payload)
    }
}

/// The envelope fields read before the payload's type is known: enough to route, deduplicate
/// and park a message whose payload turns out to be unreadable.
public struct EnvelopeHeader: Decodable, Sendable {
    public var id: UUID
    public var type: MessageType
    public var tenantID: String
    public var correlationID: UUID

    enum CodingKeys: String, CodingKey {
        case id, type
        case tenantID = "tenant_id"
        case correlationID = "correlation_id"
    }
}
