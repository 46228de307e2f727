import Bus
import Runtime
import TestSupport
import Testing

/// `ATTACHE_AMQP_URL` may name the nodes of a cluster, separated by commas: a client whose node
/// dies carries on through the next one.
@Suite("Broker lists")
struct BrokerListTests {
    private struct Probe: ServiceConfiguration {
        static let identity = ServiceIdentity("broker-list-probe", defaultHTTPPort: 0)
        var common: CommonConfiguration
        init(_ env: Environment) throws(ConfigurationError) { common = try CommonConfiguration(for: Self.self, env) }
    }

    @Test("a single URL reads as it always did, with no alternates")
    func singleURL() throws {
        let broker = try AMQPConfiguration(urls: "amqp://app:secret@rabbit:5673/prod")
        #expect(broker.host == "rabbit" && broker.port == 5673 && broker.user == "app" && broker.virtualHost == "prod")
        #expect(broker.alternates.isEmpty)
        #expect(broker.description == "amqp://app@rabbit:5673/prod")
    }

    @Test("a comma-separated list becomes the first node and its alternates, in order")
    func list() throws {
        let broker = try AMQPConfiguration(
            urls: "amqp://guest:guest@127.0.0.1:5900/, amqp://guest:guest@127.0.0.1:5910/,amqp://guest:guest@127.0.0.1:5920/")
        #expect(broker.addresses.map(\.port) == [5900, 5910, 5920])
        #expect(broker.description == "amqp://guest@127.0.0.1:5900,127.0.0.1:5910,127.0.0.1:5920/")
    }

    @Test("a list with an empty entry, a bad URL, another login or a repeated node is refused, naming the setting")
    func refusedLists() throws {
        let cases: [(urls: String, says: String)] = [
            ("amqp://a:5672/,", "broker 2 of 2 in the list is empty"),
            ("amqp://a:5672/,http://b:5672/", "broker 2 of 2: the scheme must be amqp"),
            ("amqp://u:p@a:5672/,amqp://v:p@b:5672/", "another user, password or virtual host"),
            ("amqp://a:5672/,amqp://a:5672/", "appears twice"),
        ]
        for (urls, says) in cases {
            let error = #expect(throws: ConfigurationError.self) {
                try Probe(Environment(["ATTACHE_AMQP_URL": urls]))
            }
            #expect(error?.setting == "ATTACHE_AMQP_URL")
            #expect(error?.description.contains(says) == true, "\(urls): \(error.map { "\($0)" } ?? "no error")")
        }
    }

    @Test("a connection skips a node that does not answer and reaches the next one")
    func failover() async throws {
        let real = try TestStack.broker()
        // Port 1 on loopback refuses at once: a node that died.
        var broker = real
        broker.port = 1
        broker.alternates = [AMQPConfiguration.Address(host: real.host, port: real.port)]
        let queue = TestStack.uniqueName("broker-list")
        let count = try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.declare(Topology(queues: [.quorum(queue)]))
            defer { _ = try? channel.deleteQueue(queue) }
            return try channel.messageCount(queue: queue)
        }
        #expect(count == 0)
        // With no alternate the same dead node is an error naming it.
        var dead = real
        dead.port = 1
        await #expect(throws: BusError.self) { try await AdminChannel.run(dead) { $0.close() } }
    }
}
