import Runtime
import Shared
import Telemetry
import TestSupport
import Testing
import Tracing

/// Traces are exported only when OpenTelemetry's standard variables ask for it; bad values stop
/// the service naming the variable.
@Suite("Tracing configuration")
struct TracingConfigurationTests {
    func configuration(_ values: [String: String]) throws(ConfigurationError) -> TracingConfiguration {
        try TracingConfiguration(service: "classifier", environment: Environment(values))
    }

    @Test("with no OTEL variables tracing is off, and the tracer stays the no-op one")
    func offByDefault() throws {
        let tracing = try configuration([:])
        #expect(!tracing.enabled)
        #expect(tracing.serviceName == "classifier")
        try TracingBootstrap.bootstrap(tracing, logger: TestStack.logger)
        #expect(!Telemetry.isTracing)
        #expect(InstrumentationSystem.tracer is NoOpTracer)
        // Events then carry a context without any span of the process's.
        #expect(TraceContext.current == nil)
    }

    @Test("an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp turns it on; OTEL_SDK_DISABLED and none win")
    func turnedOn() throws {
        #expect(try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]).enabled)
        #expect(try configuration(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"]).enabled)
        #expect(try configuration(["OTEL_TRACES_EXPORTER": "otlp"]).enabled)
        #expect(try !configuration(["OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]).enabled, "a protocol alone asks for nothing")
        #expect(
            try !configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"]).enabled)
        #expect(
            try !configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"])
                .enabled)
        #expect(try configuration(["OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "false"]).enabled)
        #expect(try configuration(["OTEL_SERVICE_NAME": "classifier-eu"]).serviceName == "classifier-eu")
    }

    @Test(
        "a bad value is a configuration error naming its variable",
        arguments: [
            ("OTEL_SDK_DISABLED", "yes"), ("OTEL_TRACES_EXPORTER", "jaeger"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector/"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"), ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"), ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
    func badValue(name: String, value: String) {
        do {
            _ = try configuration(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"].merging([name: value]) { $1 })
            Issue.record("\(name)=\(value) was accepted")
        } catch {
            #expect(error.setting == name)
            #expect(error.description.contains(value))
        }
    }
}
