import Foundation
import Logging

struct Options {
    var connections = 10_000
    var events = 50
    var concurrency = 32
    /// calendar-monitor's ATTACHE_DATABASE_POOL_SIZE: shared by the syncs and the relay.
    var pool = 8
    /// The fake's largest page; the provider asks for 250.
    var pageSize = 250
    var changePercent = 1.0
    /// calendar-monitor paces each provider (ATTACHE_CALENDAR_REQUESTS_PER_SECOND, default 10);
    /// unpaced unless given, so that the bench measures the machinery rather than the quota.
    var requestsPerSecond: Int?
    var timeout: Duration = .seconds(3600)
    var logLevel: Logger.Level = .warning

    static let usage = """
        usage: bench-calendar [--connections N] [--events M] [--concurrency C] [--pool P] [--page-size S]
                              [--change-percent X] [--requests-per-second R] [--timeout SECONDS] [--log-level LEVEL]
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ name: String) -> String {
            guard let value = rest.popFirst() else { fail("\(name) needs a value\n\(usage)", status: 2) }
            return value
        }
        func positive(_ name: String, _ range: ClosedRange<Int> = 1...Int.max) -> Int {
            let text = value(name)
            guard let number = Int(text), range.contains(number) else {
                fail("\(name) wants a whole number in \(range.lowerBound)…\(range.upperBound), not '\(text)'", status: 2)
            }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--connections": options.connections = positive(argument, 1...1_000_000)
            case "--events": options.events = positive(argument, 1...2_000)
            case "--concurrency": options.concurrency = positive(argument, 1...512)
            case "--pool": options.pool = positive(argument, 1...64)
            case "--page-size": options.pageSize = positive(argument, 1...2_500)
            case "--requests-per-second": options.requestsPerSecond = positive(argument, 1...10_000)
            case "--timeout": options.timeout = .seconds(positive(argument))
            case "--change-percent":
                let text = value(argument)
                guard let percent = Double(text), percent > 0, percent <= 100 else {
                    fail("--change-percent wants a number in (0, 100], not '\(text)'", status: 2)
                }
                options.changePercent = percent
            case "--log-level":
                let text = value(argument)
                guard let level = Logger.Level(rawValue: text) else { fail("--log-level: unknown level '\(text)'", status: 2) }
                options.logLevel = level
            case "-h", "--help":
                print(usage)
                exit(0)
            default: fail("unknown option \(argument)\n\(usage)", status: 2)
            }
        }
        return options
    }

    var totalEvents: Int { connections * events }
    var changes: Int { max(1, min(totalEvents, Int((Double(totalEvents) * changePercent / 100).rounded()))) }
}
