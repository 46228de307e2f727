// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Attache",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "calendar-monitor", targets: ["CalendarMonitorService"]),
        .executable(name: "classifier", targets: ["Classifier"]),
        .executable(name: "prep-orchestrator", targets: ["PrepOrchestrator"]),
        .executable(name: "bot-gateway", targets: ["BotGateway"]),
        .executable(name: "realtime-worker", targets: ["RealtimeWorker"]),
        .executable(name: "monitoring-worker", targets: ["MonitoringWorker"]),
        .executable(name: "attache-ops", targets: ["AttacheOps"]),
        .executable(name: "bench-bus", targets: ["BenchBus"]),
        .executable(name: "bench-coding", targets: ["BenchCoding"]),
        .executable(name: "bench-classifier", targets: ["BenchClassifier"]),
        .executable(name: "bench-delivery", targets: ["BenchDelivery"]),
        .executable(name: "bench-calendar", targets: ["BenchCalendar"]),
        .executable(name: "bench-realtime", targets: ["BenchRealtime"]),
        .executable(name: "bench-conversation", targets: ["BenchConversation"]),
        .executable(name: "bench-prep", targets: ["BenchPrep"]),
        .executable(name: "bench-gateway", targets: ["BenchGateway"]),
        .executable(name: "bench-monitoring", targets: ["BenchMonitoring"]),
        .executable(name: "bench-console", targets: ["BenchConsole"]),
        .executable(name: "chaos", targets: ["Chaos"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/jpsim/Yams", "5.0.0"..<"7.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // OTLP over HTTP only: the gRPC exporter would add grpc-swift and minutes to every build.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Thin C interop: typed shims over variadic and macro-only C APIs.
        .systemLibrary(
            name: "CRabbitMQ", path: "Shared/CRabbitMQ", pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(
            name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Shared/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),

        .systemLibrary(
            name: "CESpeak", path: "Shared/CESpeak", pkgConfig: "espeak-ng",
            providers: [.apt(["libespeak-ng-dev"])]),
        .systemLibrary(
            name: "CPocketSphinx", path: "Shared/CPocketSphinx", pkgConfig: "pocketsphinx",
            providers: [.apt(["libpocketsphinx-dev", "libsphinxbase-dev"])]),

        // Message schemas: the wire contract between services.
        .target(name: "Shared", path: "Shared/Messages", exclude: ["README.md"], swiftSettings: swiftSettings),

        // Building blocks.
        // Spans: whether they are exported, and the envelope's traceparent to and from the tracer.
        .target(
            name: "Telemetry", dependencies: ["Shared", .product(name: "Tracing", package: "swift-distributed-tracing")],
            path: "Shared/Telemetry", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(name: "Resilience", path: "Shared/Resilience", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Bus", dependencies: ["CRabbitMQ", "Resilience", .product(name: "Logging", package: "swift-log")],
            path: "Shared/Bus", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Store",
            dependencies: [
                "CLibPQ", "Resilience", "Telemetry", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Shared/Store", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "HTTPClient",
            dependencies: [
                "CCurl", "Resilience", "Telemetry", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Shared/HTTPClient", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "ObjectStore", dependencies: ["HTTPClient", .product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/ObjectStore", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Twilio's Messages API, for texting a meeting's owner when Slack cannot reach them.
        .target(
            name: "Twilio",
            dependencies: [
                "HTTPClient", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Twilio", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Recall.ai's meeting-bot API: sending bots to meetings, removing them, their transcripts.
        .target(
            name: "Recall",
            dependencies: [
                "HTTPClient", "Resilience", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Recall", exclude: ["README.md"], swiftSettings: swiftSettings),
        // E-mail over SMTP (libcurl), for a meeting's owner. HTTPClient for libcurl's shared setup.
        // Per-call camera tokens: bot-gateway mints them into the camera URL, realtime-worker checks them.
        .target(
            name: "CallAccess", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Shared/CallAccess", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Mail", dependencies: ["CCurl", "HTTPClient", .product(name: "Logging", package: "swift-log")],
            path: "Shared/Mail", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Slack's Web API and request signatures, for the meeting owner's channel. ObjectStore
        // for `lowercaseHex`.
        .target(
            name: "Slack",
            dependencies: [
                "HTTPClient", "Resilience", "ObjectStore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Slack", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Chat models (OpenAI-compatible streaming, and the embedded local responder): used by the
        // realtime voice pipeline and by prep materials.
        .target(
            name: "LanguageModel", dependencies: ["HTTPClient", .product(name: "Logging", package: "swift-log")],
            path: "Shared/LanguageModel", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Runtime",
            dependencies: [
                "Bus", "Store", "Delivery", "Shared", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Shared/Runtime", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Delivery",
            dependencies: [
                "Bus", "Store", "Shared", "Resilience", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Delivery", exclude: ["README.md"], swiftSettings: swiftSettings),
        // Post-call analysis: what people asked the agent, whether it delivered, and why not.
        .target(
            name: "CallAnalysis",
            dependencies: [
                "Shared", "LanguageModel", .product(name: "Yams", package: "Yams"),
            ],
            path: "Shared/CallAnalysis", exclude: ["README.md"], swiftSettings: swiftSettings),

        // The voice pipeline and its speech engines: used by realtime-worker, by bot-gateway's
        // simulated meeting (which speaks), and by tests and the benchmark in process.
        .target(
            name: "VoicePipeline", dependencies: ["LanguageModel", "Shared", .product(name: "Logging", package: "swift-log")],
            path: "Shared/VoicePipeline", exclude: ["README.md"], swiftSettings: swiftSettings),
        // A camera page's media connection to its call: realtime-worker's, and the conversation bench's.
        .target(
            name: "MediaConnection",
            dependencies: [
                "VoicePipeline", .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Shared/MediaConnection", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "SpeechEngines",
            dependencies: [
                "VoicePipeline", "CESpeak", "CPocketSphinx", "HTTPClient",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Shared/SpeechEngines", exclude: ["README.md"], swiftSettings: swiftSettings),

        // The six services.
        // calendar-monitor's code is a library, so that benchmarks can drive its sync in process;
        // main.swift is the executable. iCalendar reading is a library of its own, on Foundation only.
        .target(name: "ICalendar", path: "Services/calendar-monitor/ICalendar", swiftSettings: swiftSettings),
        .target(
            name: "CalendarMonitor",
            dependencies: [
                "ICalendar", "Shared", "Delivery", "Runtime", "Store", "HTTPClient", "Resilience",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/calendar-monitor", exclude: ["main.swift", "ICalendar"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "CalendarMonitorService", dependencies: ["CalendarMonitor", "Delivery", "HTTPClient", "Resilience", "Runtime"],
            path: "Services/calendar-monitor",
            exclude: [
                "ICalendar", "Providers", "Sync", "CalendarMonitorApp.swift", "CalendarMonitorConfiguration.swift",
                "ConnectionsCommand.swift",
            ],
            sources: ["main.swift"], swiftSettings: swiftSettings),
        // The rules engine is a library of its own so that benchmarks can run it in process.
        .target(
            name: "ClassificationRules", dependencies: [.product(name: "Yams", package: "Yams")],
            path: "Services/classifier/Rules", swiftSettings: swiftSettings),
        .executableTarget(
            name: "Classifier", dependencies: ["Shared", "Delivery", "Runtime", "Store", "ClassificationRules"],
            path: "Services/classifier", exclude: ["Rules"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "PrepOrchestrator",
            dependencies: [
                "Shared", "Delivery", "Runtime", "Store", "Resilience", "HTTPClient", "LanguageModel", "ObjectStore", "Slack",
                "Twilio", "Mail", "Telemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Services/prep-orchestrator", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BotGateway",
            dependencies: [
                "Shared", "Delivery", "Runtime", "Store", "Resilience", "HTTPClient", "VoicePipeline", "SpeechEngines", "Slack",
                "Twilio", "Recall", "CallAccess", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/bot-gateway", swiftSettings: swiftSettings),
        .executableTarget(
            name: "RealtimeWorker",
            dependencies: [
                "Shared", "Delivery", "Runtime", "Store", "VoicePipeline", "SpeechEngines", "LanguageModel", "CallAccess",
                "MediaConnection", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Yams", package: "Yams"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Services/realtime-worker", swiftSettings: swiftSettings),
        .executableTarget(
            name: "MonitoringWorker",
            dependencies: [
                "Shared", "Delivery", "Runtime", "Store", "CallAnalysis", "LanguageModel", "HTTPClient",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/monitoring-worker", swiftSettings: swiftSettings),

        // Operator and benchmark tools.
        // The operators' web console (`attache-ops serve`) and the queries the CLI shares with it:
        // a library, so that tests drive it in process with a clock of their own.
        .target(
            name: "OpsConsole",
            dependencies: [
                "Shared", "Delivery", "Bus", "Runtime", "Store", "CallAnalysis", "HTTPClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/attache-ops/Console", swiftSettings: swiftSettings),
        .executableTarget(
            name: "AttacheOps", dependencies: ["Shared", "Delivery", "Bus", "Runtime", "Store", "CallAnalysis", "OpsConsole"],
            path: "Tools/attache-ops", exclude: ["Console"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchBus", dependencies: ["Bus", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench-bus", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchCoding", dependencies: ["Shared"], path: "Tools/bench-coding", swiftSettings: swiftSettings),

        .executableTarget(
            name: "BenchClassifier",
            dependencies: ["Bus", "Delivery", "Shared", "ClassificationRules", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench-classifier", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchDelivery",
            dependencies: ["Bus", "Delivery", "Shared", "Store", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench-delivery", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchPrep",
            dependencies: ["Bus", "Delivery", "Shared", "Store", "HTTPClient", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench-prep", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchGateway",
            dependencies: [
                "Bus", "Delivery", "Shared", "Slack", "HTTPClient", "Resilience", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tools/bench-gateway", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchRealtime",
            dependencies: [
                "VoicePipeline", "SpeechEngines", "LanguageModel", "Shared", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/bench-realtime", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchConversation",
            dependencies: [
                "VoicePipeline", "SpeechEngines", "LanguageModel", "MediaConnection", "TestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tools/bench-conversation", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchMonitoring",
            dependencies: [
                "CallAnalysis", "Shared", "Bus", "Delivery", "Store", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/bench-monitoring", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchConsole",
            dependencies: ["Store", "HTTPClient", .product(name: "Logging", package: "swift-log")],
            path: "Tools/bench-console", swiftSettings: swiftSettings),
        .executableTarget(
            name: "BenchCalendar",
            dependencies: [
                "CalendarMonitor", "Delivery", "Bus", "Store", "Shared", "HTTPClient", "Runtime", "Resilience", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/bench-calendar", swiftSettings: swiftSettings),
        .executableTarget(
            name: "Chaos",
            dependencies: [
                "Bus", "Delivery", "Store", "Shared", "HTTPClient", "TestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tools/chaos", swiftSettings: swiftSettings),

        // Tests.
        .target(
            name: "TestSupport",
            dependencies: [
                "Bus", "Store", "Delivery", "VoicePipeline", "SpeechEngines", "HTTPClient", "Twilio", "Recall",
                .product(name: "Logging", package: "swift-log"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "VoiceTests",
            dependencies: [
                "VoicePipeline", "SpeechEngines", "LanguageModel", "Shared", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CallAnalysisTests",
            dependencies: [
                "CallAnalysis", "Shared", "LanguageModel", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "MonitoringWorkerTests",
            dependencies: [
                "MonitoringWorker", "CallAnalysis", "Shared", "Delivery", "Store", "LanguageModel", "HTTPClient", "TestSupport",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SharedTests", dependencies: ["Shared"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "InfrastructureTests",
            dependencies: [
                "Bus", "Store", "HTTPClient", "Delivery", "Runtime", "Shared", "Resilience", "TestSupport", "LanguageModel",
                "ObjectStore", "Slack", "Mail", "Recall", "CallAccess", "Telemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        // One test target per service, and one for the whole system (its binaries, the end-to-end
        // run, the deployment files).
        .testTarget(
            name: "CalendarMonitorTests",
            dependencies: [
                "CalendarMonitor", "ICalendar", "Delivery", "Store", "Shared", "HTTPClient", "Runtime", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "ClassifierTests",
            dependencies: ["Classifier", "ClassificationRules", "Shared", "Delivery", "Store", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "PrepOrchestratorTests",
            dependencies: [
                "PrepOrchestrator", "Shared", "Delivery", "Store", "HTTPClient", "LanguageModel", "ObjectStore", "Slack",
                "Twilio", "Mail", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "BotGatewayTests",
            dependencies: [
                "BotGateway", "Shared", "Delivery", "Runtime", "Store", "HTTPClient", "Slack", "Twilio", "Recall", "TestSupport",
                "CallAccess", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "RealtimeWorkerTests",
            dependencies: [
                "RealtimeWorker", "Shared", "Delivery", "Store", "HTTPClient", "Runtime", "LanguageModel", "VoicePipeline",
                "SpeechEngines", "TestSupport", "CallAccess",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // The operators' console over real HTTP, on the services' real schemas (their migrations).
        .testTarget(
            name: "OpsConsoleTests",
            dependencies: [
                "OpsConsole", "CalendarMonitor", "Classifier", "PrepOrchestrator", "BotGateway", "RealtimeWorker",
                "MonitoringWorker", "Bus", "Delivery", "Shared", "Store", "HTTPClient", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SystemTests",
            dependencies: [
                "BotGateway", "Bus", "Delivery", "Shared", "Slack", "Store", "HTTPClient", "TestSupport", "CallAccess",
                "CallAnalysis", .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings),
    ]
)
