import Metrics
import Prometheus

/// The process-wide metrics registry, installed into swift-metrics once.
public enum MetricsBootstrap {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Around the voice-to-voice budget (800 ms, as ATTACHE_MONITORING_LATENCY_BUDGET_MS):
        // the library's default buckets jump from 500 ms to 1 s, too coarse to tell a reply
        // within the budget from one over it.
        factory.durationHistogramBuckets["attache_voice_reply_stage_seconds"] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(400), .milliseconds(500),
            .milliseconds(600), .milliseconds(700), .milliseconds(800), .seconds(1), .milliseconds(1500), .seconds(2),
            .seconds(3), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
