/// Every metric the services export, with its help text. swift-metrics has no place for help
/// text, so `/metrics` adds it from here (Prometheus' linters want one per metric), and the
/// tests hold the sources, the dashboard and the alerts to these names: a metric renamed in one
/// place and not in the others fails there rather than leaving a panel or an alert silently empty.
///
/// Names follow Prometheus' conventions: one `attache_` prefix, base units (`_seconds`),
/// `_total` on counters, and labels of small, fixed sets of values (never a meeting, bot,
/// session, user or message id).
public enum MetricCatalog {
    public static let help: [String: String] = [
        // Delivery: every consuming service.
        "attache_messages_total":
            "Messages a service's consumer finished with, by service, message type and outcome (handled, retried, parked).",
        "attache_handler_duration_seconds":
            "Time a service's handler took for a message it handled, by service and message type.",
        "attache_consumer_pauses_total": "Times a consumer paused for a database outage and resumed, by service.",
        "attache_outbox_published_total": "Events relayed from a service's outbox to the broker, by schema (the service's).",
        "attache_outbox_relay_failures_total": "Failed attempts to relay a service's outbox to the broker, by schema.",
        "attache_unrouted_events_total": "Events published that no queue was bound to, by routing key.",
        // calendar-monitor
        "attache_calendar_syncs_total": "Calendar connection syncs, by provider kind and outcome (ok, revoked, failed).",
        "attache_calendar_sync_duration_seconds": "Time one calendar connection's sync took, by provider kind.",
        // prep-orchestrator
        "attache_workflow_steps_total": "Preparation workflow steps run, by step and outcome.",
        "attache_workflow_step_duration_seconds": "Time a preparation workflow step took, by step.",
        "attache_prep_owner_waits_total": "Owners' answers awaited, by outcome (answered, timed_out).",
        "attache_prep_materials_generation_duration_seconds": "Time generating a meeting's materials took, by generator.",
        "attache_prep_workflows": "Preparation workflows in the database, by state.",
        // bot-gateway
        "attache_webhooks_total": "Recall.ai webhooks received, by outcome.",
        "attache_slack_requests_total": "Slack requests (events, interactivity) received, by outcome.",
        "attache_twilio_callbacks_total": "Twilio status callbacks received, by outcome.",
        "attache_google_push_notifications_total": "Google Calendar push notifications received, by outcome.",
        // realtime-worker
        "attache_realtime_live_calls": "Calls live on this replica.",
        "attache_voice_reply_stage_seconds":
            "Time from the end of a participant's speech to each stage of the agent's reply, by stage (first_audio_out is voice to voice).",
        // monitoring-worker
        "attache_monitoring_sessions_total": "Calls analysed, by verdict status (pass, partial, fail, error, skipped).",
        "attache_monitoring_analysis_duration_seconds": "Time one call's analysis took, by analyser.",
        "attache_monitoring_diagnoses_total": "Root causes found by diagnoses of failed and partial calls, by kind.",
        "attache_monitoring_heartbeat_timestamp_seconds": "When the monitoring heartbeat last ran (Unix time).",
    ]

    /// `text` (Prometheus' text format, as the registry emits it) with a `# HELP` line before
    /// each `# TYPE` line of a metric the catalog knows.
    public static func withHelp(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 4096)
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let help = help[String(name)] {
                    let escaped = help.replacingOccurrences(of: "\\", with: "\\\\")
                    out += "# HELP \(name) \(escaped)\n"
                }
            }
            out += line
            out += "\n"
        }
        return out
    }
}
