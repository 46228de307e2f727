import CallAnalysis
import Foundation
import Shared

/// bench-monitoring: how fast completed calls are analysed.
///
///   bench-monitoring inprocess COUNT [SEED]
///       builds COUNT synthetic call sessions of 10–40 turns (seeded, so every run reads the
///       same calls) and times the embedded analyser over them, one after another, in this
///       process
///
/// Prints `monitoring.sessions_per_s: …` (wall clock), `monitoring.sessions_per_cpu_s: …` (the
/// thread's CPU time, which a busy machine does not dilute) and `monitoring.session_p99_ms: …`.
///
///   bench-monitoring service COUNT [SEED]
///       publishes the same kind of sessions as `call.completed` to a running monitoring-worker
///       (ATTACHE_AMQP_URL, ATTACHE_BUS_PREFIX and ATTACHE_DATABASE_URL: the service's own), its
///       cycle caps lifted, and waits until every verdict is stored. Prints
///       `monitoring.service_sessions_per_s` (from the first event published to the last verdict
///       stored) and `monitoring.service_results` (must equal COUNT: one per session).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-monitoring: \(message)\n".utf8))
    exit(2)
}

/// SplitMix64: small, fast, and the same sequence on every platform for a seed.
struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A meeting to set calls in: its context lines and, per question, the right answer.
struct Meeting {
    var context: [String]
    var people: [String]
    /// (question, fact the right answer quotes, a figure that would be wrong)
    var questions: [(String, String, String)]
}

let meetings = [
    Meeting(
        context: [
            "Meeting: Q3 budget review", "Time: 2026-11-21T09:00:00Z", "Participants: Ada Lovelace, Alan Turing, Grace Hopper",
            "Agenda: Budget, then Hiring, then Next steps", "Budget: 1.2 million for Q3, 4 percent under plan",
            "Staffing: two backend engineers start on 5 January", "Decisions needed: approve the compute overrun by Friday",
        ],
        people: ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        questions: [
            (
                "What's the budget for Q3?", "Here is what I have for budget: 1.2 million for Q3, 4 percent under plan.",
                "1.5 million"
            ),
            ("How are we doing on hiring?", "Two backend engineers start on 5 January.", "on 12 January"),
            ("What's on the agenda today?", "Budget, then hiring, then next steps.", ""),
            ("What do we need to decide?", "We need to approve the compute overrun by Friday.", ""),
        ]),
    Meeting(
        context: [
            "Meeting: Platform incident review", "Time: 2026-12-02T15:30:00Z", "Participants: Priya Natarajan, Jonas Weber",
            "Agenda: INC-2291, then INC-2304, then follow-ups",
            "Incidents: INC-2291 checkout outage, 42 minutes, 2 of 5 follow-ups open",
            "Incidents: INC-2304 delayed payouts in the EU, resolved",
        ],
        people: ["Priya Natarajan", "Jonas Weber", "Mei Chen"],
        questions: [
            (
                "How long was the checkout outage?", "INC-2291 was a 42 minute checkout outage; 2 of 5 follow-ups are open.",
                "55 minutes"
            ),
            ("What are we covering?", "INC-2291, then INC-2304, then the follow-ups.", ""),
            ("Any update on the payouts incident?", "INC-2304, the delayed EU payouts, is resolved.", ""),
        ]),
    Meeting(
        context: [
            "Meeting: Leadership sync", "Time: 2026-12-05T10:00:00Z", "Participants: Dana Okafor, Sam Chen, Alex Rivera",
            "Budget: Compute: +$45K over plan", "Big rocks: Checkout v2 launch at risk, EU data residency on track",
        ],
        people: ["Dana Okafor", "Sam Chen", "Alex Rivera"],
        questions: [
            ("How much are we over on compute?", "Compute is $45K over plan.", "$60K"),
            ("How's the launch going?", "Checkout v2 launch is at risk; EU data residency is on track.", ""),
            ("What's the status of the migration?", "EU data residency is on track.", ""),
        ]),
]

let requests = [
    ("Can you add an action item for Alan to send the deck by Friday?", "Noted: Alan sends the deck by Friday."),
    ("Please follow up with finance after the meeting.", "I will follow up with finance after the meeting."),
    ("Could you give us a quick recap?", "We covered the budget, hiring and the compute overrun."),
    ("Can we move this meeting to Thursday?", "I will ask the organiser to move it to Thursday."),
]
let chatter = [
    "Let's get started.", "I think that makes sense.", "Sorry, I was on mute.", "Right, moving on.",
    "Good point, let's come back to it.", "I agree with that.", "We should keep this short today.",
    "Hi everyone, thanks for joining.", "Thanks, that's helpful.",
]

