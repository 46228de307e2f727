import Foundation
import TestSupport
import Testing
import Yams

// What ObservabilityTests read: the services' metric definitions (from their sources, as the
// deployment checks read the sources), the metric catalog, the alerts and the dashboard, and
// promtool and python3's jsonschema, run as the operator would run them.

let catalogPath = "Shared/Runtime/MetricCatalog.swift"
let alertsPath = "deploy/prometheus/alerts.yaml"
let alertTestsPath = "deploy/prometheus/alerts.test.yaml"
let prometheusConfigPath = "deploy/prometheus/prometheus.yml"
let rabbitmqMetricsPath = "deploy/prometheus/rabbitmq-metrics.txt"
let dashboardPath = "deploy/grafana/attache.json"
let dashboardSchemaPath = "deploy/grafana/dashboard.schema.json"

struct ObservabilityCheckError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `Counter(label: "attache_…", dimensions: [("key", …), …])` (or Gauge, Timer, Recorder).
struct MetricDefinition: CustomStringConvertible {
    var kind: String
    var name: String
    var labels: [String]
    var file: String
    var description: String { "\(kind) \(name)\(labels) in \(file)" }
}

/// Every metric defined in the Swift sources under Services/ and Shared/.
func metricDefinitions() throws -> [MetricDefinition] {
    var definitions: [MetricDefinition] = []
    for directory in ["Services", "Shared"] {
        let root = url(directory)
        guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw ObservabilityCheckError("cannot list \(root.path)")
        }
        for case let file as URL in files where file.pathExtension == "swift" {
            let relative = String(file.path.dropFirst(repositoryRoot.path.count + 1))
            let text = try readText(relative)
            guard text.contains("\"attache_") else { continue }
            let pattern =
                #"\b(Counter|Gauge|Timer|Recorder|Meter|FloatingPointCounter)\(\s*label:\s*"(attache_[^"]*)"(?:\s*,\s*dimensions:\s*\[([^\]]*)\])?"#
            let regex = try NSRegularExpression(pattern: pattern)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                func group(_ index: Int) -> String {
                    Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
                }
                definitions.append(
                    MetricDefinition(
                        kind: group(1), name: group(2), labels: matches(of: #"\(\s*"([^"]+)"\s*,"#, in: group(3)),
                        file: relative))
            }
            // A metric label written any other way would escape the checks above.
            let labelled = matches(of: #"label:\s*"(attache_[^"]*)""#, in: text).count
            let found = definitions.filter { $0.file == relative }.count
            if labelled != found {
                throw ObservabilityCheckError(
                    "\(relative): \(labelled) metric labels but \(found) read as Counter/Gauge/Timer(label:dimensions:)")
            }
        }
    }
    return definitions
}

/// The names in MetricCatalog.help.
func catalogMetrics() throws -> [String] {
    matches(of: #"(?m)^\s*"(attache_[a-z0-9_]+)":"#, in: try readText(catalogPath))
}

struct AlertRule {
    var group: String
    var name: String
    var expression: String
    var labels: [String: String]
    var annotations: [String: String]
}

func alertGroupMappings() throws -> [[String: Any]] {
    guard let document = try Yams.load(yaml: try readText(alertsPath)) as? [String: Any],
        let groups = document["groups"] as? [[String: Any]]
    else { throw ObservabilityCheckError("\(alertsPath) has no `groups:` list") }
    return groups
}

func alertGroups() throws -> [String] { try alertGroupMappings().compactMap { $0["name"] as? String } }

func alertRules() throws -> [AlertRule] {
    try alertGroupMappings().flatMap { group in
        (group["rules"] as? [[String: Any]] ?? []).compactMap { rule -> AlertRule? in
            guard let name = rule["alert"] as? String else { return nil }
            return AlertRule(
                group: group["name"] as? String ?? "", name: name, expression: "\(rule["expr"] ?? "")",
                labels: (rule["labels"] as? [String: Any] ?? [:]).mapValues { "\($0)" },
                annotations: (rule["annotations"] as? [String: Any] ?? [:]).mapValues { "\($0)" })
        }
    }
}

func dashboard() throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(try readText(dashboardPath).utf8)) as? [String: Any]
    else { throw ObservabilityCheckError("\(dashboardPath) is not a JSON object") }
    return object
}

/// Every panel, those inside collapsed rows too.
func dashboardPanels() throws -> [[String: Any]] {
    let top = try dashboard()["panels"] as? [[String: Any]] ?? []
    return top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
}

func dashboardExpressions() throws -> [String] {
    try dashboardPanels().flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
}

/// Validates `dashboardJSON` against deploy/grafana/dashboard.schema.json with python3's
/// jsonschema (which scripts/test installs); status 0 when valid, else the errors.
func validateDashboard(_ dashboardJSON: String) throws -> (status: Int32, output: String) {
    let program = """
        import json, sys
        try:
            import jsonschema
        except ImportError:
            sys.exit("python3's jsonschema is missing: pip install jsonschema (scripts/test does)")
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(sys.stdin)))
        for error in errors:
            print("/".join(str(p) for p in error.absolute_path) + ": " + error.message)
        sys.exit(1 if errors else 0)
        """
    return try runTool("/usr/bin/env", ["python3", "-c", program, url(dashboardSchemaPath).path], input: dashboardJSON)
}
