import Metrics

/// The workflow's own figures, beside the engine's steps by outcome and their durations.
enum PrepMetrics {
    static func generation(_ elapsed: Duration, generator: String) {
        Timer(label: "attache_prep_materials_generation_seconds", dimensions: [("generator", generator)])
            .recordNanoseconds(Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// An owner finished answering (`true`) or the wait timed out (`false`).
    static func ownerFinished(_ finished: Bool) {
        Counter(label: "attache_prep_owner_waits_total", dimensions: [("outcome", finished ? "answered" : "timed_out")])
            .increment()
    }
}
