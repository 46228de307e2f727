import VoicePipeline

/// Turns ElevenLabs' audio messages into speech chunks: base64 PCM (16 kHz, 16-bit little
/// endian) into samples, and the per-character alignment into words at sample offsets.
///
/// A word's offset is its first character's start time, in samples from the chunk's first
/// sample. A word cut by a message boundary belongs to the chunk where it starts; its text is
/// completed from the sentence that was sent, since the rest only comes in the next message.
struct ElevenLabsChunkAssembler {
    private var tokens: [String]
    private var wordsStarted = 0
    private var inWord = false
    /// Characters of the current word heard so far: a word cut by a message boundary goes on
    /// in the next message until it is whole, and what follows a whole word with no space
    /// between is a new word (the next sentence of a reply, whose audio came on its own).
    private var charactersOfWord = 0
    /// A byte of a sample split across messages.
    private var pendingByte: UInt8?
    /// Where the next chunk's first sample is in the whole generation.
    private var samplesSoFar = 0

    init(text: String) {
        tokens = text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// A further sentence of the same generation (one reply over one socket).
    mutating func append(text: String) {
        tokens += text.split(whereSeparator: \.isWhitespace).map(String.init)
    }

    /// A WebSocket message, whose alignment times ElevenLabs documents as relative to the
    /// message's own audio.
    mutating func chunk(samples bytes: [UInt8], alignment: ElevenLabsMessages.NormalizedAlignment?) -> SpeechChunk {
        let starts = alignment?.charStartTimesMs.map { $0 * PCM.sampleRate / 1000 } ?? []
        return chunk(bytes, characters: alignment?.chars ?? [], startSamples: starts)
    }

    /// A line of the HTTP stream with timestamps, whose times count from the start of the whole
    /// generation (ElevenLabs' example concatenates them as they come), in seconds.
    mutating func chunk(samples bytes: [UInt8], characters: [String], startSecondsFromGenerationStart seconds: [Double])
        -> SpeechChunk
    {
        let first = samplesSoFar
        // A character timed a hair before the chunk (rounding) starts with it.
        let starts = seconds.map { max(0, Int(($0 * Double(PCM.sampleRate)).rounded()) - first) }
        return chunk(bytes, characters: characters, startSamples: starts)
    }

    private mutating func chunk(_ bytes: [UInt8], characters: [String], startSamples: [Int]) -> SpeechChunk {
        let samples = samples(bytes)
        samplesSoFar += samples.count
        return SpeechChunk(samples: samples, words: words(characters, startSamples: startSamples))
    }

    private mutating func samples(_ bytes: [UInt8]) -> [Int16] {
        var bytes = bytes
        if let pendingByte { bytes.insert(pendingByte, at: 0) }
        pendingByte = bytes.count % 2 == 1 ? bytes.removeLast() : nil
        return stride(from: 0, to: bytes.count, by: 2).map { index in
            Int16(bitPattern: UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
        }
    }

    private mutating func words(_ characters: [String], startSamples: [Int]) -> [SpokenWord] {
        var words: [SpokenWord] = []
        var current: (text: String, offset: Int)?
        for (index, character) in characters.enumerated() {
            if character.allSatisfy(\.isWhitespace) {
                if let word = current { words.append(SpokenWord(text: word.text, sampleOffset: word.offset)) }
                current = nil
                inWord = false
            } else if current != nil {
                current?.text += character
                charactersOfWord += 1
            } else if inWord, !currentWordIsWhole {
                charactersOfWord += 1
            } else if index < startSamples.count {
                current = (character, startSamples[index])
                inWord = true
                charactersOfWord = 1
                wordsStarted += 1
            }
        }
        if let word = current { words.append(SpokenWord(text: completed(word.text), sampleOffset: word.offset)) }
        return words
    }

    private var currentWordIsWhole: Bool {
        let index = wordsStarted - 1
        return tokens.indices.contains(index) && charactersOfWord >= tokens[index].count
    }

    /// The sentence's word at the cut word's position, if it begins with what was heard of it
    /// (normalisation may have spelled a number out, shifting positions).
    private func completed(_ partial: String) -> String {
        let index = wordsStarted - 1
        guard tokens.indices.contains(index), tokens[index].lowercased().hasPrefix(partial.lowercased()) else { return partial }
        return tokens[index]
    }
}
