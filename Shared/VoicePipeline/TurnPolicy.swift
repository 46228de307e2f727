/// When a participant has finished speaking, and when their speech over the agent is an
/// interruption. Durations default to the spirit of Deepgram's live defaults: an utterance
/// closes after 300 ms of silence (`endpointing`), and a gap of 1 s without words
/// (`utterance_end_ms`) ends a turn whatever its words.
///
/// Speech over the agent is judged by what was said, not by how long it lasted: the agent is
/// lowered (ducked) at once, so that it never talks over a participant at full voice, and is
/// cut only by words that take the floor; an acknowledgement, however drawn out, or a sound
/// that never becomes words, lets it carry on at full voice.
public struct TurnPolicy: Sendable {
    public var endpointing: Duration = .milliseconds(300)
    public var utteranceEnd: Duration = .milliseconds(1000)
    /// Speech over the agent this long lowers the agent's voice while its words are awaited;
    /// shorter sounds (a click) leave it alone.
    public var bargeInMinimumSpeech: Duration = .milliseconds(60)
    /// The agent's lowered volume, as a gain on its samples: -20 dB, under a talker's voice.
    public var duckGain = 0.1
    /// Speech over the agent that goes on this long with no words that tell what it is cuts
    /// the agent: a recogniser that hears nothing must not leave the agent talking over a
    /// participant for ever. Acknowledgements never reach it.
    public var wordlessInterruption: Duration = .milliseconds(1500)
    /// Interim results in a row whose words take the floor before they cut the agent: a
    /// recogniser's first guess at a sound is often a word it revises ("mm-hm" first heard as
    /// "when"). A final result that takes the floor cuts at once.
    public var floorTakingInterims = 2
    /// Sound over the agent needs this much voice in it (loud frames whose zero-crossing rate
    /// is a voice's, not a hiss's) for words heard in it to count: a recogniser held to a
    /// phrase list hears some phrase in a cough.
    public var minimumVoice: Duration = .milliseconds(60)
    /// Frames crossing zero more often than this (per sample) are noise, not voice.
    public var noiseZeroCrossingRate = 0.3
    /// How long after a sound over the agent ends its words are awaited before the agent comes
    /// back to full voice: a recogniser's final words follow its end-pointing silence.
    public var verdictWait: Duration = .milliseconds(700)
    /// Silence the pipeline itself must hear before it takes a closed utterance as the end of
    /// the turn: a guard against a speaker who resumed while the result was on its way.
    public var turnEndSilence: Duration = .milliseconds(60)
    /// Preemptive generation: once the speaker has paused this long and their words so far
    /// sound complete, the model starts on them (a draft) while the end of the turn is still
    /// being confirmed; its words are held until it is, and thrown away if the speaker goes on
    /// or the final transcript says something else. Counted in meeting audio received, frame by
    /// frame. One 20 ms frame of silence: a wasted draft costs only tokens, and each
    /// millisecond waited here is one on the agent's answer. `nil` waits for the confirmed end
    /// of the turn.
    public var draftPause: Duration? = .milliseconds(20)
    /// The first sentence of a reply goes to speech at its first clause boundary (a comma, a
    /// semicolon, a colon or a dash) when the clause has at least this many words: it starts
    /// the agent's voice a clause earlier. Five words is about the shortest piece a speech
    /// engine gives its own natural contour (about 1.5 s of speech); a shorter one ("Yes,",
    /// "Well, so,") said alone sounds clipped. `nil` waits for the whole sentence.
    public var firstClauseMinimumWords: Int? = 5

    public init() {}

    /// What speech over the agent amounts to, by its words so far.
    public enum BargeIn: Sendable, Equatable {
        /// Only acknowledgement ("mm-hm", "yeah, right"): the agent carries on.
        case acknowledgement
        /// The participant takes the floor ("wait", "no", a question, a correction): cut now.
        case takesFloor
        /// Too few words to tell ("I", "so"): wait for more.
        case undecided
    }

