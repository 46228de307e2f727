import Foundation

@testable import Classifier
@testable import ClassificationRules

/// In-process classifier throughput, for `scripts/bench classifier`. Deliberately no test
/// here: timing figures from a debug build under a parallel test run mean little.
enum ClassifierThroughput {
    /// Classifications per second: one untimed warm-up pass over `meetings`, then
    /// `iterations` timed passes on the monotonic clock.
    static func measure(rules: ClassificationRules, meetings: [MeetingFacts], iterations: Int) -> Double {
        precondition(!meetings.isEmpty, "measure needs at least one meeting")
        precondition(iterations > 0, "measure needs at least one iteration")
        let now = Date(timeIntervalSince1970: 1_795_000_000)

        // Warm-up: first-touch costs (lazy globals, allocator, caches) stay out of the timing.
        var checksum = 0
        for meeting in meetings {
            checksum &+= rules.classify(meeting, now: now).matchedKeywords.count
        }

        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<iterations {
            for meeting in meetings {
                // Using the result keeps the optimiser from dropping the call in release builds.
                checksum &+= rules.classify(meeting, now: now).matchedKeywords.count
            }
        }
        let elapsed = start.duration(to: clock.now)
        blackHole(checksum)

        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(iterations * meetings.count) / max(seconds, 1e-9)
    }

    @inline(never)
    private static func blackHole(_ value: Int) {
        if value == Int.min { print("", terminator: "") }
    }
}
