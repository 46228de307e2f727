import Foundation
import Runtime
import Shared
import TestSupport
import Testing

@testable import RealtimeWorker

/// `attache_voice_reply_stage_seconds{stage}` as the worker exports it on `/metrics`.
@Suite("Voice metrics")
struct VoiceMetricsTests {
    @Test("a reply's stages are exported in seconds, with buckets around the 800 ms budget, in text promtool accepts")
    func replyStagesExported() throws {
        // The registry is installed before anything is recorded (a service does so at start).
        let registry = MetricsBootstrap.registry
        TurnRecorder.export(
            TurnLatency(
                sttFinal: 120, llmFirstToken: 350, firstSentence: 500, ttsFirstAudio: 650, firstAudioOut: 750,
                llmDone: 1900, llmStart: -20))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let exposition = MetricCatalog.withHelp(String(decoding: buffer, as: UTF8.self))
        let lines = exposition.split(separator: "\n").map(String.init)

        #expect(lines.contains { $0.hasPrefix("# HELP attache_voice_reply_stage_seconds ") })
        #expect(lines.contains("# TYPE attache_voice_reply_stage_seconds histogram"))
        for stage in [
            "stt_final", "llm_start", "llm_first_token", "first_sentence", "tts_first_audio", "first_audio_out", "llm_done",
        ] {
            #expect(
                lines.contains { $0.hasPrefix(#"attache_voice_reply_stage_seconds_count{stage="\#(stage)"}"#) },
                "no \(stage) series in:\n\(exposition)")
        }
        // 750 ms lands under the 0.8 s bucket's bound, not the 0.7 s one: the budget can be read off
        // the histogram. (Other tests in this process may add replies; the 750 ms one is counted in
        // 0.8 and not in 0.7, so 0.8's count is above 0.7's.)
        func bucket(_ le: String) -> Double? {
            lines.first { $0.hasPrefix(#"attache_voice_reply_stage_seconds_bucket{stage="first_audio_out",le="\#(le)"}"#) }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
        }
        let within = try #require(bucket("0.8"), "no 0.8 s bucket:\n\(exposition)")
        let under = try #require(bucket("0.7"), "no 0.7 s bucket:\n\(exposition)")
        #expect(within > under)

        let result = try runTool(try promtool(), ["check", "metrics"], input: exposition)
        #expect(result.status == 0 && result.output.isEmpty, "promtool check metrics:\n\(result.output)\n\(exposition)")
    }
}
