import Bus
import Delivery
import Foundation
import HTTPClient
import Logging
import Runtime

/// What the broker says about one queue.
enum QueueState: Sendable, Equatable {
    case counts(messages: Int, consumers: Int)
    /// The broker has no such queue: the service never started on this bus prefix (or the
    /// queue was deleted). Nothing can be waiting or parked in it.
    case missing
    /// The broker did not answer.
    case unknown

    var messages: Int? {
        if case .counts(let messages, _) = self { messages } else if case .missing = self { 0 } else { nil }
    }

    var consumers: Int? {
        if case .counts(_, let consumers) = self { consumers } else if case .missing = self { 0 } else { nil }
    }
}

/// A service's answer to `/readyz`, or what the console makes of its consumers when it has no
/// address for it.
enum ServiceReadiness: Sendable, Equatable {
    case ready
    /// `/readyz` answered something else than 200; its first line says which checks fail.
    case notReady(String)
    case unreachable(String)
    /// No `/readyz` address configured: judged by whether anything consumes its queue.
    case consuming
    case notConsuming
    case unknown
}

/// One row of the system page.
struct ServiceStatus: Sendable {
    var service: String
    var work: QueueState
    var parked: QueueState
    var readiness: ServiceReadiness
    /// Whether `readiness` came from the service's own `/readyz`.
    var probed: Bool
}

/// `ATTACHE_OPS_SERVICE_URLS`: where each service's operations server answers, as
/// `calendar-monitor=http://calendar-monitor:8081,classifier=http://…`. Services left out are
/// judged by their consumers.
struct ServiceURLs: Sendable, Equatable {
    static let setting = "ATTACHE_OPS_SERVICE_URLS"
    var urls: [String: String]

    init(_ urls: [String: String] = [:]) { self.urls = urls }

    init(parsing text: String?, services: [String]) throws(ConfigurationError) {
        var urls: [String: String] = [:]
        for entry in (text ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigurationError(
                    setting: Self.setting, problem: "has '\(entry)': each entry must be service=http://host:port")
            }
            let (service, url) = (parts[0], parts[1])
            guard services.contains(service) else {
                throw ConfigurationError(
                    setting: Self.setting,
                    problem: "names '\(service)', which is not a service (one of \(services.joined(separator: ", ")))")
            }
            guard urls[service] == nil else {
                throw ConfigurationError(setting: Self.setting, problem: "gives \(service) twice")
            }
            guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme ?? ""),
                components.host?.isEmpty == false, components.query == nil, components.user == nil
            else {
                throw ConfigurationError(
                    setting: Self.setting,
                    problem: "gives \(service) '\(url)', which is not an http(s) URL such as http://\(service):8081")
            }
            urls[service] = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        self.urls = urls
    }
}

/// Reads the system page's facts: queue depths and consumers from the broker (passive declares,
/// which change nothing), readiness from each service's `/readyz` where configured.
struct SystemInspector: Sendable {
    let broker: AMQPConfiguration
    let prefix: String
    let serviceURLs: ServiceURLs
    let http: HTTPClient
    /// A probe is one quick GET; a service slower than this is shown as unreachable.
    let probeTimeout: Duration = .seconds(2)

    func status(of services: [String]) async -> [ServiceStatus] {
        let queues = services.map { ServiceQueues(prefix: prefix, service: $0) }
        async let states = Self.inspect(queues.flatMap { [$0.workQueue, $0.deadLetterQueue] }, broker: broker)
        let probes = await withTaskGroup(of: (String, ServiceReadiness).self) { group in
            for service in services {
                guard let url = serviceURLs.urls[service] else { continue }
                group.addTask { (service, await probe(url)) }
            }
            var probes: [String: ServiceReadiness] = [:]
            for await (service, readiness) in group { probes[service] = readiness }
            return probes
        }
        let counts = await states
        return queues.map { queues in
            let work = counts[queues.workQueue] ?? .unknown
            let readiness: ServiceReadiness
            if let probed = probes[queues.service] {
                readiness = probed
            } else if let consumers = work.consumers {
                readiness = consumers > 0 ? .consuming : .notConsuming
            } else {
                readiness = .unknown
            }
            return ServiceStatus(
                service: queues.service, work: work, parked: counts[queues.deadLetterQueue] ?? .unknown,
                readiness: readiness, probed: probes[queues.service] != nil)
        }
    }

    /// Each queue's counts, on one connection while the queues exist. Asking for a missing queue
    /// closes the channel, so the next queue is asked on a new one; if the broker cannot be
    /// reached at all, the rest are unknown without trying again.
    static func inspect(_ names: [String], broker: AMQPConfiguration) async -> [String: QueueState] {
        (try? await AdminChannel.run(broker) { first in
            var channel: AdminChannel? = first
            var states: [String: QueueState] = [:]
            for name in names {
                if channel == nil { channel = try? AdminChannel(configuration: broker) }
                guard let open = channel else {
                    states[name] = .unknown
                    continue
                }
                do {
                    let counts = try open.counts(queue: name)
                    states[name] = .counts(messages: counts.messages, consumers: counts.consumers)
                } catch {
                    states[name] = isMissingQueue(error) ? .missing : .unknown
                    open.close()
                    channel = nil
                }
            }
            channel?.close()
            return states
        }) ?? [:]
    }

    func probe(_ base: String) async -> ServiceReadiness {
        do {
            let response = try await http.send(OutboundRequest(url: base + "/readyz", timeout: probeTimeout))
            if response.status == 200 { return .ready }
            let line = response.text.split(separator: "\n").first.map(String.init) ?? ""
            return .notReady(line.isEmpty ? "HTTP \(response.status)" : String(line.prefix(200)))
        } catch {
            return .unreachable("\(base) did not answer")
        }
    }
}

/// The broker's answer to a passive declare, or a basic.get, of a queue that does not exist.
func isMissingQueue(_ error: any Error) -> Bool {
    if case .brokerRefused(_, 404, _)? = error as? BusError { return true }
    return false
}
