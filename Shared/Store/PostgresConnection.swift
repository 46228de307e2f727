import CLibPQ
import Foundation
import Telemetry
import Tracing

/// One libpq connection. libpq blocks, so each connection is confined to the serial queue of
/// its pool slot and never touched from Swift's cooperative threads; it is deliberately not
/// Sendable. Statements run with their parameters sent separately (prepared once per connection,
/// then PQexecPrepared): SQL text never contains a value.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let url: String
    /// When the connection last finished a statement: a connection idle for long may have been
    /// dropped by a server restart without the client hearing of it.
    private(set) var lastUsed = ContinuousClock.now

    /// The database's name, for spans (`db.namespace`).
    private let database: String

    /// Server-side names of the statements prepared on this connection, by SQL text. Parsing is
    /// much of the server's work for the short statements the services run (calendar-monitor's
    /// incremental syncs ran 1.4 times as fast). Bounded, since SQL built at run time could
    /// otherwise fill the server's memory; past the bound a statement runs unprepared.
    private var prepared: [String: String] = [:]
    private var preparedCount = 0
    public static let mostPrepared = 256

    init(url: String) {
        self.url = url
        database = URLComponents(string: url)?.path.split(separator: "/").first.map(String.init) ?? ""
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Connects if needed, or reconnects a connection that the server or network dropped.
    func ensureConnected() throws(PostgresError) {
        if let handle, PQstatus(handle) == CONNECTION_OK { return }
        if let handle { PQfinish(handle) }
        // A UTC session makes timestamptz text unambiguous for `PostgresTimestamp`.
        let connection = PQconnectdb(url)
        handle = connection
        prepared = [:]
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let reason = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            throw .cannotConnect(endpoint: Self.redacted(url), reason: reason.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        _ = try execute("SET TIME ZONE 'UTC'")
        // Prepared statements keep only their parse: a generic plan, which PostgreSQL may
        // otherwise settle on after five runs, made the gateway's webhook path 20 % slower.
        _ = try execute("SET plan_cache_mode = force_custom_plan")
    }

    /// Makes sure the server still answers on this connection, with an empty query (one round
    /// trip), and drops the connection if it does not, so that the next statement reconnects
    /// instead of failing on a socket the server closed while the connection sat in the pool.
    func verify() {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return }
        PQclear(PQexec(handle, ""))
        lastUsed = .now
        if PQstatus(handle) != CONNECTION_OK {
            PQfinish(handle)
            self.handle = nil
        }
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> Int {
        try run(sql, parameters) { result in Int(String(cString: PQcmdTuples(result))) ?? 0 }
    }

    /// Runs several statements separated by semicolons, without parameters: for migrations.
    public func executeScript(_ sql: String) throws(PostgresError) {
        try ensureConnected()
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql)
    }

    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> [Row] {
        try run(sql, parameters) { result in
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var columns: [String: Int] = [:]
            for column in 0..<columnCount { columns[String(cString: PQfname(result, Int32(column)))] = column }
            var rows: [Row] = []
            rows.reserveCapacity(rowCount)
            for row in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for column in 0..<columnCount {
                    values.append(
                        PQgetisnull(result, Int32(row), Int32(column)) == 1
                            ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
                rows.append(Row(columns: columns, values: values))
            }
            return rows
        }
    }

    public func queryOne(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> Row? {
        try query(sql, parameters).first
    }

    private func run<T>(
        _ sql: String, _ parameters: [any PostgresBindable], read: (OpaquePointer) -> T
    ) throws(PostgresError) -> T {
        // The statement only, never its parameters: they may be anyone's data.
        let span = Telemetry.isTracing ? startSpan(sql) : nil
        defer { span?.end() }
        do {
            return try runUntraced(sql, parameters, read: read)
        } catch {
            // Not the error's text: a constraint's detail quotes the row's values.
            if let span {
                span.setStatus(SpanStatus(code: .error))
                span.attributes[SemanticAttributes.errorType] = error.kind
            }
            throw error
        }
    }

    /// A CLIENT span for one statement, in the caller's span (the pool carries it to this thread).
    private func startSpan(_ sql: String) -> any Span {
        let operation = sql.prefix(while: { !$0.isWhitespace && $0 != ";" }).uppercased()
        let span = Tracing.startSpan(
            database.isEmpty ? operation : "\(operation) \(database)", context: ServiceContext.current ?? .topLevel,
            ofKind: .client)
        span.updateAttributes { attributes in
            attributes[SemanticAttributes.dbSystem] = SemanticAttributes.postgresql
            attributes[SemanticAttributes.dbSystemName] = SemanticAttributes.postgresql
            attributes[SemanticAttributes.dbOperationName] = operation
            attributes[SemanticAttributes.dbQueryText] = sql
            if !database.isEmpty { attributes[SemanticAttributes.dbNamespace] = database }
        }
        return span
    }

    private func runUntraced<T>(
        _ sql: String, _ parameters: [any PostgresBindable], read: (OpaquePointer) -> T
    ) throws(PostgresError) -> T {
        try ensureConnected()
        do {
            return try runPrepared(sql, parameters, read: read)
        } catch {
            // "cached plan must not change result type": a table under a prepared `SELECT *`
            // changed, by a migration while this service ran. Prepared again, the statement
            // runs as written: at once, unless the failure aborted the caller's transaction.
            guard case .queryFailed(sqlState: "0A000", _, _, _) = error else { throw error }
            prepared[sql] = nil
            guard PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try runPrepared(sql, parameters, read: read)
        }
    }

    private func runPrepared<T>(
        _ sql: String, _ parameters: [any PostgresBindable], read: (OpaquePointer) -> T
    ) throws(PostgresError) -> T {
        let name = try prepare(sql, parameterCount: parameters.count)
        let texts = parameters.map { $0.postgresText }
        let result: OpaquePointer? = withCStrings(texts) { pointers in
            if let name {
                PQexecPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
            } else {
                PQexecParams(handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
            }
        }
        defer {
            PQclear(result)
            lastUsed = .now
        }
        try check(result, sql)
        return read(result!)
    }

    /// The statement's server-side name, preparing it on first use; nil past the bound.
    private func prepare(_ sql: String, parameterCount: Int) throws(PostgresError) -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.mostPrepared else { return nil }
        // Never reused: a name forgotten after an error may still exist on the server.
        preparedCount += 1
        let name = "attache_\(preparedCount)"
        let result = PQprepare(handle, name, sql, Int32(parameterCount), nil)
        defer { PQclear(result) }
        try check(result, sql)
        prepared[sql] = name
        return name
    }

    private func check(_ result: OpaquePointer?, _ sql: String) throws(PostgresError) {
        guard let result else { throw .connectionLost(reason: lastError) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            return
        default:
            if PQstatus(handle) != CONNECTION_OK { throw .connectionLost(reason: lastError) }
            func field(_ code: Character) -> String? {
                PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
            }
            throw .queryFailed(
                sqlState: field("C") ?? "?????", message: field("M") ?? lastError, detail: field("D"),
                statement: Self.summary(of: sql))
        }
    }

    private var lastError: String {
        handle.map { String(cString: PQerrorMessage($0)).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not connected"
    }

    /// The first line of a statement, enough to find it in the code.
    private static func summary(of sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).first.map(String.init) ?? sql
        return line.trimmingCharacters(in: .whitespaces).prefix(120).description
    }

    /// Host, port and database: a password may sit in the user info or in the query string.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable URL)" }
        if components.password != nil { components.password = "***" }
        components.query = nil
        return components.string ?? "(unparseable URL)"
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } }
    defer { for copy in copies { free(copy) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