    /// Words a sentence does not end on: after them the speaker is mid-sentence, so a closed
    /// utterance waits for the longer utterance-end gap before the agent answers.
    static let continuationWords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "so", "because", "if", "then", "to", "of", "for", "with", "about",
        "in", "on", "at", "from", "by", "as", "than", "that", "which", "who", "whose", "we", "i", "you", "they",
        "he", "she", "it's", "is", "are", "was", "were", "be", "should", "would", "could", "can", "will",
        "might", "must", "my", "our", "your", "their", "his", "her", "um", "uh", "er", "like", "also",
    ]

    /// Acknowledgements that do not take the floor, once drawn-out letters are folded ("mmm",
    /// "yeahhh", "okaaay" read as "m", "yeah", "okay").
    static let backchannelWords: Set<String> = [
        "m", "mm", "mhm", "mhmm", "mmhm", "mmhmm", "hm", "hmm", "uh", "huh", "uhhuh", "um", "hum", "ah", "oh", "aha",
        "yeah", "yes", "yep", "yup", "ya", "right", "okay", "ok", "sure", "alright", "all", "got", "it", "i", "see",
        "cool", "great", "exactly", "indeed", "true", "fine", "good", "nice", "gotcha", "totally", "absolutely",
    ]

    /// Acknowledgement words only beside others ("got it", "I see"): alone at the end of a
    /// sentence they are part of it ("what is it").
    static let acknowledgementParts: Set<String> = ["it", "i", "all", "got", "see"]

    /// Words that take the floor wherever they come: an objection, a request to stop.
    static let floorWords: Set<String> = [
        "wait", "no", "stop", "hold", "hang", "sorry", "actually", "but", "excuse", "pardon", "nope", "hey",
    ]

    /// Words that open a question.
    static let questionWords: Set<String> = [
        "what", "why", "how", "who", "when", "where", "which", "can", "could", "would", "should", "do", "does", "did",
        "is", "are", "will",
    ]

    /// Whether `text` reads as a finished sentence. Acknowledgements after an unfinished one
    /// ("I think we should… yeah") leave it unfinished: someone else's "yeah" in the pause.
    public func soundsComplete(_ text: String) -> Bool {
        var words = Self.words(text)
        while words.count > 1, let last = words.last, !Self.acknowledgementParts.contains(last), isBackchannel(last) {
            words.removeLast()
        }
        guard let last = words.last else { return false }
        return !Self.continuationWords.contains(last)
    }

    /// Whether `text` is only acknowledgement ("mm-hm", "yeah, right"), whatever its length.
    public func isBackchannel(_ text: String) -> Bool { bargeIn(text) == .acknowledgement }

    /// What `text`, said over the agent, amounts to so far (`isFinal`: the recogniser's last
    /// word on it). More words may change an acknowledgement ("yeah, but…") or settle an
    /// undecided start ("I think…").
    public func bargeIn(_ text: String, isFinal: Bool = true) -> BargeIn {
        // "uh-huh" and "mm-hm" are judged by their parts, whatever the recogniser's spelling.
        let words = Self.words(text).flatMap { $0.split(separator: "-").map { Self.foldingDrawnOut(String($0)) } }
        guard let first = words.first else { return .undecided }
        // A question word alone is a guess a recogniser often revises ("mm-hm" first heard as
        // "when"): a question is taken from a final result, or from two words.
        let opensQuestion = Self.questionWords.contains(first) && (isFinal || words.count > 1)
        if words.contains(where: Self.floorWords.contains) || opensQuestion { return .takesFloor }
        let content = words.filter { !Self.backchannelWords.contains($0) }
        if content.isEmpty { return .acknowledgement }
        // Two words that are not acknowledgement are a sentence being said: a correction, a point.
        return content.count >= 2 ? .takesFloor : .undecided
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" && $0 != "-" }).map(String.init)
    }

    /// "mmmm" → "m", "yeahhh" → "yeah", "uh-huuuh" → "uh-huh": a letter said three times or
    /// more is one drawn-out letter.
    static func foldingDrawnOut(_ word: String) -> String {
        var folded: [Character] = []
        var run = 0
        for letter in word {
            run = letter == folded.last ? run + 1 : 1
            folded.append(letter)
            if run == 3 { folded.removeLast(2) } else if run > 3 { folded.removeLast() }
        }
        return String(folded)
    }
}
