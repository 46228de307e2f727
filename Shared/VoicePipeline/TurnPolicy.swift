/// When a participant has finished speaking, and when their speech over the agent is an
/// interruption. Durations default to the spirit of Deepgram's live defaults: an utterance
/// closes after 300 ms of silence (`endpointing`), and a gap of 1 s without words
/// (`utterance_end_ms`) ends a turn whatever its words.
public struct TurnPolicy: Sendable {
    public var endpointing: Duration = .milliseconds(300)
    public var utteranceEnd: Duration = .milliseconds(1000)
    /// Speech over the agent shorter than this is ignored (a cough, a click).
    public var bargeInMinimumSpeech: Duration = .milliseconds(120)
    /// Speech over the agent that lasts this long interrupts it. Between the two the agent
    /// pauses, and carries on if the speech was only "mm-hm" or "yeah".
    public var bargeInConfirmation: Duration = .milliseconds(450)
    /// Silence the pipeline itself must hear before it takes a closed utterance as the end of
    /// the turn: a guard against a speaker who resumed while the result was on its way.
    public var turnEndSilence: Duration = .milliseconds(60)

    public init() {}

    /// Words a sentence does not end on: after them the speaker is mid-sentence, so a closed
    /// utterance waits for the longer utterance-end gap before the agent answers.
    static let continuationWords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "so", "because", "if", "then", "to", "of", "for", "with", "about",
        "in", "on", "at", "from", "by", "as", "than", "that", "which", "who", "whose", "we", "i", "you", "they",
        "he", "she", "it's", "is", "are", "was", "were", "be", "should", "would", "could", "can", "will",
        "might", "must", "my", "our", "your", "their", "his", "her", "um", "uh", "er", "like", "also",
    ]

    /// Acknowledgements that do not take the floor.
    static let backchannelWords: Set<String> = [
        "mm", "mhm", "hmm", "hm", "uh-huh", "uh", "huh", "yeah", "yes", "yep", "right", "okay", "ok", "sure",
        "got", "it", "i", "see", "mm-hm", "mmhmm", "ah", "oh",
    ]

    /// Whether `text` reads as a finished sentence.
    public func soundsComplete(_ text: String) -> Bool {
        guard let last = Self.words(text).last else { return false }
        return !Self.continuationWords.contains(last)
    }

    /// Whether `text` is only acknowledgement ("mm-hm", "yeah, right").
    public func isBackchannel(_ text: String) -> Bool {
        let words = Self.words(text)
        return !words.isEmpty && words.count <= 3 && words.allSatisfy(Self.backchannelWords.contains)
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" && $0 != "-" }).map(String.init)
    }
}
