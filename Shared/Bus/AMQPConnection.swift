import CRabbitMQ
import Foundation

/// One librabbitmq connection with one channel. librabbitmq is not thread-safe, so an instance
/// is created, used and destroyed by exactly one thread (see `BrokerThread`); it is deliberately
/// not Sendable.
final class AMQPConnection {
    static let channel: amqp_channel_t = 1

    private let state: amqp_connection_state_t
    let endpoint: String
    private(set) var isOpen = false
    /// The deliveries of a consumer mostly repeat one exchange and one routing key: kept to
    /// spare a String allocation per delivery.
    private var recentExchange = RecentString()
    private var recentRoutingKey = RecentString()

    /// Connects to the first node of `configuration.addresses` that answers, in the order given:
    /// with a cluster's nodes listed, a client whose node died reconnects through another.
    static func open(configuration: AMQPConfiguration, name: String) throws(BusError) -> AMQPConnection {
        var failures: [String] = []
        for address in configuration.addresses {
            do { return try AMQPConnection(configuration: configuration, address: address, name: name) } catch {
                guard configuration.alternates.isEmpty else {
                    failures.append("\(address): \(error)")
                    continue
                }
                throw error
            }
        }
        throw .cannotConnect(
            endpoint: configuration.description, reason: "no node answered (\(failures.joined(separator: "; ")))")
    }

