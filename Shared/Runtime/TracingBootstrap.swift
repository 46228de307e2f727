import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Telemetry
import Tracing

/// Installs the OTLP tracer, once per process, when `TracingConfiguration` says so; otherwise the
/// tracing API keeps its no-op tracer and the instrumented code skips its spans altogether
/// (`Telemetry.isTracing`). The exporter is a service of its own, which `ServiceRuntime` runs
/// first and so stops last, after the consumers and the relay: their last spans are flushed.
public enum TracingBootstrap {
    private static let exporter = Mutex<(any Service)?>(nil)

    /// The exporter's service when tracing is on, for the service group.
    static var service: (any Service)? { exporter.withLock { $0 } }

    public static func bootstrap(_ configuration: TracingConfiguration, logger: Logger) throws {
        guard configuration.enabled, !Telemetry.isTracing else { return }
        var otel = OTel.Configuration.default
        otel.serviceName = configuration.serviceName
        otel.logs.enabled = false
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.traces.exporter = .otlp
        otel.diagnosticLogger = .custom(logger)
        // The standard variables (endpoint, protocol, batch delays, sampler) apply on top of this.
        let backend = try OTel.makeTracingBackend(configuration: otel)
        InstrumentationSystem.bootstrap(backend.factory)
        exporter.withLock { $0 = backend.service }
        Telemetry.setTracing(true)
        logger.info("exporting traces", metadata: ["service_name": "\(configuration.serviceName)"])
    }
}
