import Bus
import CalendarMonitor
import Delivery
import Foundation
import HTTPClient
import Logging
import Resilience
import Runtime
import Shared
import Store
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The three cycles and their checks; what the bench prints.
func run(_ options: Options) async -> Int32 {
    var logger = Logger(label: "bench-calendar")
    logger.logLevel = options.logLevel
    let environment = ProcessInfo.processInfo.environment
    guard let databaseURL = environment["ATTACHE_DATABASE_URL"], let amqpURL = environment["ATTACHE_AMQP_URL"] else {
        fail("set ATTACHE_DATABASE_URL and ATTACHE_AMQP_URL (e.g. eval \"$(scripts/stack bench env)\")", status: 2)
    }
    let broker: AMQPConfiguration
    do { broker = try AMQPConfiguration(url: amqpURL) } catch { fail("ATTACHE_AMQP_URL: \(error)", status: 2) }
    guard let database = BenchDatabase(serverURL: databaseURL) else { fail("ATTACHE_DATABASE_URL is not a URL", status: 2) }
    let prefix = "bench-calendar-\(getpid())"
    let exchange = ServiceQueues.eventsExchange(prefix: prefix)
    let countQueue = "\(prefix).published"
    let n = options.connections
    let m = options.events

    say(
        "\(n) connections × \(m) events, sync concurrency \(options.concurrency), database pool \(options.pool), "
            + "\(options.requestsPerSecond.map { "\($0) requests/s to Google" } ?? "unpaced")")

    // The fake Google Calendar. Every connection starts with an access token valid for 30 days,
    // so the bench expects no refresh; they are counted.
    var clock = ContinuousClock.now
    let fake: FakeGoogleCalendar
    do { fake = try await FakeGoogleCalendar.start(refreshTokens: [], pageSize: options.pageSize) } catch {
        fail("cannot start the fake Google Calendar: \(error)")
    }
    let calendars = GeneratedCalendars(connections: n, eventsPerCalendar: m, now: Date())
    let accessTokensExpire = Date().addingTimeInterval(30 * 86_400)
    calendars.seed(fake, accessTokensExpire: accessTokensExpire)
    say("fake Google Calendar at \(fake.apiURL): \(n * m) events rendered in \(fixed(seconds(ContinuousClock.now - clock))) s")

    do {
        try await database.create()
    } catch {
        fail("cannot create database \(database.name): \(error)")
    }
    var status: Int32 = 0
    var scheduler: Task<Void, any Error>?
    var relay: Task<Void, any Error>?
    var publisher: Publisher?
    do {
        // calendar-monitor's configuration, as its environment would give it.
        var keyBytes = [UInt8](repeating: 0, count: 32)
        for index in keyBytes.indices { keyBytes[index] = UInt8.random(in: 0...255) }
        let configuration = try CalendarMonitorConfiguration(
            Environment([
                "ATTACHE_DATABASE_URL": database.url, "ATTACHE_AMQP_URL": amqpURL, "ATTACHE_BUS_PREFIX": prefix,
                "ATTACHE_DATABASE_POOL_SIZE": String(options.pool),
                "ATTACHE_CALENDAR_POLL_SECONDS": "86400",
                "ATTACHE_CALENDAR_SYNC_CONCURRENCY": String(options.concurrency),
                "ATTACHE_CREDENTIALS_KEY": Data(keyBytes).base64EncodedString(),
                "ATTACHE_GOOGLE_CLIENT_ID": FakeGoogleCalendar.clientID,
                "ATTACHE_GOOGLE_CLIENT_SECRET": FakeGoogleCalendar.clientSecret,
                "ATTACHE_GOOGLE_API_URL": fake.apiURL,
                "ATTACHE_GOOGLE_TOKEN_URL": fake.tokenURL,
            ]))
        guard let vault = configuration.vault, let google = configuration.google else {
            throw BenchFailure("the configuration has no credentials key or no Google provider")
        }

        let pool = PostgresPool(url: database.url, size: options.pool)
        let watcher = PostgresPool(url: database.url, size: 1)
        try await Migrator.migrate(pool, schema: MeetingsSchema.name, migrations: MeetingsSchema.allMigrations, logger: logger)

        clock = ContinuousClock.now
        try await calendars.connect(in: pool, vault: vault, accessTokensExpire: accessTokensExpire)
        say("\(n) connections inserted in \(fixed(seconds(ContinuousClock.now - clock))) s")

        // The broker: the events exchange and a queue of our own for every meeting event.
        let topology = ServiceQueues.eventsTopology(prefix: prefix) + Bench.countTopology(queue: countQueue, exchange: exchange)
        let bus = Publisher(configuration: broker, topology: topology, name: "publisher", logger: logger)
        publisher = bus
        try await eventually("a connection to RabbitMQ at \(broker)", within: .seconds(30)) { bus.isConnected }

        // calendar-monitor's machinery, wired as CalendarMonitorApp wires it.
        let http = HTTPClient(
            rateLimit: options.requestsPerSecond.map { RateLimiter(perSecond: Double($0), burst: max(1, $0 * 2)) }, logger: logger
        )
        let outbox = try Outbox(schema: MeetingsSchema.name)
        let wakeup = WakeSignal()
        let syncScheduler = SyncScheduler(
            store: ConnectionStore(pool: pool, outbox: outbox, vault: vault), meetings: MeetingSync(pool: pool, outbox: outbox),
            providers: [.google: google.provider(http: http, logger: logger)], settings: configuration.scheduler,
            wakeup: wakeup, logger: logger)
        let outboxRelay = OutboxRelay(outbox: outbox, pool: pool, publisher: bus, exchange: exchange, logger: logger)
        scheduler = Task { try await syncScheduler.run() }
        relay = Task { try await outboxRelay.run() }

        let backend = try await watcher.withConnection { db in try db.queryOne("SELECT pg_backend_pid() AS pid")!.int("pid") }
        let postmaster = CPUSample.stat("/proc/\(backend)/stat")?.parent
        let bench = Bench(
            options: options, fake: fake, watcher: watcher, broker: broker, countQueue: countQueue,
            wakeup: wakeup, postmaster: postmaster,
            brokerPIDs: CPUSample.brokerPIDs(profile: environment["ATTACHE_STACK_PROFILE"] ?? "bench"))
        if postmaster == nil { say("PostgreSQL runs elsewhere: its CPU is not measured") }
        if bench.brokerPIDs.isEmpty { say("RabbitMQ's process not found: its CPU is not measured") }

        var problems: [String] = []

        // 1. Full.
        say("full cycle: every calendar read in full")
        let full = try await bench.cycle("full")
        report(full)
        if full.published != n * m { problems.append("full cycle published \(full.published) events for \(n * m) new events") }
        if full.rowsWritten != n * m { problems.append("full cycle wrote \(full.rowsWritten) rows for \(n * m) new events") }
        try await bench.resetCountQueue(exchange: exchange)

        // 2. Incremental.
        let changes = calendars.change(options.changes, seed: 0x00C0_FFEE, in: fake)
        say(
            "incremental cycle: \(changes.total) events changed (\(changes.retitled) retitled, \(changes.moved) moved, \(changes.deleted) deleted)"
        )
        let incremental = try await bench.cycle("incremental")
        report(incremental)
        if incremental.published != changes.total {
            problems.append("incremental cycle published \(incremental.published) events for \(changes.total) changes")
        }
        if incremental.rowsWritten != changes.total {
            problems.append("incremental cycle wrote \(incremental.rowsWritten) rows for \(changes.total) changes")
        }
        if incremental.fake.fullListings > 0 {
            problems.append(
                "incremental cycle read \(incremental.fake.fullListings) calendars in full instead of with their sync token")
        }
        let drained = try await bench.drainPublished()
        say(
            "incremental cycle published \(drained.upserted) meeting.upserted, \(drained.cancelled) meeting.cancelled, about \(drained.meetings) meetings"
        )
        if drained.upserted != changes.published.upserted || drained.cancelled != changes.published.cancelled
            || drained.other != 0
            || drained.meetings != changes.total
        {
            problems.append(
                "incremental cycle published \(drained.upserted) upserted + \(drained.cancelled) cancelled + \(drained.other) other events "
                    + "about \(drained.meetings) meetings; expected \(changes.published.upserted) + \(changes.published.cancelled) about \(changes.total)"
            )
        }
        problems += drained.problems

        // 3. No change.
        say("no-change cycle: nothing changed at the source")
        let nochange = try await bench.cycle("nochange")
        report(nochange)
        if nochange.published != 0 { problems.append("no-change cycle published \(nochange.published) events") }
        if nochange.rowsWritten != 0 { problems.append("no-change cycle wrote \(nochange.rowsWritten) rows") }

        let tokenRequests = full.fake.tokenRequests + incremental.fake.tokenRequests + nochange.fake.tokenRequests
        print("calendar.connections: \(n)")
        print("calendar.events: \(n * m)")
        print("calendar.concurrency: \(options.concurrency)")
        print("calendar.pool: \(options.pool)")
        print("calendar.full.events_per_s: \(Int((Double(n * m) / full.seconds).rounded()))")
        printFigures(full, "full", connections: n)
        printCPU(full, "full")
        print("calendar.incremental.changed: \(changes.total)")
        printFigures(incremental, "incremental", connections: n)
        printFigures(nochange, "nochange", connections: n)
        print("calendar.oauth_refreshes: \(tokenRequests)")
        print("calendar.sync_failures: \(full.failuresSeen + incremental.failuresSeen + nochange.failuresSeen)")
        if !problems.isEmpty {
            for problem in problems { say("FAILED: \(problem)") }
            status = 1
        }
    } catch {
        say("FAILED: \(error)")
        status = 1
    }

    // Tear down: stop the machinery, remove the bench's queues and database.
    scheduler?.cancel()
    relay?.cancel()
    _ = await scheduler?.result
    _ = await relay?.result
    await publisher?.close()
    fake.stop()
    do {
        try await AdminChannel.run(broker) { channel in
            defer { channel.close() }
            try channel.deleteQueue(countQueue)
            try channel.deleteQueue(ServiceQueues.unroutedQueue(prefix: prefix))
        }
    } catch {
        say("cannot delete the bench's queues \(countQueue), \(ServiceQueues.unroutedQueue(prefix: prefix)): \(error)")
    }
    do {
        try await database.drop()
    } catch {
        say("cannot drop database \(database.name): \(error)")
        if status == 0 { status = 1 }
    }
    return status
}