    private init(configuration: AMQPConfiguration, address: AMQPConfiguration.Address, name: String) throws(BusError) {
        var single = configuration
        (single.host, single.port, single.alternates) = (address.host, address.port, [])
        endpoint = single.description
        guard let state = amqp_new_connection() else {
            throw .cannotConnect(endpoint: endpoint, reason: "out of memory")
        }
        // From here on every stored property is set, so a throw still runs `deinit`, which
        // destroys the state: the failure paths below must not destroy it a second time.
        self.state = state
        guard let socket = amqp_tcp_socket_new(state) else {
            throw .cannotConnect(endpoint: endpoint, reason: "cannot create a socket")
        }
        var timeout = timeval(duration: configuration.connectTimeout)
        let status = amqp_socket_open_noblock(socket, address.host, Int32(address.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw .cannotConnect(endpoint: endpoint, reason: String(cString: amqp_error_string2(status)))
        }
        let login = attache_amqp_login_plain(
            state, configuration.virtualHost, 0, 131_072, Int32(configuration.heartbeatSeconds), name,
            configuration.user, configuration.password)
        if let problem = Self.problem(in: login) {
            throw .cannotConnect(endpoint: endpoint, reason: "login failed: \(problem)")
        }
        amqp_channel_open(state, Self.channel)
        if let problem = Self.problem(in: amqp_get_rpc_reply(state)) {
            throw .cannotConnect(endpoint: endpoint, reason: "cannot open a channel: \(problem)")
        }
        isOpen = true
    }

    deinit {
        if isOpen {
            amqp_channel_close(state, Self.channel, Int32(AMQP_REPLY_SUCCESS))
            amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        amqp_destroy_connection(state)
    }

    /// Closes politely. Safe to skip: destroying an open connection just drops the socket.
    func close() {
        guard isOpen else { return }
        isOpen = false
        amqp_channel_close(state, Self.channel, Int32(AMQP_REPLY_SUCCESS))
        amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
    }

    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// Whether frames are already buffered in librabbitmq, so that waiting on the socket would
    /// miss them.
    var hasBufferedInput: Bool { amqp_data_in_buffer(state) != 0 || amqp_frames_enqueued(state) != 0 }

    /// Runs `body` with C copies of `strings` that stay valid for the whole call.
    /// (`amqp_cstring_bytes(swiftString)` would point into a buffer freed before librabbitmq reads it.)
    private func withBytes<R>(_ strings: String..., body: ([amqp_bytes_t]) -> R) -> R {
        var arena = CStringArena()
        defer { arena.release() }
        return body(strings.map { arena.bytes($0) })
    }

    // MARK: Topology

    func declare(_ topology: Topology) throws(BusError) {
        for exchange in topology.exchanges {
            _ = withTable(exchange.arguments) { arguments in
                withBytes(exchange.name, exchange.kind.rawValue) { names in
                    amqp_exchange_declare(state, Self.channel, names[0], names[1], 0, 1, 0, 0, arguments)
                }
            }
            try checkReply("declaring exchange \(exchange.name)")
        }
        for queue in topology.queues {
            _ = withTable(queue.arguments) { arguments in
                withBytes(queue.name) { amqp_queue_declare(state, Self.channel, $0[0], 0, 1, 0, 0, arguments) }
            }
            try checkReply("declaring queue \(queue.name)")
        }
        for binding in topology.bindings {
            _ = withBytes(binding.queue, binding.exchange, binding.routingKey) { names in
                amqp_queue_bind(state, Self.channel, names[0], names[1], names[2], amqp_empty_table)
            }
            try checkReply("binding \(binding.queue) to \(binding.exchange) with \(binding.routingKey)")
        }
    }

    /// Deletes a queue and what it holds: for tests and benchmarks that create their own.
    func deleteQueue(_ name: String) throws(BusError) {
        _ = withBytes(name) { amqp_queue_delete(state, Self.channel, $0[0], 0, 0) }
        try checkReply("deleting queue \(name)")
    }

    /// The messages waiting in `queue` and the consumers on it (a passive declare: a missing
    /// queue is refused with 404 and closes the channel).
    func counts(queue: String) throws(BusError) -> (messages: Int, consumers: Int) {
        let reply = withBytes(queue) { names in
            amqp_queue_declare(state, Self.channel, names[0], 1, 0, 0, 0, amqp_empty_table)?.pointee
        }
        try checkReply("inspecting queue \(queue)")
        return (Int(reply?.message_count ?? 0), Int(reply?.consumer_count ?? 0))
    }

    func messageCount(queue: String) throws(BusError) -> Int {
        let count = withBytes(queue) { names in
            amqp_queue_declare(state, Self.channel, names[0], 1, 0, 0, 0, amqp_empty_table)?.pointee.message_count
        }
        try checkReply("inspecting queue \(queue)")
        return Int(count ?? 0)
    }

    // MARK: Publishing

    func enablePublisherConfirms() throws(BusError) {
        amqp_confirm_select(state, Self.channel)
        try checkReply("enabling publisher confirms")
    }

    func publish(_ message: OutgoingMessage) throws(BusError) {
        // The names are borrowed for the duration of the call (amqp_basic_publish encodes and
        // writes them before it returns), without copies: this runs once per message.
        var exchange = message.exchange
        var routingKey = message.routingKey
        let status = message.body.withUnsafeBytes { body in
            withProperties(of: message) { properties in
                exchange.withUTF8 { exchange in
                    routingKey.withUTF8 { routingKey in
                        amqp_basic_publish(
                            state, Self.channel, amqp_bytes_t(borrowing: exchange), amqp_bytes_t(borrowing: routingKey),
                            message.mandatory ? 1 : 0, 0, properties, amqp_bytes_t(borrowing: body))
                    }
                }
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            isOpen = false
            throw .connectionLost(
                operation: "publishing to \(message.routingKey)", reason: String(cString: amqp_error_string2(status)))
        }
    }

    // MARK: Consuming

    func setPrefetch(_ count: UInt16) throws(BusError) {
        amqp_basic_qos(state, Self.channel, 0, count, 0)
        try checkReply("setting prefetch to \(count)")
    }

    func startConsuming(queue: String, consumerTag: String) throws(BusError) {
        _ = withBytes(queue, consumerTag) { names in
            amqp_basic_consume(state, Self.channel, names[0], names[1], 0, 0, 0, amqp_empty_table)
        }
        try checkReply("consuming from \(queue)")
    }

    /// Asks the broker to stop delivering; it answers with basic.cancel-ok, seen as a frame.
    func requestCancel(consumerTag: String) throws(BusError) {
        let status = withBytes(consumerTag) { names in
            var cancel = amqp_basic_cancel_t(consumer_tag: names[0], nowait: 0)
            return amqp_send_method(state, Self.channel, ATTACHE_BASIC_CANCEL_METHOD, &cancel)
        }
        try check(status, "cancelling consumer")
    }

    func settle(deliveryTag: UInt64, multiple: Bool = false, outcome: Settlement) throws(BusError) {
        let status =
            switch outcome {
            case .ack: amqp_basic_ack(state, Self.channel, deliveryTag, multiple ? 1 : 0)
            case .requeue: amqp_basic_nack(state, Self.channel, deliveryTag, multiple ? 1 : 0, 1)
            case .discard: amqp_basic_nack(state, Self.channel, deliveryTag, multiple ? 1 : 0, 0)
            }
        try check(status, "acknowledging a delivery")
    }

    /// Runs `body`, which sends several small frames one after the other (e.g. one ack per
    /// delivery), with the socket corked (Linux `TCP_CORK`): the kernel packs the frames into
    /// as few TCP segments as it can and sends them when `body` returns, instead of one segment
    /// per frame (librabbitmq sets `TCP_NODELAY`). The frames, their order and their content
    /// are unchanged; they leave a few microseconds later at most, when `body` returns. Saves
    /// the client and the broker most of their per-segment work. Elsewhere it just runs `body`.
    func coalescingWrites<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        #if os(Linux)
            let socket = socketDescriptor
            var on: Int32 = 1
            let corked =
                socket >= 0
                && setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
            defer {
                if corked {
                    var off: Int32 = 0
                    _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &off, socklen_t(MemoryLayout<Int32>.size))
                }
            }
        #endif
        return try body()
    }

    enum Incoming {
        case message(InboundMessage)
        case frame(Frame)
        case nothing
    }

    enum Frame {
        case publishConfirmed(deliveryTag: UInt64, multiple: Bool)
        case publishRejected(deliveryTag: UInt64, multiple: Bool)
        /// The broker gave back a mandatory message no queue took; its confirm follows.
        case publishReturned(routingKey: String, reason: String)
        case consumerCancelled
        case other
    }

    /// Returns what is already readable without blocking: a delivery, another frame, or nothing.
    func pollDelivery(generation: Int, acknowledger: any Acknowledging) throws(BusError) -> Incoming {
        var envelope = amqp_envelope_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        amqp_maybe_release_buffers(state)
        let reply = amqp_consume_message(state, &envelope, &zero, 0)
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            defer { amqp_destroy_envelope(&envelope) }
            return .message(
                InboundMessage(
                    body: Array(envelope.message.body.rawBuffer),
                    exchange: recentExchange.string(envelope.exchange),
                    routingKey: recentRoutingKey.string(envelope.routing_key),
                    messageID: envelope.message.properties.optionalString(ATTACHE_BASIC_MESSAGE_ID_FLAG, \.message_id),
                    type: envelope.message.properties.optionalString(ATTACHE_BASIC_TYPE_FLAG, \.type),
                    headers: envelope.message.properties.headerValues, redelivered: envelope.redelivered != 0,
                    deliveryTag: envelope.delivery_tag, connectionGeneration: generation, acknowledger: acknowledger))
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
            return .nothing
        case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
            // A frame other than a delivery is waiting: read it as a frame.
            return .frame(try readFrame() ?? .other)
        default:
            isOpen = false
            throw .connectionLost(operation: "consuming", reason: Self.problem(in: reply) ?? "unknown")
        }
    }

