// `scripts/bench coding`: the bus's JSON encoder (`MessageCoding.encode`, CompactJSONEncoder)
// against Foundation's `JSONEncoder` with the same settings (`MessageCoding.encoder()`), on
// the two messages the hot paths write most: meeting.upserted (calendar sync) and
// meeting.classified (classifier), each with a meeting of ten attendees.
//
// Rounds alternate which encoder goes first; each is timed in this process's CPU time, so a
// busy machine slows both alike. Prints `coding.encode.compact_per_s`,
// `coding.encode.foundation_per_s` (envelopes a CPU-second, medians of the rounds) and
// `coding.encode.ratio` (compact ÷ Foundation, the median of the rounds' ratios).

import Foundation
import Shared

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20_000
let rounds = 5

let start = Date(timeIntervalSince1970: 1_796_896_800)
let meeting = MeetingSnapshot(
    meetingID: UUID(), revision: 3, source: "google:primary", externalID: "7kq2v9example@google.com",
    title: "Quarterly planning: roadmap, hiring and budget", description: String(repeating: "Agenda line. ", count: 20),
    start: start, end: start.addingTimeInterval(3600),
    organizer: Participant(email: "alex@example.com", name: "Alex Rivera"),
    attendees: (0..<10).map { Participant(email: "person\($0)@example.com", name: "Person \($0)") },
    conferenceURL: "https://meet.google.com/abc-defg-hij")
let upserted = Envelope(
    tenantID: "acme", correlationID: meeting.meetingID,
    payload: MeetingUpserted(meeting: meeting, isNew: true, changedFields: []))
let classified = Envelope(
    MeetingClassified(
        meeting: meeting, meetingType: "planning", rule: "planning: keywords [planning]", matchedKeywords: ["planning"],
        prepTriggerAt: start.addingTimeInterval(-48 * 3600), reminderAt: start.addingTimeInterval(-7200),
        botJoinAt: start.addingTimeInterval(-120), prepQuestions: ["What decisions do you need?"],
        contextRequired: ["decisions"]),
    causedBy: upserted)

func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Envelopes a CPU-second; the byte count keeps the work from being optimised away.
func rate(_ encode: () throws -> [UInt8]) throws -> Double {
    var bytes = 0
    let before = cpuSeconds()
    for _ in 0..<count / 2 {
        bytes += try encode().count
    }
    let elapsed = cpuSeconds() - before
    precondition(bytes > 0)
    return Double(count) / elapsed
}

let foundation = MessageCoding.encoder()
func viaFoundation() throws -> [UInt8] {
    Array(try foundation.encode(upserted)) + Array(try foundation.encode(classified))
}
func viaCompact() throws -> [UInt8] {
    try MessageCoding.encode(upserted) + MessageCoding.encode(classified)
}

guard try viaFoundation() == viaCompact() else {
    FileHandle.standardError.write(Data("bench-coding: the two encoders wrote different bytes\n".utf8))
    exit(1)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

var compactRates: [Double] = []
var foundationRates: [Double] = []
var ratios: [Double] = []
for round in 0..<rounds {
    let compact: Double
    let reference: Double
    if round % 2 == 0 {
        compact = try rate(viaCompact)
        reference = try rate(viaFoundation)
    } else {
        reference = try rate(viaFoundation)
        compact = try rate(viaCompact)
    }
    compactRates.append(compact)
    foundationRates.append(reference)
    ratios.append(compact / reference)
}
print("coding.encode.compact_per_s: \(Int(median(compactRates)))")
print("coding.encode.foundation_per_s: \(Int(median(foundationRates)))")
print("coding.encode.ratio: \(String(format: "%.2f", median(ratios)))")
