import Bus
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import Runtime
import TestSupport
import Testing

@testable import OpsConsole

@Suite("Operators' console: the system page and parked queues")
struct ConsoleSystemTests {
    @Test("ATTACHE_OPS_SERVICE_URLS is read as service=URL pairs; a bad entry is refused naming the setting")
    func serviceURLsSetting() throws {
        func configuration(_ urls: String) throws(ConfigurationError) -> ConsoleConfiguration {
            try ConsoleConfiguration(
                Environment(["ATTACHE_OPS_TOKEN": ConsoleHarness.token, ServiceURLs.setting: urls]))
        }
        #expect(try configuration("").serviceURLs.urls.isEmpty, "unset: readiness judged by consumers")
        #expect(
            try configuration(" calendar-monitor=http://calendar-monitor:8081/ , classifier = https://classifier.internal ")
                .serviceURLs.urls
                == ["calendar-monitor": "http://calendar-monitor:8081", "classifier": "https://classifier.internal"])
        for (bad, says) in [
            ("classifier", "each entry must be service=http://host:port"),
            ("=http://x:1", "each entry must be service=http://host:port"),
            ("billing=http://billing:8081", "'billing', which is not a service"),
            ("classifier=ftp://classifier:21", "not an http(s) URL"),
            ("classifier=classifier:8082", "not an http(s) URL"),
            ("classifier=http://a:1,classifier=http://b:2", "gives classifier twice"),
        ] {
            let error = #expect(throws: ConfigurationError.self, "\(bad)") { try configuration(bad) }
            #expect(error?.setting == "ATTACHE_OPS_SERVICE_URLS", "\(bad)")
            #expect(error?.problem.contains(says) == true, "\(bad): \(error?.problem ?? "")")
        }
    }

    @Test(
        "the system page shows each service's consumers as replicas, its readiness from /readyz or its consumers, and its queue depths"
    )
    func systemPage() async throws {
        let ready = try await FakeServer { router, _ in router.get("/readyz") { _, _ in "ready\n" } }
        let unready = try await FakeServer { router, _ in
            router.get("/readyz") { _, _ in
                Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                    body: .init(byteBuffer: ByteBuffer(string: "not ready: broker\n")))
            }
        }
        defer {
            ready.stop()
            unready.stop()
        }
        // Port 1 (tcpmux) is closed on any machine these tests run on: a service that is down.
        let urls = "calendar-monitor=\(ready.url),classifier=\(unready.url),prep-orchestrator=http://127.0.0.1:1"
        try await withConsole(serviceURLs: urls) { console in
            try await console.declareSubscriptions()
            // monitoring-worker never started on this prefix: it has no queues.
            let monitoring = console.queues("monitoring-worker")
            try await AdminChannel.run(console.broker) { channel in
                defer { channel.close() }
                try channel.deleteQueue(monitoring.workQueue)
                try channel.deleteQueue(monitoring.deadLetterQueue)
            }
            // Two replicas of bot-gateway consume; nothing consumes classifier's two waiting messages.
            let consumers = (0..<2).map { _ in
                Consumer(configuration: console.broker, queue: console.queues("bot-gateway").workQueue, logger: TestStack.logger)
            }
            do {
                try await checkSystemPage(console)
            } catch {
                for consumer in consumers { await consumer.close() }
                throw error
            }
            for consumer in consumers { await consumer.close() }
        }
    }

    func checkSystemPage(_ console: ConsoleHarness) async throws {
        let classifier = console.queues("classifier")
        try await AdminChannel.run(console.broker) { channel in
            defer { channel.close() }
            for index in 0..<2 {
                try channel.publish(
                    OutgoingMessage(
                        exchange: classifier.eventsExchange, routingKey: "meeting.upserted",
                        body: Array("{\"n\":\(index)}".utf8), messageID: "waiting-\(index)"))
            }
        }
        try await console.park("realtime-worker", id: "parked-1", reason: "boom")

        let (session, _) = try await console.signIn()
        try await eventually("both bot-gateway consumers counted") {
            try await console.get("/system", session: session).text.contains("<td>bot-gateway</td><td>2</td>")
        }
        let page = try await console.get("/system", session: session).text
        let rows = [
            "<td>calendar-monitor</td><td>0</td><td class=\"good\">ready</td><td>0</td><td>0</td>",
            "<td>classifier</td><td>0</td><td class=\"bad\">not ready: broker</td><td>2</td><td>0</td>",
            "<td>prep-orchestrator</td><td>0</td><td class=\"bad\">unreachable: http://127.0.0.1:1 did not answer</td>",
            "<td>bot-gateway</td><td>2</td><td class=\"good\">consuming (no /readyz address)</td><td>0</td><td>0</td>",
            "<td>realtime-worker</td><td>0</td><td class=\"bad\">no consumers (no /readyz address)</td><td>0</td><td>1</td>",
            "<td>monitoring-worker</td><td>0</td><td class=\"bad\">no consumers (no /readyz address)</td><td>0</td><td>0</td>",
        ]
        for row in rows { #expect(page.contains(row), "\(row) in\n\(page)") }
        #expect(page.contains("set ATTACHE_OPS_SERVICE_URLS") == false, "some services are probed")
    }

    @Test("without ATTACHE_OPS_SERVICE_URLS the system page says readiness is judged by consumers")
    func systemPageWithoutURLs() async throws {
        try await withConsole { console in
            let (session, _) = try await console.signIn()
            let page = try await console.get("/system", session: session)
            #expect(page.status == 200)
            #expect(page.text.contains("set ATTACHE_OPS_SERVICE_URLS to ask each service"))
            #expect(
                page.text.contains(
                    "<td>classifier</td><td>0</td><td class=\"bad\">no consumers (no /readyz address)</td><td>0</td><td>0</td>"
                ), "no queues yet: nothing waiting, nobody consuming")
        }
    }

    @Test("the parked page of a service with no queues yet says there is nothing parked, and a replay there replays nothing")
    func parkedWithoutQueues() async throws {
        try await withConsole { console in
            let (session, csrf) = try await console.signIn()
            let page = try await console.get("/parked/classifier", session: session)
            #expect(page.status == 200)
            #expect(page.text.contains("No parked messages: classifier has no queues on this bus yet"))
            let index = try await console.get("/parked", session: session)
            #expect(index.status == 200)
            #expect(index.text.contains("<td><a href=\"/parked/classifier\">classifier</a></td><td>0 (no queue yet)</td>"))
            let replay = try await console.post("/parked/classifier/replay", [("csrf", csrf)], session: session)
            #expect(replay.status == 303)
            #expect(replay.headers["location"] == "/parked/classifier?replayed=0")

            // Once the service has declared its queues, the page is the usual list.
            try await console.declareSubscriptions()
            let empty = try await console.get("/parked/classifier", session: session)
            #expect(empty.status == 200)
            #expect(empty.text.contains("Nothing parked."))
        }
    }
}