    /// Reads one frame if one is readable without blocking.
    func readFrame() throws(BusError) -> Frame? {
        // Every frame is decoded into the channel's memory pool, which only this call frees:
        // without it each publisher confirm would stay allocated for the connection's life.
        amqp_maybe_release_buffers(state)
        var frame = amqp_frame_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        try check(status, "reading from the broker")
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return .other }
        let method = frame.payload.method
        switch method.id {
        case ATTACHE_BASIC_ACK_METHOD:
            let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .publishConfirmed(deliveryTag: ack.delivery_tag, multiple: ack.multiple != 0)
        case ATTACHE_BASIC_NACK_METHOD:
            let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .publishRejected(deliveryTag: nack.delivery_tag, multiple: nack.multiple != 0)
        case ATTACHE_BASIC_CANCEL_OK_METHOD, ATTACHE_BASIC_CANCEL_METHOD:
            return .consumerCancelled
        case ATTACHE_BASIC_RETURN_METHOD:
            let returned = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let routingKey = returned.routing_key.string
            let reason = "\(returned.reply_code) \(returned.reply_text.string)"
            // The returned message's header and body frames follow: read them off the socket.
            var message = amqp_message_t()
            let read = amqp_read_message(state, Self.channel, &message, 0)
            if read.reply_type == AMQP_RESPONSE_NORMAL { amqp_destroy_message(&message) }
            if let problem = Self.problem(in: read) {
                isOpen = false
                throw .connectionLost(operation: "reading a returned message", reason: problem)
            }
            return .publishReturned(routingKey: routingKey, reason: reason)
        case ATTACHE_CHANNEL_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            isOpen = false
            throw .brokerRefused(operation: "channel", code: Int(close.reply_code), text: close.reply_text.string)
        case ATTACHE_CONNECTION_CLOSE_METHOD:
            let close = method.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            isOpen = false
            throw .brokerRefused(operation: "connection", code: Int(close.reply_code), text: close.reply_text.string)
        default:
            return .other
        }
    }

    /// Takes one message off a queue without a subscription (basic.get), unacknowledged.
    func get(queue: String, acknowledger: (any Acknowledging)?) throws(BusError) -> InboundMessage? {
        amqp_maybe_release_buffers(state)
        let reply = withBytes(queue) { amqp_basic_get(state, Self.channel, $0[0], 0) }
        if let problem = Self.problem(in: reply) {
            isOpen = false
            throw .connectionLost(operation: "reading \(queue)", reason: problem)
        }
        guard reply.reply.id == ATTACHE_BASIC_GET_OK_METHOD else { return nil }
        let ok = reply.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        var message = amqp_message_t()
        let read = amqp_read_message(state, Self.channel, &message, 0)
        if let problem = Self.problem(in: read) {
            isOpen = false
            throw .connectionLost(operation: "reading \(queue)", reason: problem)
        }
        defer { amqp_destroy_message(&message) }
        return InboundMessage(
            body: Array(message.body.rawBuffer), exchange: ok.exchange.string, routingKey: ok.routing_key.string,
            messageID: message.properties.optionalString(ATTACHE_BASIC_MESSAGE_ID_FLAG, \.message_id),
            type: message.properties.optionalString(ATTACHE_BASIC_TYPE_FLAG, \.type),
            headers: message.properties.headerValues, redelivered: ok.redelivered != 0,
            deliveryTag: ok.delivery_tag, connectionGeneration: 0, acknowledger: acknowledger)
    }

    // MARK: Errors

    private func check(_ status: Int32, _ operation: String) throws(BusError) {
        guard status == AMQP_STATUS_OK.rawValue else {
            isOpen = false
            throw .connectionLost(operation: operation, reason: String(cString: amqp_error_string2(status)))
        }
    }

    private func checkReply(_ operation: String) throws(BusError) {
        let reply = amqp_get_rpc_reply(state)
        guard reply.reply_type != AMQP_RESPONSE_NORMAL else { return }
        isOpen = false
        if reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, let (code, text) = Self.serverClose(reply) {
            throw .brokerRefused(operation: operation, code: code, text: text)
        }
        throw .connectionLost(operation: operation, reason: Self.problem(in: reply) ?? "unknown")
    }

    private static func serverClose(_ reply: amqp_rpc_reply_t) -> (Int, String)? {
        switch reply.reply.id {
        case ATTACHE_CONNECTION_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return (Int(close.reply_code), close.reply_text.string)
        case ATTACHE_CHANNEL_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return (Int(close.reply_code), close.reply_text.string)
        default:
            return nil
        }
    }

    private static func problem(in reply: amqp_rpc_reply_t) -> String? {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL: return nil
        case AMQP_RESPONSE_LIBRARY_EXCEPTION: return String(cString: amqp_error_string2(reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if let (code, text) = serverClose(reply) { return "\(code) \(text)" }
            return "server exception (method \(reply.reply.id))"
        default: return "no reply"
        }
    }
}

