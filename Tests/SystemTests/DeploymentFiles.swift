import Foundation
import TestSupport
import Testing
import Yams

// Readers of the deployment files the tests in DeploymentTests.swift check: Package.swift,
// the services' sources, docker-compose.yml, deploy/Dockerfile and .dockerignore. Each reads
// only as much of its format as the checks need, and fails with the file and what is wrong.

// MARK: - Repository layout

let repositoryRoot = TestStack.repositoryRoot

let composePath = "docker-compose.yml"
let dockerfilePath = "deploy/Dockerfile"
let dockerignorePath = ".dockerignore"
/// Copied into the image at `imageConfigDirectory` and mounted there by compose.
let configDirectory = "deploy/config"
let imageConfigDirectory = "/etc/attache"
let infrastructure = ["rabbitmq", "postgres"]

struct DeploymentCheckError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func url(_ relativePath: String) -> URL { repositoryRoot.appendingPathComponent(relativePath) }

func readText(_ relativePath: String) throws -> String {
    do {
        return try String(contentsOf: url(relativePath), encoding: .utf8)
    } catch {
        throw DeploymentCheckError("cannot read \(relativePath) at \(url(relativePath).path): \(error)")
    }
}

/// A file or a folder.
func pathExists(_ relativePath: String) -> Bool {
    FileManager.default.fileExists(atPath: url(relativePath).path)
}

func fileExists(_ relativePath: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: url(relativePath).path, isDirectory: &isDirectory) && !isDirectory.boolValue
}

func matches(of pattern: String, in text: String, group: Int = 1) -> [String] {
    let regex = try! NSRegularExpression(pattern: pattern)
    let range = NSRange(text.startIndex..., in: text)
    return regex.matches(in: text, range: range).compactMap { match in
        Range(match.range(at: group), in: text).map { String(text[$0]) }
    }
}

// MARK: - Package.swift: the programs