func session(_ number: Int, _ random: inout Seeded) -> CallCompleted {
    let meeting = meetings[Int.random(in: 0..<meetings.count, using: &random)]
    let start = Date(timeIntervalSince1970: 1_790_000_000 + Double(number) * 3_600)
    let length = Int.random(in: 10...40, using: &random)
    var turns = [CallTurn(role: .agent, speaker: "Attaché", text: "Hi, this is Attaché joining from Acme.", at: start)]
    var clock = start
    while turns.count < length {
        clock.addTimeInterval(Double(Int.random(in: 3...20, using: &random)))
        let speaker = meeting.people[Int.random(in: 0..<meeting.people.count, using: &random)]
        let roll = Int.random(in: 0..<100, using: &random)
        let latency = TurnLatency(
            sttFinal: 150, llmFirstToken: Double(Int.random(in: 250...900, using: &random)), firstSentence: 500,
            ttsFirstAudio: 600, firstAudioOut: Double(Int.random(in: 450...1_400, using: &random)))
        if roll < 40 {
            let (question, answer, wrong) = meeting.questions[Int.random(in: 0..<meeting.questions.count, using: &random)]
            turns.append(CallTurn(role: .participant, speaker: speaker, text: question, at: clock))
            let outcome = Int.random(in: 0..<10, using: &random)
            let reply: CallTurn
            switch outcome {
            case 0: continue  // no reply
            case 1:
                reply = CallTurn(
                    role: .agent, speaker: "Attaché", text: "Here is what", at: clock, interrupted: true, latency: latency)
            case 2:
                reply = CallTurn(
                    role: .agent, speaker: "Attaché", text: "I do not have that in my notes for this meeting.", at: clock)
            case 3 where !wrong.isEmpty:
                reply = CallTurn(
                    role: .agent, speaker: "Attaché", text: "It is \(wrong) as far as I know.", at: clock, latency: latency)
            default: reply = CallTurn(role: .agent, speaker: "Attaché", text: answer, at: clock, latency: latency)
            }
            turns.append(reply)
        } else if roll < 55 {
            let (request, reply) = requests[Int.random(in: 0..<requests.count, using: &random)]
            turns.append(CallTurn(role: .participant, speaker: speaker, text: request, at: clock))
            turns.append(CallTurn(role: .agent, speaker: "Attaché", text: reply, at: clock, latency: latency))
        } else {
            turns.append(
                CallTurn(
                    role: .participant, speaker: speaker, text: chatter[Int.random(in: 0..<chatter.count, using: &random)],
                    at: clock))
        }
    }
    let problems =
        roll(&random, under: 10) ? [CallProblem(kind: .modelTimeout, at: clock, detail: "no first token within 10 s")] : []
    return CallCompleted(
        sessionID: UUID(), meetingID: UUID(), botID: "bench-\(number)", startedAt: start, endedAt: clock, turns: turns,
        context: meeting.context, problems: problems)
}

func roll(_ random: inout Seeded, under percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "inprocess":
    guard arguments.count >= 2, let count = Int(arguments[1]), count > 0 else {
        fail("usage: bench-monitoring inprocess COUNT [SEED]")
    }
    var random = Seeded(state: arguments.count > 2 ? UInt64(arguments[2]) ?? 13 : 13)
    let calls = (0..<count).map { session($0, &random) }
    let analyser = EmbeddedAnalyser()
    for call in calls.prefix(200) { _ = analyser.verdict(for: call) }  // warm-up
    var durations: [Double] = []
    durations.reserveCapacity(count)
    var statuses: [SessionStatus: Int] = [:]
    let clock = ContinuousClock()
    let cpuStarted = threadCPUSeconds()
    let started = clock.now
    for call in calls {
        let before = clock.now
        let verdict = analyser.verdict(for: call)
        durations.append((clock.now - before).milliseconds)
        statuses[verdict.status, default: 0] += 1
    }
    let elapsed = (clock.now - started).milliseconds / 1_000
    let cpu = threadCPUSeconds() - cpuStarted
    durations.sort()
    let p99 = durations[min(durations.count - 1, Int(Double(durations.count) * 0.99))]
    let turns = calls.reduce(0) { $0 + $1.turns.count }
    let mix = SessionStatus.allCases.compactMap { status in statuses[status].map { "\(status.rawValue) \($0)" } }
    FileHandle.standardError.write(
        Data(
            ("analysed \(count) sessions (\(turns) turns) in \(String(format: "%.3f", elapsed)) s; "
                + mix.joined(separator: ", ") + "\n").utf8))
    print("monitoring.sessions_per_s: \(Int(Double(count) / elapsed))")
    print("monitoring.sessions_per_cpu_s: \(Int(Double(count) / cpu))")
    print("monitoring.session_p99_ms: \(String(format: "%.3f", p99))")

case "service":
    guard arguments.count >= 2, let count = Int(arguments[1]), count > 0 else {
        fail("usage: bench-monitoring service COUNT [SEED]")
    }
    var random = Seeded(state: arguments.count > 2 ? UInt64(arguments[2]) ?? 13 : 13)
    let calls = (0..<count).map { session($0, &random) }
    try await benchService(calls)

default:
    fail("usage: bench-monitoring inprocess COUNT [SEED] | bench-monitoring service COUNT [SEED]")
}

/// CPU time of the calling thread, in seconds.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
    }
}