// MARK: - C value helpers

extension timeval {
    init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension amqp_bytes_t {
    var rawBuffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: len) }
    var string: String { String(decoding: rawBuffer, as: UTF8.self) }

    /// Points at `buffer` without copying: valid only while `buffer` is. librabbitmq takes
    /// non-const pointers but does not write through the ones it sends.
    init(borrowing buffer: UnsafeRawBufferPointer) {
        self.init(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    init(borrowing buffer: UnsafeBufferPointer<UInt8>) {
        self.init(borrowing: UnsafeRawBufferPointer(buffer))
    }
}

/// The last string decoded from a field, reused while the field's bytes repeat.
private struct RecentString {
    private var bytes: [UInt8] = []
    private var value = ""

    mutating func string(_ field: amqp_bytes_t) -> String {
        let buffer = field.rawBuffer
        let same = bytes.withUnsafeBytes { recent in
            recent.count == buffer.count
                && (buffer.isEmpty || memcmp(recent.baseAddress!, buffer.baseAddress!, buffer.count) == 0)
        }
        if !same {
            bytes = Array(buffer)
            value = String(decoding: buffer, as: UTF8.self)
        }
        return value
    }
}

extension amqp_basic_properties_t {
    func optionalString(_ flag: amqp_flags_t, _ field: KeyPath<Self, amqp_bytes_t>) -> String? {
        _flags & flag != 0 ? self[keyPath: field].string : nil
    }

    var headerValues: [String: HeaderValue] {
        guard _flags & ATTACHE_BASIC_HEADERS_FLAG != 0, let entries = headers.entries else { return [:] }
        var values: [String: HeaderValue] = [:]
        for entry in UnsafeBufferPointer(start: entries, count: Int(headers.num_entries)) {
            let value = entry.value
            let decoded: HeaderValue? =
                switch value.kind {
                case UInt8(AMQP_FIELD_KIND_UTF8.rawValue), UInt8(AMQP_FIELD_KIND_BYTES.rawValue):
                    .string(value.value.bytes.string)
                case UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue): .bool(value.value.boolean != 0)
                case UInt8(AMQP_FIELD_KIND_I8.rawValue): .int(Int64(value.value.i8))
                case UInt8(AMQP_FIELD_KIND_U8.rawValue): .int(Int64(value.value.u8))
                case UInt8(AMQP_FIELD_KIND_I16.rawValue): .int(Int64(value.value.i16))
                case UInt8(AMQP_FIELD_KIND_U16.rawValue): .int(Int64(value.value.u16))
                case UInt8(AMQP_FIELD_KIND_I32.rawValue): .int(Int64(value.value.i32))
                case UInt8(AMQP_FIELD_KIND_U32.rawValue): .int(Int64(value.value.u32))
                case UInt8(AMQP_FIELD_KIND_I64.rawValue), UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue): .int(value.value.i64)
                case UInt8(AMQP_FIELD_KIND_U64.rawValue): .int(Int64(truncatingIfNeeded: value.value.u64))
                default: nil  // arrays and nested tables (e.g. the broker's x-death) are not ours to read
                }
            if let decoded { values[entry.key.string] = decoded }
        }
        return values
    }
}

