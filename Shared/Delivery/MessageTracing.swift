import Bus
import Shared
import Telemetry
import Tracing

/// Spans for the bus, after OpenTelemetry's messaging conventions: a CONSUMER span per handled
/// message, a PRODUCER `create` span per event written to an outbox (its context is what the
/// envelope's `traceparent` carries: the message's creation context), and a PRODUCER `send` span
/// per event the relay publishes. Only called when `Telemetry.isTracing`.
enum MessageTracing {
    /// Just the field spans need, read again from the body only when tracing.
    private struct Creation: Decodable {
        var traceparent: String?
    }

    /// The context the envelope in `body` was created in, if it carries a readable one.
    static func creationContext(of body: [UInt8]) -> ServiceContext? {
        guard let traceparent = (try? MessageCoding.decode(Creation.self, from: body))?.traceparent else { return nil }
        return creationContext(traceparent)
    }

    static func creationContext(_ traceparent: String) -> ServiceContext? {
        guard TraceContext(parsing: traceparent) != nil else { return nil }
        return Telemetry.context(continuing: traceparent)
    }

    /// A CONSUMER span for handling `message` from `queue`: in the message's trace, a child of its
    /// creation context and linked to it, as the conventions ask of a `process` span.
    static func startProcessing(_ message: InboundMessage, header: EnvelopeHeader?, queue: String) -> any Span {
        let creation = creationContext(of: message.body)
        let span = startSpan("process \(queue)", context: creation ?? .topLevel, ofKind: .consumer)
        if let creation { span.addLink(SpanLink(context: creation, attributes: [:])) }
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.messagingSystem] = SemanticAttributes.rabbitmq
            attributes[SemanticAttributes.messagingOperationType] = "process"
            attributes[SemanticAttributes.messagingOperationName] = "process"
            attributes[SemanticAttributes.messagingConsumerGroup] = queue
            // A retried message comes back from its delay queue through the default exchange:
            // what it was first published with is in the header the consumer keeps.
            let original = message.headers[DeliveryHeader.originalRoutingKey]?.description
            attributes[SemanticAttributes.messagingDestinationName] = original == nil ? message.exchange : nil
            attributes[SemanticAttributes.messagingRoutingKey] = original ?? message.routingKey
            if let header {
                attributes[SemanticAttributes.messagingMessageID] = header.id.uuidString.lowercased()
                attributes[SemanticAttributes.messagingConversationID] = header.correlationID.uuidString.lowercased()
                attributes["attache.message.type"] = header.type.description
            } else if let id = message.messageID {
                attributes[SemanticAttributes.messagingMessageID] = id
            }
        }
        return span
    }

    /// One CONSUMER span for messages a batch handler takes at once: linked to every message's
    /// creation context (they are in different traces), as the conventions ask of batch receipt.
    static func startProcessing(batch: [(InboundMessage, EnvelopeHeader)], type: MessageType, queue: String) -> any Span {
        let span = startSpan("process \(queue)", context: .topLevel, ofKind: .consumer)
        for (message, _) in batch {
            if let creation = creationContext(of: message.body) { span.addLink(SpanLink(context: creation, attributes: [:])) }
        }
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.messagingSystem] = SemanticAttributes.rabbitmq
            attributes[SemanticAttributes.messagingOperationType] = "process"
            attributes[SemanticAttributes.messagingOperationName] = "process"
            attributes[SemanticAttributes.messagingConsumerGroup] = queue
            attributes[SemanticAttributes.messagingRoutingKey] = type.routingKey
            attributes[SemanticAttributes.messagingBatchCount] = batch.count
            attributes["attache.message.type"] = type.description
        }
        return span
    }

    /// Runs `body` in `span` (just runs it without one): spans started inside are its children,
    /// events created inside name it as their parent, and an error it throws marks the span failed.
    static func within<T>(
        _ span: (any Span)?, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        guard let span else { return try await body() }
        do {
            return try await ServiceContext.withValue(span.context) {
                try await Telemetry.withCurrent(span, body)
            }
        } catch {
            failed(span, error)
            throw error
        }
    }

    static func failed(_ span: (any Span)?, _ error: any Error) {
        guard let span else { return }
        span.recordError(error)
        span.setStatus(SpanStatus(code: .error, message: "\(type(of: error))"))
        span.attributes[SemanticAttributes.errorType] = "\(type(of: error))"
    }

    /// The PRODUCER `create` span of an event written to an outbox, ended at once; returns the
    /// envelope's new `traceparent` (the span's own context), or nil to keep the one it has.
    static func created(messageID: String, routingKey: String, traceparent: String, correlationID: String) -> String? {
        guard let parent = creationContext(traceparent) else { return nil }
        let span = startSpan("create \(routingKey)", context: parent, ofKind: .producer)
        defer { span.end() }
        // An event created in a span of another trace (a calendar sync, a webhook) is linked to it.
        if let active = ServiceContext.current, let activeHeader = Telemetry.traceparent(of: active),
            TraceContext(parsing: activeHeader)?.traceID != TraceContext(parsing: traceparent)?.traceID
        {
            span.addLink(SpanLink(context: active, attributes: [:]))
        }
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.messagingSystem] = SemanticAttributes.rabbitmq
            attributes[SemanticAttributes.messagingOperationType] = "create"
            attributes[SemanticAttributes.messagingOperationName] = "create"
            attributes[SemanticAttributes.messagingRoutingKey] = routingKey
            attributes[SemanticAttributes.messagingMessageID] = messageID
            attributes[SemanticAttributes.messagingConversationID] = correlationID
        }
        return Telemetry.traceparent(of: span.context)
    }

    /// The PRODUCER `send` span of one event the relay publishes: a child of its creation context.
    static func startSending(_ message: OutgoingMessage) -> any Span {
        let span = startSpan(
            "send \(message.exchange)", context: creationContext(of: message.body) ?? .topLevel, ofKind: .producer)
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.messagingSystem] = SemanticAttributes.rabbitmq
            attributes[SemanticAttributes.messagingOperationType] = "send"
            attributes[SemanticAttributes.messagingOperationName] = "send"
            attributes[SemanticAttributes.messagingDestinationName] = message.exchange
            attributes[SemanticAttributes.messagingRoutingKey] = message.routingKey
            attributes[SemanticAttributes.messagingMessageID] = message.messageID
        }
        return span
    }
}
