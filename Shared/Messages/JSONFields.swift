/// An object of a `JSONTree` read field by field, as strictly as `JSONDecoder` reads a Codable
/// type: a field that is there must have its type (null counts as absent), and an error names
/// the field's path. For hot paths that read a document through `JSONTree`.
public struct JSONFields: Sendable {
    public let members: JSONObject
    /// The path to this object, ending in a dot when not the root: `items[3].start.`.
    public let path: String

    /// The members of `tree` if it is an object, else none.
    public init(_ tree: JSONTree, path: String = "") {
        if case .object(let object) = tree { members = object } else { members = [:] }
        self.path = path
    }

    public func optional<T>(_ key: String, _ read: (JSONTree) -> T?, _ kind: String) throws(JSONFieldError) -> T? {
        guard let value = members[key], !value.isNull else { return nil }
        guard let typed = read(value) else { throw JSONFieldError(problem: "field \(path)\(key) is not \(kind)") }
        return typed
    }

    public func required<T>(_ key: String, _ read: (JSONTree) -> T?, _ kind: String) throws(JSONFieldError) -> T {
        guard let typed = try optional(key, read, kind) else { throw JSONFieldError(problem: "missing field \(path)\(key)") }
        return typed
    }

    public func string(_ key: String) throws(JSONFieldError) -> String? { try optional(key, \.string, "a string") }

    public func bool(_ key: String) throws(JSONFieldError) -> Bool? { try optional(key, \.bool, "a boolean") }

    public func int(_ key: String) throws(JSONFieldError) -> Int? { try optional(key, \.int, "a whole number") }

    public func object(_ key: String) throws(JSONFieldError) -> JSONFields? {
        try optional(key, { if case .object = $0 { JSONFields($0, path: path + key + ".") } else { nil } }, "an object")
    }

    /// An array of objects, each with its path (`attendees[2].`).
    public func objects(_ key: String) throws(JSONFieldError) -> [JSONFields]? {
        guard let items = try optional(key, \.array, "an array") else { return nil }
        var objects: [JSONFields] = []
        objects.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .object = item else { throw JSONFieldError(problem: "field \(path)\(key)[\(index)] is not an object") }
            objects.append(JSONFields(item, path: "\(path)\(key)[\(index)]."))
        }
        return objects
    }
}

/// A field missing, or of the wrong type, with its path.
public struct JSONFieldError: Error, CustomStringConvertible, Equatable {
    public var problem: String
    public init(problem: String) { self.problem = problem }
    public var description: String { problem }
}

extension JSONTree {
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }

    /// A number without a fraction that fits an `Int`.
    public var int: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 9.007_199_254_740_992e15 else { return nil }
        return Int(value)
    }
}
