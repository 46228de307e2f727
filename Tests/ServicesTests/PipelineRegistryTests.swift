import Foundation
@testable import RealtimeWorker
import Shared
import Testing

@Suite("Call pipelines")
struct PipelineRegistryTests {
    @Test("a pipeline is findable by its meeting while the call lasts, and closed and gone after")
    func lifecycle() async {
        let registry = PipelineRegistry()
        let meeting = UUID()
        let pipeline = await registry.open(sessionID: UUID(), meetingID: meeting, botID: "bot-1")
        #expect(await registry.pipeline(forMeeting: meeting) === pipeline)
        #expect(await registry.open(sessionID: UUID(), meetingID: meeting, botID: "bot-1") === pipeline, "one pipeline per meeting")
        #expect(await registry.pipeline(forMeeting: UUID()) == nil)

        await pipeline.hear(CallTurn(role: .participant, speaker: "Sam", text: "Hello", at: Date()))
        #expect(await pipeline.heard.map(\.text) == ["Hello"])

        await registry.remove(meetingID: meeting)
        #expect(await registry.pipeline(forMeeting: meeting) == nil)
        #expect(await pipeline.isClosed)
    }

    @Test("shutdown closes every live pipeline")
    func shutdownClosesAll() async {
        let registry = PipelineRegistry()
        let pipelines = [
            await registry.open(sessionID: UUID(), meetingID: UUID(), botID: "a"),
            await registry.open(sessionID: UUID(), meetingID: UUID(), botID: "b"),
        ]
        await registry.closeAll()
        #expect(await registry.liveMeetings.isEmpty)
        for pipeline in pipelines { #expect(await pipeline.isClosed) }
    }
}
