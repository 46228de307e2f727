import Bus
import Delivery
import Foundation
import OpsConsole
import Runtime
import Shared
import Store

/// attache-ops: operator commands.
///
///   attache-ops dlq list SERVICE [--limit N]       parked messages, with why they were parked
///   attache-ops dlq replay SERVICE [--id MESSAGE]  put parked messages back on the work queue
///   attache-ops watch [--until TYPE] [--timeout SECONDS]
///                                                  print events as they pass, as a timeline
///   attache-ops workflows list [--state STATE] [--limit N]
///   attache-ops workflows show ID                  a preparation workflow's steps, context and materials
///   attache-ops bots list [--limit N]              meeting bots, their status and problems
///   attache-ops bots show ID                       a bot's (or meeting's) status history and problems
///   attache-ops calls list [--status STATUS] [--limit N]
///                                                  call sessions and their verdicts (pass, fail, …)
///   attache-ops calls show SESSION                 turns with latency, intents, verdict, diagnosis
///   attache-ops calls reanalyse SESSION            judge the session again in the next cycle
///   attache-ops serve                              the operators' web console (see README, "Console")
///
/// Reads ATTACHE_AMQP_URL, ATTACHE_BUS_PREFIX and ATTACHE_DATABASE_URL like the services.
let usage = """
    usage: attache-ops dlq list SERVICE [--limit N]
           attache-ops dlq replay SERVICE [--id MESSAGE_ID]
           attache-ops watch [--until MESSAGE_NAME] [--timeout SECONDS]
           attache-ops workflows list [--state STATE] [--limit N]
           attache-ops workflows show WORKFLOW_OR_MEETING_ID
           attache-ops bots list [--limit N]
           attache-ops bots show BOT_OR_MEETING_ID
           attache-ops calls list [--status pass|fail|partial|skipped|error|pending] [--limit N]
           attache-ops calls show SESSION_ID
           attache-ops calls reanalyse SESSION_ID
           attache-ops serve      (ATTACHE_OPS_TOKEN required; ATTACHE_OPS_HTTP_PORT, default 8090;
                                   ATTACHE_OPS_SERVICE_URLS optional, service=URL,… for readiness)
    """

let services = ["calendar-monitor", "classifier", "prep-orchestrator", "bot-gateway", "realtime-worker", "monitoring-worker"]

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("attache-ops: \(message)\n".utf8))
    exit(status)
}

func option(_ name: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "serve" {
    // Configuration, logging and exit statuses as the services have them (78 for a bad setting).
    await ServiceMain.run(ConsoleConfiguration.self) { configuration, logger in
        try await ConsoleServer.serve(configuration, logger: logger)
    }
}
let environment = Environment()
let broker: AMQPConfiguration
do {
    broker = try AMQPConfiguration(url: environment.string("ATTACHE_AMQP_URL", default: "amqp://guest:guest@127.0.0.1:5672/"))
} catch {
    fail("configuration error: ATTACHE_AMQP_URL \(error)", status: 78)
}
let prefix = environment.string("ATTACHE_BUS_PREFIX", default: "attache")

func database() -> PostgresPool {
    PostgresPool(
        url: environment.string("ATTACHE_DATABASE_URL", default: "postgresql://postgres@127.0.0.1:5432/attache"), size: 1)
}

func workflows() -> Workflows { Workflows(pool: database()) }

func queues(for service: String?) -> ServiceQueues {
    guard let service, services.contains(service) else {
        fail("name one of the services: \(services.joined(separator: ", "))")
    }
    return ServiceQueues(prefix: prefix, service: service)
}

do {
    switch (arguments.first, arguments.dropFirst().first) {
    case ("dlq", "list"):
        let service = arguments.dropFirst(2).first
        let limit = option("--limit", in: arguments).flatMap(Int.init) ?? 100
        let parked = try await DeadLetters.list(queues(for: service), broker: broker, limit: limit)
        if parked.isEmpty { print("no parked messages for \(service!)") }
        for message in parked {
            print("\(message.messageID ?? "(no id)")  \(message.type ?? "?")  routing key \(message.originalRoutingKey)")
            print("    parked \(message.parkedAt ?? "?") after \(message.attempts) attempt(s): \(message.error)")
        }
    case ("dlq", "replay"):
        let service = arguments.dropFirst(2).first
        let count = try await DeadLetters.replay(queues(for: service), broker: broker, messageID: option("--id", in: arguments))
        print("replayed \(count) message(s) to \(queues(for: service).workQueue)")
    case ("watch", _):
        let until = option("--until", in: arguments)
        let timeout = option("--timeout", in: arguments).flatMap(Int.init).map { Duration.seconds($0) }
        let reached = try await Timeline(broker: broker, prefix: prefix).watch(until: until, timeout: timeout)
        exit(reached ? 0 : 1)
    case ("workflows", "list"):
        try await workflows().list(
            state: option("--state", in: arguments), limit: option("--limit", in: arguments).flatMap(Int.init) ?? 50)
    case ("workflows", "show"):
        guard let id = arguments.dropFirst(2).first.flatMap(UUID.init(uuidString:)) else { fail(usage) }
        guard try await workflows().show(id) else { fail("no workflow for \(id)", status: 1) }
    case ("bots", "list"):
        try await Bots(pool: database()).list(limit: option("--limit", in: arguments).flatMap(Int.init) ?? 50)
    case ("bots", "show"):
        guard let id = arguments.dropFirst(2).first else { fail(usage) }
        guard try await Bots(pool: database()).show(id) else { fail("no bot for \(id)", status: 1) }
    case ("calls", "list"):
        try await Calls(pool: database()).list(
            status: option("--status", in: arguments), limit: option("--limit", in: arguments).flatMap(Int.init) ?? 50)
    case ("calls", "show"):
        guard let id = arguments.dropFirst(2).first.flatMap(UUID.init(uuidString:)) else { fail(usage) }
        guard try await Calls(pool: database()).show(id) else { fail("no call session \(id)", status: 1) }
    case ("calls", "reanalyse"):
        guard let id = arguments.dropFirst(2).first.flatMap(UUID.init(uuidString:)) else { fail(usage) }
        guard try await Calls(pool: database()).reanalyse(id) else { fail("no call session \(id)", status: 1) }
        print("call session \(id) will be judged again in the next monitoring cycle")
    default:
        fail(usage)
    }
} catch {
    fail("\(error)", status: 1)
}
