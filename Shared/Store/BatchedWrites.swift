/// An array parameter in PostgreSQL's text form (`{"a","b",NULL}`), for statements that take
/// many rows at once through `unnest($1::uuid[], $2::text[], …)`.
public struct PostgresArray: PostgresBindable {
    public let postgresText: String?

    public init(_ elements: [any PostgresBindable]) {
        let values = elements.map(\.postgresText)
        var text: [UInt8] = []
        text.reserveCapacity(values.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        text.append(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            guard var value else {
                text += "NULL".utf8
                continue
            }
            text.append(UInt8(ascii: "\""))
            // Bodies of messages go through here: runs without a quote or backslash are copied whole.
            value.withUTF8 { bytes in
                var runStart = 0
                for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                    text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<offset]))
                    text.append(UInt8(ascii: "\\"))
                    runStart = offset
                }
                text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
            }
            text.append(UInt8(ascii: "\""))
        }
        text.append(UInt8(ascii: "}"))
        postgresText = String(decoding: text, as: UTF8.self)
    }
}

/// Writes gathered from many units of work (a batch of workflow steps, a batch of messages) to
/// run in one transaction, each distinct statement once for all of its rows: a burst costs a
/// handful of statements rather than a handful per row.
///
/// A statement's SQL reads its `$n` as the array of every row's n-th value, as in
/// `INSERT INTO t (a, b) SELECT * FROM unnest($1::uuid[], $2::text[])`. Statements run in the
/// order they were first added.
public struct BatchedWrites: Sendable {
    private var statements: [String] = []
    private var rows: [String: [[any PostgresBindable]]] = [:]

    public init() {}

    public var isEmpty: Bool { statements.isEmpty }

    public mutating func add(_ sql: String, _ row: [any PostgresBindable]) {
        if let earlier = rows[sql]?.first {
            precondition(earlier.count == row.count, "every row of a batched statement has the same number of values")
        } else {
            statements.append(sql)
        }
        rows[sql, default: []].append(row)
    }

    public mutating func add(contentsOf other: BatchedWrites) {
        for sql in other.statements {
            for row in other.rows[sql] ?? [] { add(sql, row) }
        }
    }

    public func execute(on db: PostgresConnection) throws {
        for sql in statements {
            let rows = rows[sql] ?? []
            try db.execute(sql, rows[0].indices.map { column in PostgresArray(rows.map { $0[column] }) })
        }
    }
}
