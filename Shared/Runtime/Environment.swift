import Foundation

/// A setting that cannot be used, named so that the operator knows exactly what to fix.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var setting: String
    public var problem: String

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "\(setting) \(problem)" }
}

/// The process environment, read once at start. Every accessor validates and names the
/// variable in its error; an empty value counts as unset.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values.filter { !$0.value.isEmpty }
    }

    public func string(_ name: String, default fallback: String) -> String {
        values[name] ?? fallback
    }

    public func optionalString(_ name: String) -> String? { values[name] }

    public func requiredString(_ name: String, hint: String) throws(ConfigurationError) -> String {
        guard let value = values[name] else { throw ConfigurationError(setting: name, problem: "is required: \(hint)") }
        return value
    }

    /// A setting that must accompany another one that is set (a client secret with its client id).
    public func string(_ name: String, requiredWith companion: String, hint: String) throws(ConfigurationError) -> String {
        guard let value = values[name] else {
            throw ConfigurationError(setting: name, problem: "is required when \(companion) is set: \(hint)")
        }
        return value
    }

    public func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(
                setting: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    public func seconds(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Duration
    {
        .seconds(try integer(name, default: fallback, in: range))
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) throws(ConfigurationError) -> T
    where T.RawValue == String {
        guard let text = values[name] else { return fallback }
        guard let value = T(rawValue: text.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(setting: name, problem: "must be one of \(allowed), not '\(text)'")
        }
        return value
    }

    /// A comma-separated list of millisecond durations, e.g. "1000,5000,30000".
    public func milliseconds(_ name: String, default fallback: [Duration]) throws(ConfigurationError) -> [Duration] {
        guard let text = values[name] else { return fallback }
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers = parts.compactMap { Int64($0) }.filter { $0 > 0 }
        guard !parts.isEmpty, numbers.count == parts.count else {
            throw ConfigurationError(
                setting: name, problem: "must be a comma-separated list of positive milliseconds, not '\(text)'")
        }
        return numbers.map { .milliseconds($0) }
    }

    /// A URL with a host, in one of `schemes`.
    public func url(
        _ name: String, default fallback: String? = nil, schemes: [String] = ["http", "https"]
    ) throws(ConfigurationError) -> URL? {
        guard let text = values[name] ?? fallback else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), schemes.contains(scheme), url.host != nil else {
            let kinds = schemes.joined(separator: ", ")
            throw ConfigurationError(setting: name, problem: "must be a URL (\(kinds)), not '\(text)'")
        }
        return url
    }
}
