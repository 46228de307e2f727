/// A database failure with what a person needs to act on it. Query parameters are never
/// included: they may hold personal data or secrets.
public enum PostgresError: Error, CustomStringConvertible {
    case cannotConnect(endpoint: String, reason: String)
    case queryFailed(sqlState: String, message: String, detail: String?, statement: String)
    case connectionLost(reason: String)
    case unexpectedResult(String)
    case missingColumn(String, available: [String])
    case unexpectedNull(column: String)
    case cannotDecode(column: String, value: String, as: String)
    case invalidIdentifier(String)

    public var description: String {
        switch self {
        case .cannotConnect(let endpoint, let reason): "cannot connect to PostgreSQL at \(endpoint): \(reason)"
        case .queryFailed(let sqlState, let message, let detail, let statement):
            "query failed (SQLSTATE \(sqlState)): \(message)\(detail.map { " — \($0)" } ?? "") in: \(statement)"
        case .connectionLost(let reason): "the PostgreSQL connection was lost: \(reason)"
        case .unexpectedResult(let what): "unexpected result from PostgreSQL: \(what)"
        case .missingColumn(let column, let available):
            "the result has no column \(column) (it has \(available.sorted().joined(separator: ", ")))"
        case .unexpectedNull(let column): "column \(column) is NULL where a value was expected"
        case .cannotDecode(let column, let value, let type): "cannot read \(value) in column \(column) as \(type)"
        case .invalidIdentifier(let name): "\(name) is not a valid schema or table name ([a-z_][a-z0-9_]*)"
        }
    }
}

extension PostgresError {
    /// What went wrong, without any text from the server: the SQLSTATE of a failed statement, or
    /// the case's name. For span attributes.
    public var kind: String {
        switch self {
        case .cannotConnect: "cannot_connect"
        case .queryFailed(let sqlState, _, _, _): sqlState
        case .connectionLost: "connection_lost"
        case .unexpectedResult: "unexpected_result"
        case .missingColumn: "missing_column"
        case .unexpectedNull: "unexpected_null"
        case .cannotDecode: "cannot_decode"
        case .invalidIdentifier: "invalid_identifier"
        }
    }

    /// Whether the failure is the connection's rather than the statement's: the server is
    /// unreachable, went away, or is not accepting work (shutting down, starting up, SQLSTATE
    /// class 08 and 57P0x).
    public var isConnectionLevel: Bool {
        switch self {
        case .cannotConnect, .connectionLost: true
        case .queryFailed(let sqlState, _, _, _): sqlState.hasPrefix("08") || sqlState.hasPrefix("57P0")
        default: false
        }
    }
}

/// Identifiers cannot be query parameters, so names that end up in SQL text are checked here.
public func validatedIdentifier(_ name: String) throws(PostgresError) -> String {
    let valid =
        !name.isEmpty && name.count <= 63
        && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        && !("0"..."9").contains(name.unicodeScalars.first!)
    guard valid else { throw .invalidIdentifier(name) }
    return name
}
