import Foundation
import HTTPClient
import Shared
import TestSupport
import Testing
import Yams

// The services' metrics, deploy/grafana/attache.json and deploy/prometheus/alerts.yaml, held to
// each other and to Prometheus' tools: a metric renamed in a service and not in the dashboard or
// an alert fails here instead of leaving a panel empty or an alert that can never fire.

@Suite("Observability: metrics, dashboard and alerts")
struct ObservabilityTests {
    @Test("every metric the services define is in the metric catalog, and the catalog names only metrics they define")
    func catalogMatchesSources() throws {
        let defined = Set(try metricDefinitions().map(\.name))
        let catalog = Set(try catalogMetrics())
        #expect(!defined.isEmpty, "no `label: \"attache_…\"` metric found under Services/ or Shared/")
        #expect(
            defined.subtracting(catalog).isEmpty,
            "metrics without an entry (help text) in \(catalogPath): \(defined.subtracting(catalog).sorted())")
        #expect(
            catalog.subtracting(defined).isEmpty,
            "\(catalogPath) names metrics no service defines (renamed or removed?): \(catalog.subtracting(defined).sorted())")
    }

    @Test("metric names follow Prometheus' conventions and no label carries an id")
    func namingConventions() throws {
        let definitions = try metricDefinitions()
        for metric in definitions {
            let origin = "\(metric.name) (\(metric.file))"
            #expect(metric.name.wholeMatch(of: /attache_[a-z][a-z0-9_]*[a-z0-9]/) != nil, "\(origin): not attache_snake_case")
            switch metric.kind {
            case "Counter":
                #expect(metric.name.hasSuffix("_total"), "\(origin): a counter's name ends in _total")
            case "Timer":
                #expect(metric.name.hasSuffix("_seconds"), "\(origin): a timer is exported in seconds, its name must say so")
            default:
                #expect(!metric.name.hasSuffix("_total"), "\(origin): only counters end in _total")
            }
            for abbreviation in ["_ms", "_millis", "_milliseconds", "_secs", "_sec", "_count", "_sum", "_bucket"] {
                #expect(
                    !metric.name.hasSuffix(abbreviation) && !metric.name.contains(abbreviation + "_"),
                    "\(origin): use base units and no reserved suffix (\(abbreviation))")
            }
            for label in metric.labels {
                #expect(
                    label.wholeMatch(of: /[a-z][a-z0-9_]*/) != nil && !label.hasPrefix("__"), "\(origin): label \(label)")
                // Unbounded values make one series per meeting, bot, call or person.
                #expect(
                    label.firstMatch(of: /(^|_)(id|ids|uuid|meeting|bot|session|user|email|owner|tenant|call)($|_)/) == nil,
                    "\(origin): label `\(label)` would carry an identifier; identifiers belong in logs, not in labels")
            }
        }
        // The same name always comes with the same labels, or Prometheus' series would not line up.
        for (name, uses) in Dictionary(grouping: definitions, by: \.name) {
            #expect(Set(uses.map { $0.labels.sorted() }).count == 1, "\(name) is defined with different labels: \(uses)")
            #expect(Set(uses.map(\.kind)).count == 1, "\(name) is defined as more than one kind: \(uses.map(\.kind))")
        }
    }

    @Test("promtool accepts the alerting rules")
    func alertRulesAreValid() throws {
        let result = try runTool(try promtool(), ["check", "rules", url(alertsPath).path])
        #expect(result.status == 0, "promtool check rules \(alertsPath):\n\(result.output)")
    }

    @Test("each alert fires on the series that should fire it and stays quiet otherwise (promtool test rules)")
    func alertRulesPassTheirTests() throws {
        let result = try runTool(try promtool(), ["test", "rules", url(alertTestsPath).path])
        #expect(result.status == 0, "promtool test rules \(alertTestsPath):\n\(result.output)")

        // Each alert has a case where it fires and one where it must not, and says what to do.
        let tests = try #require(try Yams.load(yaml: try readText(alertTestsPath)) as? [String: Any])
        var firing: Set<String> = []
        var quiet: Set<String> = []
        for test in tests["tests"] as? [[String: Any]] ?? [] {
            for check in test["alert_rule_test"] as? [[String: Any]] ?? [] {
                guard let name = check["alertname"] as? String else { continue }
                if (check["exp_alerts"] as? [Any])?.isEmpty == false { firing.insert(name) } else { quiet.insert(name) }
            }
        }
        let alerts = try alertRules()
        #expect(alerts.count >= 4, "alerts.yaml should hold the four groups' alerts, has \(alerts.map(\.name))")
        for alert in alerts {
            #expect(firing.contains(alert.name), "\(alertTestsPath) has no case in which \(alert.name) fires")
            #expect(quiet.contains(alert.name), "\(alertTestsPath) has no case in which \(alert.name) stays quiet")
            #expect(!(alert.annotations["summary"] ?? "").isEmpty, "\(alert.name) has no summary annotation")
            #expect(!(alert.annotations["description"] ?? "").isEmpty, "\(alert.name) has no description annotation")
            #expect(["warning", "critical"].contains(alert.labels["severity"] ?? ""), "\(alert.name) needs a severity")
        }
        let groups = Set(try alertGroups())
        for group in ["attache-parked-messages", "attache-consumers", "attache-voice", "attache-calendar-sync"] {
            #expect(groups.contains(group), "alerts.yaml has no group \(group) (has \(groups.sorted()))")
        }
    }

    @Test("the dashboard is valid against the schema of Grafana's model it relies on, and the schema can refuse one")
    func dashboardMatchesSchema() throws {
        let valid = try validateDashboard(try readText(dashboardPath))
        #expect(valid.status == 0, "\(dashboardPath) against \(dashboardSchemaPath):\n\(valid.output)")

        // A panel bound to one Grafana's data source uid instead of the variable is refused.
        var broken = try dashboard()
        var panels = try #require(broken["panels"] as? [[String: Any]])
        let index = try #require(panels.firstIndex { $0["type"] as? String != "row" })
        panels[index]["datasource"] = ["type": "prometheus", "uid": "P1809F7CD0C75ACF3"]
        broken["panels"] = panels
        let refused = try validateDashboard(
            String(decoding: try JSONSerialization.data(withJSONObject: broken), as: UTF8.self))
        #expect(refused.status != 0 && refused.output.contains("${datasource}"), "\(refused.output)")

        // Grafana keys panels by id.
        let ids = try dashboardPanels().map { $0["id"] as? Int ?? -1 }
        #expect(Set(ids).count == ids.count, "panel ids repeat: \(ids)")
    }

    @Test("the dashboard shows each thing an operator needs, by the metrics that measure it")
    func dashboardCoversTheIssue() throws {
        let expressions = try dashboardExpressions()
        let needed: [(String, String)] = [
            ("throughput", #"attache_messages_total\{[^}]*outcome="handled""#),
            ("errors", #"attache_messages_total\{[^}]*outcome=~"retried\|parked""#),
            ("handler latency", #"attache_handler_duration_seconds_bucket"#),
            ("queue depth", #"rabbitmq_queue_messages_ready"#),
            ("parked messages", #"rabbitmq_queue_messages\{queue=~"[^"]*dead-letter"#),
            ("voice latency per stage", #"attache_voice_reply_stage_seconds_bucket"#),
            ("workflows by state", #"by \(state\) \(attache_prep_workflows\)"#),
            ("verdicts by status", #"by \(status\) \(increase\(attache_monitoring_sessions_total"#),
        ]
        for (what, pattern) in needed {
            #expect(
                expressions.contains { !matches(of: "(\(pattern))", in: $0).isEmpty },
                "no panel of \(dashboardPath) shows \(what) (a query matching \(pattern))")
        }
    }

    @Test("every metric the dashboard and the alerts name is exported by a service or by RabbitMQ's plugin")
    func referencedMetricsExist() throws {
        let catalog = Set(try catalogMetrics())
        let rabbitmq = Set(
            try readText(rabbitmqMetricsPath).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") })
        let sources = [(dashboardPath, try dashboardExpressions()), (alertsPath, try alertRules().map(\.expression))]
        for (file, expressions) in sources {
            let names = Set(expressions.flatMap { matches(of: #"\b((?:attache|rabbitmq)_[a-z0-9_]+)"#, in: $0) })
            #expect(!names.isEmpty, "\(file) names no metric")
            for name in names.sorted() {
                let base = name.replacing(/_(bucket|sum|count)$/, with: "")
                #expect(
                    catalog.contains(name) || catalog.contains(base) || rabbitmq.contains(name),
                    "\(file) uses \(name), which no service exports (\(catalogPath)) and \(rabbitmqMetricsPath) does not list"
                )
            }
        }
    }

    @Test("the dashboard's queries are valid PromQL")
    func dashboardQueriesParse() throws {
        // promtool parses the expressions of recording rules: each query becomes one, with
        // Grafana's variables replaced by what Grafana would put there.
        let rules = try dashboardExpressions().enumerated().map { index, expression in
            let promql =
                expression
                .replacingOccurrences(of: "${service:regex}", with: "classifier|bot-gateway")
                .replacingOccurrences(of: "$service", with: "classifier|bot-gateway")
                .replacingOccurrences(of: "$__rate_interval", with: "1m")
                .replacingOccurrences(of: "$__range", with: "6h")
            return ["record": "dashboard:query_\(index)", "expr": promql]
        }
        #expect(!rules.isEmpty)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-rules-\(UUID()).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Yams.dump(object: ["groups": [["name": "dashboard", "rules": rules]]]).write(
            to: file, atomically: true, encoding: .utf8)
        let result = try runTool(try promtool(), ["check", "rules", file.path])
        #expect(result.status == 0, "a query of \(dashboardPath) is not valid PromQL:\n\(result.output)")
    }

    @Test("RabbitMQ's Prometheus plugin is enabled by the stack scripts and by compose, its port exposed")
    func rabbitmqPluginEnabled() throws {
        let stack = try readText("scripts/lib/rabbitmq.sh")
        #expect(
            !matches(of: #"echo '\[([a-z_,]*rabbitmq_prometheus[a-z_,]*)\]\.' > "\$RMQ_DIR/enabled_plugins""#, in: stack)
                .isEmpty, "scripts/lib/rabbitmq.sh must write rabbitmq_prometheus into the broker's enabled_plugins")
        #expect(stack.contains("prometheus.tcp.port = $RMQ_METRICS_PORT"), "the stack's broker needs its own metrics port")

        let plugins = try readText("deploy/rabbitmq/enabled_plugins")
        #expect(plugins.contains("rabbitmq_prometheus"), "deploy/rabbitmq/enabled_plugins lacks rabbitmq_prometheus")
        let rabbitmq = try #require(try serviceDefinitions(in: try loadCompose())["rabbitmq"])
        let volumes = (rabbitmq["volumes"] as? [Any] ?? []).compactMap { $0 as? String }
        #expect(
            volumes.contains { $0.hasPrefix("./deploy/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins") },
            "compose's rabbitmq must mount deploy/rabbitmq/enabled_plugins (has \(volumes))")
        let ports = (rabbitmq["ports"] as? [Any] ?? []).map { "\($0)" }
        #expect(ports.contains { $0.hasSuffix("15692") }, "compose's rabbitmq must expose 15692 (has \(ports))")
        let prometheus = try readText(prometheusConfigPath)
        #expect(prometheus.contains("rabbitmq:15692"), "\(prometheusConfigPath) does not scrape RabbitMQ")
        for service in try serviceNames() {
            #expect(prometheus.contains("job_name: attache-\(service)"), "\(prometheusConfigPath) has no job for \(service)")
        }
    }

    @Test("a running service's /metrics passes promtool check metrics")
    func liveMetricsPassPromtool() async throws {
        let promtool = try promtool()
        let prefix = TestStack.uniqueName("obs")
        try await TestDatabase.with { databaseURL in
            try await using(prefix, tearDown: { try await SystemBus.deleteQueues(prefix: $0) }) { prefix in
                let port = try freePort()
                let classifier = try ServiceBinaries.start(
                    "classifier",
                    environment: [
                        "ATTACHE_AMQP_URL": try TestStack.variable("ATTACHE_TEST_AMQP_URL"), "ATTACHE_DATABASE_URL": databaseURL,
                        "ATTACHE_BUS_PREFIX": prefix, "ATTACHE_RETRY_DELAYS_MS": "200,500,1000",
                        "ATTACHE_HTTP_PORT": String(port), "ATTACHE_CLASSIFIER_RULES": TestStack.shippedRulesPath,
                    ])
                let http = HTTPClient(retry: .none, logger: TestStack.logger)
                let metricsURL = "http://127.0.0.1:\(port)/metrics"
                do {
                    try await eventually("classifier ready") {
                        (try? await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/readyz")))?.status == 200
                    }
                    // One meeting handled, so that counters, a histogram and the outbox have series.
                    let start = Date(timeIntervalSince1970: 1_796_896_800)  // 2026-12-10 10:00Z
                    let meeting = MeetingSnapshot(
                        meetingID: UUID(), revision: 1, source: "ics:obs", externalID: "obs-1", title: "Weekly staff meeting",
                        description: "", start: start, end: start.addingTimeInterval(1800),
                        organizer: Participant(email: "alex@example.com"), attendees: [Participant(email: "sam@example.com")],
                        conferenceURL: nil)
                    try await SystemBus.publish(
                        Envelope(
                            tenantID: "acme", correlationID: meeting.meetingID,
                            payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: [])),
                        prefix: prefix)
                    try await eventually("the meeting handled and its classification relayed") {
                        let text = (try? await http.send(OutboundRequest(url: metricsURL)))?.text ?? ""
                        return text.contains("attache_handler_duration_seconds_bucket")
                            && text.contains("attache_outbox_published_total")
                    }
                    let exposition = try await http.send(OutboundRequest(url: metricsURL)).text
                    #expect(exposition.contains("# HELP attache_messages_total "), "no help text:\n\(exposition)")
                    let result = try runTool(promtool, ["check", "metrics"], input: exposition)
                    #expect(result.status == 0, "promtool check metrics on classifier's /metrics:\n\(result.output)")
                    #expect(result.output.isEmpty, "promtool reports problems:\n\(result.output)")
                } catch {
                    Issue.record("\(error)\n--- classifier\n\(classifier.output.suffix(3000))")
                }
                classifier.signal(SIGTERM)
                if await classifier.exitStatus(within: .seconds(30)) == nil { classifier.signal(SIGKILL) }
            }
        }
    }
}