/// Builds an AMQP field table whose memory lives exactly as long as `body`.
private func withTable<R>(_ values: [String: HeaderValue], _ body: (amqp_table_t) -> R) -> R {
    guard !values.isEmpty else { return body(amqp_empty_table) }
    var arena = CStringArena()
    defer { arena.release() }
    let entries = UnsafeMutablePointer<amqp_table_entry_t>.allocate(capacity: values.count)
    defer { entries.deallocate() }
    for (index, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
        let field: amqp_field_value_t =
            switch value {
            case .string(let text): attache_field_utf8(arena.bytes(text))
            case .int(let number): attache_field_i64(number)
            case .bool(let flag): attache_field_bool(flag ? 1 : 0)
            }
        entries[index] = amqp_table_entry_t(key: arena.bytes(key), value: field)
    }
    return body(amqp_table_t(num_entries: Int32(values.count), entries: entries))
}

/// Builds basic properties (persistence, ids, headers) whose memory lives exactly as long as `body`.
private func withProperties<R>(of message: OutgoingMessage, _ body: (UnsafePointer<amqp_basic_properties_t>) -> R) -> R {
    var arena = CStringArena()
    defer { arena.release() }
    var properties = amqp_basic_properties_t()
    if message.persistent {
        properties._flags |= ATTACHE_BASIC_DELIVERY_MODE_FLAG
        properties.delivery_mode = 2
    }
    if let contentType = message.contentType {
        properties._flags |= ATTACHE_BASIC_CONTENT_TYPE_FLAG
        properties.content_type = arena.bytes(contentType)
    }
    if let messageID = message.messageID {
        properties._flags |= ATTACHE_BASIC_MESSAGE_ID_FLAG
        properties.message_id = arena.bytes(messageID)
    }
    if let type = message.type {
        properties._flags |= ATTACHE_BASIC_TYPE_FLAG
        properties.type = arena.bytes(type)
    }
    return withTable(message.headers) { headers in
        if !message.headers.isEmpty {
            properties._flags |= ATTACHE_BASIC_HEADERS_FLAG
            properties.headers = headers
        }
        return body(&properties)
    }
}

/// `amqp_cstring_bytes` only borrows a Swift string's temporary buffer, so strings that must
/// outlive one call are copied here and freed together.
private struct CStringArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    mutating func bytes(_ text: String) -> amqp_bytes_t {
        var text = text
        return text.withUTF8 { utf8 in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(utf8.count, 1), alignment: 1)
            if let base = utf8.baseAddress { pointer.copyMemory(from: base, byteCount: utf8.count) }
            allocations.append(pointer)
            return amqp_bytes_t(len: utf8.count, bytes: pointer)
        }
    }

    mutating func release() {
        for allocation in allocations { allocation.deallocate() }
        allocations.removeAll()
    }
}
