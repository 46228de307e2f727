import Foundation

/// Whether and where spans are exported, from OpenTelemetry's standard variables. Off unless
/// they ask for it: an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
/// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp; OTEL_SDK_DISABLED=true and
/// OTEL_TRACES_EXPORTER=none turn it off whatever else is set. The variables swift-otel reads
/// itself are checked here first, so that a bad value stops the service with its name instead of
/// being skipped with a warning.
public struct TracingConfiguration: Sendable, Equatable {
    public var enabled: Bool
    /// `service.name` on every span: OTEL_SERVICE_NAME, else the service's own name.
    public var serviceName: String

    public enum OTLPProtocol: String, Sendable, CaseIterable {
        case httpProtobuf = "http/protobuf"
        case httpJSON = "http/json"
    }

    public init(service: String, environment env: Environment) throws(ConfigurationError) {
        serviceName = env.string("OTEL_SERVICE_NAME", default: service)
        let disabled = try Self.boolean("OTEL_SDK_DISABLED", env)
        let exporter = env.optionalString("OTEL_TRACES_EXPORTER")?.trimmingCharacters(in: .whitespaces).lowercased()
        if let exporter, !["otlp", "none"].contains(exporter) {
            throw ConfigurationError(
                setting: "OTEL_TRACES_EXPORTER", problem: "must be otlp or none (the exporters built in), not '\(exporter)'")
        }
        var endpointSet = false
        for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
            endpointSet = try env.url(name) != nil || endpointSet
        }
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            guard let text = env.optionalString(name) else { continue }
            if text.lowercased() == "grpc" {
                throw ConfigurationError(
                    setting: name, problem: "is grpc, which this build does not export: use http/protobuf or http/json")
            }
            _ = try env.choice(name, default: OTLPProtocol.httpProtobuf)
        }
        // Milliseconds, as the specification has them.
        for name in [
            "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        ] {
            _ = try env.integer(name, default: 0, in: 0...3_600_000)
        }
        for name in ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] {
            _ = try env.integer(name, default: 1, in: 1...1_000_000)
        }
        let samplers = [
            "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
            "parentbased_traceidratio",
        ]
        if let sampler = env.optionalString("OTEL_TRACES_SAMPLER"), !samplers.contains(sampler.lowercased()) {
            throw ConfigurationError(
                setting: "OTEL_TRACES_SAMPLER", problem: "must be one of \(samplers.joined(separator: ", ")), not '\(sampler)'")
        }
        if let argument = env.optionalString("OTEL_TRACES_SAMPLER_ARG"), Double(argument).map({ (0...1).contains($0) }) != true {
            throw ConfigurationError(
                setting: "OTEL_TRACES_SAMPLER_ARG", problem: "must be a probability from 0 to 1, not '\(argument)'")
        }
        enabled = !disabled && exporter != "none" && (exporter == "otlp" || endpointSet)
    }

    private static func boolean(_ name: String, _ env: Environment) throws(ConfigurationError) -> Bool {
        guard let text = env.optionalString(name) else { return false }
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError(setting: name, problem: "must be true or false, not '\(text)'")
        }
    }
}
