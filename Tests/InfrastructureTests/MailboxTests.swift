import Delivery
import Testing

@Suite("Mailbox")
struct MailboxTests {
    @Test("whatever has arrived is taken at once, in order; a taker waits only while nothing has; finishing ends it")
    func handsOverWhatArrived() async throws {
        let mailbox = Mailbox<Int>()
        for item in 1...3 { mailbox.put(item) }
        #expect(await mailbox.take(upTo: 2) == [1, 2])
        #expect(await mailbox.take() == [3])

        async let waited = mailbox.take()
        mailbox.put(4)
        #expect(await waited == [4])

        mailbox.put(5)
        mailbox.finish()
        #expect(await mailbox.take() == [5])
        #expect(await mailbox.take() == [])
    }
}