/// Every `.executable(name: "…")` product in Package.swift.
func executableProducts() throws -> [String] {
    let manifest = try readText("Package.swift")
    return matches(of: #"\.executable\(\s*name:\s*"([^"]+)""#, in: manifest)
}

/// The programs the image must ship: every executable except the development tools, the
/// benchmarks and the fault suite, which drive a stack rather than run in one.
func shippedPrograms() throws -> [String] {
    try executableProducts().filter { !$0.hasPrefix("bench-") && $0 != "chaos" }
}

/// The long-running services: the shipped programs except the operator tool.
func serviceNames() throws -> [String] {
    try shippedPrograms().filter { $0 != "attache-ops" }
}

// MARK: - Sources: the variables each service reads

/// Every `"ATTACHE_…"` string literal in the Swift files under `directories` (recursively),
/// and the subset passed to `requiredString(`.
struct VariableUsage {
    var read: Set<String> = []
    var required: Set<String> = []
}

func variableUsage(in directories: [String]) throws -> VariableUsage {
    var usage = VariableUsage()
    for directory in directories {
        let root = url(directory)
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw DeploymentCheckError("cannot list \(directory)")
        }
        for case let file as URL in enumerator where file.pathExtension == "swift" {
            let source = try String(contentsOf: file, encoding: .utf8)
            usage.read.formUnion(matches(of: #""(ATTACHE_[A-Z0-9_]+)""#, in: source))
            usage.required.formUnion(matches(of: #"requiredString\(\s*"(ATTACHE_[A-Z0-9_]+)""#, in: source))
        }
    }
    return usage
}

/// What `service` reads: its own target (Services/<service>) plus the runtime every service
/// shares (Shared/Runtime, where the common settings are read).
func variableUsage(ofService service: String) throws -> VariableUsage {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url("Services/\(service)").path, isDirectory: &isDirectory),
        isDirectory.boolValue
    else {
        throw DeploymentCheckError("Package.swift has a product \(service) but there is no Services/\(service) directory to scan")
    }
    return try variableUsage(in: ["Services/\(service)", "Shared/Runtime"])
}

// MARK: - Compose file

typealias Mapping = [String: Any]

func loadCompose() throws -> Mapping {
    let text = try readText(composePath)
    let document: Any?
    do {
        document = try Yams.load(yaml: text)
    } catch {
        throw DeploymentCheckError("\(composePath) is not valid YAML: \(error)")
    }
    guard let compose = document as? Mapping else {
        throw DeploymentCheckError("\(composePath) must be a mapping at the top level")
    }
    return compose
}

func serviceDefinitions(in compose: Mapping) throws -> [String: Mapping] {
    guard let raw = compose["services"] as? Mapping else {
        throw DeploymentCheckError("\(composePath) has no `services:` mapping")
    }
    var result: [String: Mapping] = [:]
    for (name, value) in raw {
        guard let service = value as? Mapping else {
            throw DeploymentCheckError("\(composePath): services.\(name) must be a mapping")
        }
        result[name] = service
    }
    return result
}

func scalar(_ value: Any?) -> String? {
    switch value {
    case nil, is NSNull: return nil
    case let string as String: return string
    case let bool as Bool: return bool ? "true" : "false"
    case let value?: return "\(value)"
    }
}

/// A compose `environment:` as written (mapping or `KEY=value` list). A list entry without
/// `=` passes the host's value through; it is recorded with a nil value.
func environment(of service: Mapping, named name: String) throws -> [String: String?] {
    switch service["environment"] {
    case nil, is NSNull:
        return [:]
    case let mapping as Mapping:
        return mapping.mapValues { scalar($0) }
    case let list as [Any]:
        var result: [String: String?] = [:]
        for entry in list.compactMap(scalar) {
            if let equals = entry.firstIndex(of: "=") {
                result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            } else {
                result[entry] = .some(nil)
            }
        }
        return result
    default:
        throw DeploymentCheckError("\(composePath): services.\(name).environment must be a mapping or a list")
    }
}

/// Compose variable interpolation, with every host variable taken as unset: what the file
/// yields on a machine with no .env and nothing exported. `$$` is a literal `$`.
func interpolate(_ text: String) -> String {
    var result = ""
    var index = text.startIndex
    while index < text.endIndex {
        let character = text[index]
        guard character == "$" else {
            result.append(character)
            index = text.index(after: index)
            continue
        }
        let next = text.index(after: index)
        guard next < text.endIndex else {
            result.append("$")
            break
        }
        if text[next] == "$" {
            result.append("$")
            index = text.index(after: next)
        } else if text[next] == "{" {
            // Find the matching brace (defaults may nest: ${A:-${B:-x}}).
            var depth = 0
            var end = next
            while end < text.endIndex {
                if text[end] == "{" { depth += 1 }
                if text[end] == "}" {
                    depth -= 1
                    if depth == 0 { break }
                }
                end = text.index(after: end)
            }
            guard end < text.endIndex else {
                result.append(contentsOf: text[index...])
                break
            }
            let body = String(text[text.index(after: next)..<end])
            for separator in [":-", "-", ":?", "?", ":+", "+"] {
                if let range = body.range(of: separator),
                    body[..<range.lowerBound].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
                {
                    // Unset variable: `-` forms give the default, the others give nothing.
                    if separator.hasSuffix("-") { result.append(interpolate(String(body[range.upperBound...]))) }
                    break
                }
            }
            index = text.index(after: end)
        } else {
            // $NAME: unset, so empty.
            var end = next
            while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "_" {
                end = text.index(after: end)
            }
            if end == next { result.append("$") }
            index = end
        }
    }
    return result
}

/// `value` written out with mapping keys in order, to compare two mappings.
func canonical(_ value: Any?) -> String {
    if let mapping = value as? Mapping {
        return "{" + mapping.keys.sorted().map { "\($0): \(canonical(mapping[$0]))" }.joined(separator: ", ") + "}"
    }
    if let list = value as? [Any] { return "[" + list.map(canonical).joined(separator: ", ") + "]" }
    return scalar(value) ?? "null"
}

/// Every path in `value` at which a `<<` key is still present (i.e. a merge the YAML loader
/// did not apply, which would make every check below look at the wrong mapping).
func unmergedKeys(in value: Any, at path: String) -> [String] {
    if let mapping = value as? Mapping {
        var found = mapping.keys.contains("<<") ? [path] : []
        for (key, child) in mapping { found += unmergedKeys(in: child, at: "\(path).\(key)") }
        return found
    }
    if let list = value as? [Any] {
        return list.enumerated().flatMap { unmergedKeys(in: $0.element, at: "\(path)[\($0.offset)]") }
    }
    return []
}

/// Seconds in a compose duration such as `30s`, `1m30s`, `1m`, `500ms`, or a bare number.
func seconds(inDuration text: String) -> Double? {
    if let number = Double(text) { return number }
    let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("h", 3600), ("m", 60), ("s", 1)]
    var rest = Substring(text)
    var total = 0.0
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits) else { return nil }
        rest = rest.dropFirst(digits.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
        total += value * unit.1
        rest = rest.dropFirst(unit.0.count)
    }
    return total
}

// MARK: - Dockerfile

struct Instruction {
    var keyword: String
    /// Leading `--flag=value` options (COPY --from, HEALTHCHECK --interval, FROM --platform).
    var flags: [String]
    /// The rest, with line continuations joined.
    var arguments: String
    var line: Int

    /// Shell-like words of `arguments`, or the elements of its JSON array form.
    var words: [String] {
        if arguments.hasPrefix("["), let data = arguments.data(using: .utf8),
            let array = try? JSONSerialization.jsonObject(with: data) as? [String]
        {
            return array
        }
        return shellWords(arguments)
    }
}

struct Stage {
    var base: String
    var name: String?
    var instructions: [Instruction] = []

    func all(_ keyword: String) -> [Instruction] { instructions.filter { $0.keyword == keyword } }
}

func shellWords(_ text: String) -> [String] {
    var words: [String] = []
    var current = ""
    var quote: Character?
    var inWord = false
    for character in text {
        if let open = quote {
            if character == open { quote = nil } else { current.append(character) }
        } else if character == "\"" || character == "'" {
            quote = character
            inWord = true
        } else if character.isWhitespace {
            if inWord { words.append(current) }
            current = ""
            inWord = false
        } else {
            current.append(character)
            inWord = true
        }
    }
    if inWord { words.append(current) }
    return words
}

/// The Dockerfile's instructions grouped by stage. Comment lines (also inside continued
/// instructions) and parser directives are dropped, as Docker does.
func dockerfileStages() throws -> [Stage] {
    let text = try readText(dockerfilePath)
    var logical: [(text: String, line: Int)] = []
    var pending: String?
    var pendingLine = 0
    for (offset, rawLine) in text.components(separatedBy: "\n").enumerated() {
        let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : rawLine
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("#") || (trimmed.isEmpty && pending == nil) { continue }
        if pending == nil { pendingLine = offset + 1 }
        if trimmed.hasSuffix("\\") {
            pending = (pending ?? "") + String(trimmed.dropLast()) + " "
        } else {
            logical.append(((pending ?? "") + trimmed, pendingLine))
            pending = nil
        }
    }
    if let pending { logical.append((pending, pendingLine)) }

    var stages: [Stage] = []
    for (text, line) in logical {
        var words = Substring(text)
        let keyword = words.prefix { !$0.isWhitespace }.uppercased()
        words = words.dropFirst(keyword.count).drop { $0.isWhitespace }
        var flags: [String] = []
        while words.hasPrefix("--") {
            let flag = words.prefix { !$0.isWhitespace }
            flags.append(String(flag))
            words = words.dropFirst(flag.count).drop { $0.isWhitespace }
        }
        let instruction = Instruction(
            keyword: keyword, flags: flags,
            arguments: String(words).trimmingCharacters(in: .whitespaces), line: line)
        if keyword == "FROM" {
            let parts = shellWords(instruction.arguments)
            let name = parts.count >= 3 && parts[1].uppercased() == "AS" ? parts[2] : nil
            stages.append(Stage(base: parts.first ?? "", name: name))
        } else if stages.isEmpty {
            if keyword != "ARG" {
                throw DeploymentCheckError("\(dockerfilePath):\(line): \(keyword) before the first FROM")
            }
        } else {
            stages[stages.count - 1].instructions.append(instruction)
        }
    }
    return stages
}

/// `ENV` of a stage as key/value pairs (both `ENV A=1 B=2` and the legacy `ENV A 1`).
func environment(of stage: Stage) -> [String: String] {
    var result: [String: String] = [:]
    for instruction in stage.all("ENV") {
        let words = shellWords(instruction.arguments)
        if let first = words.first, !first.contains("=") {
            result[first] = words.dropFirst().joined(separator: " ")
            continue
        }
        for word in words {
            guard let equals = word.firstIndex(of: "=") else { continue }
            result[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
    }
    return result
}

/// The variables the image sets for every container (ENV of the final stage).
func imageEnvironment() throws -> [String: String] {
    guard let final = try dockerfileStages().last else { return [:] }
    return environment(of: final)
}

/// One service's environment as its process sees it: the image's ENV, overridden by
/// compose, interpolated. Empty values count as unset, as the services treat them.
func effectiveEnvironment(_ service: Mapping, named name: String, image: [String: String]) throws
    -> [String: String]
{
    var result = image
    for (key, value) in try environment(of: service, named: name) {
        result[key] = value.map(interpolate) ?? ""
    }
    return result.filter { !$0.value.isEmpty }
}

// MARK: - .dockerignore

/// Docker's pattern semantics: path segments matched with `*` and `?`, `**` for any number
/// of segments; a pattern that matches a directory excludes everything inside it.
func globMatches(_ pattern: String, _ path: String) -> Bool {
    func segment(_ pattern: Substring, _ name: Substring) -> Bool {
        guard let first = pattern.first else { return name.isEmpty }
        switch first {
        case "*":
            var rest = name
            while true {
                if segment(pattern.dropFirst(), rest) { return true }
                if rest.isEmpty { return false }
                rest = rest.dropFirst()
            }
        case "?":
            return !name.isEmpty && segment(pattern.dropFirst(), name.dropFirst())
        default:
            return name.first == first && segment(pattern.dropFirst(), name.dropFirst())
        }
    }
    func segments(_ pattern: ArraySlice<Substring>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            return (0...path.count).contains { segments(pattern.dropFirst(), path.dropFirst($0)) }
        }
        guard let name = path.first else { return false }
        return segment(first, name) && segments(pattern.dropFirst(), path.dropFirst())
    }
    let cleanPattern = pattern.split(separator: "/").filter { $0 != "." }
    let cleanPath = path.split(separator: "/").filter { $0 != "." }
    return segments(ArraySlice(cleanPattern), ArraySlice(cleanPath))
}

/// Whether `.dockerignore` keeps `path` out of the build context.
func isIgnored(_ path: String, patterns: [String]) -> Bool {
    let parts = path.split(separator: "/")
    var ignored = false
    for raw in patterns {
        let negated = raw.hasPrefix("!")
        let pattern = negated ? String(raw.dropFirst()) : raw
        // The path itself or any directory containing it.
        let hit = (1...max(parts.count, 1)).contains { globMatches(pattern, parts.prefix($0).joined(separator: "/")) }
        if hit { ignored = !negated }
    }
    return ignored
}

func dockerignorePatterns() throws -> [String] {
    try readText(dockerignorePath).components(separatedBy: .newlines)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") }
}
