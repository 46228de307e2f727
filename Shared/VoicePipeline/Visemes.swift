import Foundation

/// Mouth shapes from eSpeak's phoneme mnemonics: the embedded avatar's lip sync. The set is
/// Oculus's 15 visemes (sil, PP, FF, TH, DD, kk, CH, SS, nn, RR, aa, E, I, O, U), which the
/// camera webpage draws.
public enum Visemes {
    public static func viseme(forPhoneme symbol: String) -> String {
        let phoneme = symbol.trimmingCharacters(in: CharacterSet(charactersIn: "'\",%=:;#!"))
        guard let first = phoneme.first else { return "sil" }
        if phoneme.hasPrefix("tS") || phoneme.hasPrefix("dZ") { return "CH" }
        switch first {
        case "_": return "sil"
        case "p", "b", "m": return "PP"
        case "f", "v": return "FF"
        case "T", "D": return "TH"
        case "t", "d": return "DD"
        case "k", "g", "N", "h", "x": return "kk"
        case "S", "Z", "j": return "CH"
        case "s", "z": return "SS"
        case "n", "l", "L": return "nn"
        case "r", "R": return "RR"
        case "a", "A", "V", "&": return "aa"
        case "e", "E", "@", "3": return "E"
        case "i", "I", "y": return "I"
        case "o", "O", "0": return "O"
        case "u", "U", "w": return "U"
        default: return "sil"
        }
    }

    /// The cues for a chunk of speech: one per phoneme, with repeats of the same shape merged.
    public static func cues(for chunk: SpeechChunk) -> [VisemeCue] {
        var cues: [VisemeCue] = []
        for phoneme in chunk.phonemes {
            let viseme = viseme(forPhoneme: phoneme.symbol)
            if cues.last?.viseme == viseme { continue }
            cues.append(VisemeCue(viseme: viseme, offsetMilliseconds: phoneme.sampleOffset * 1000 / PCM.sampleRate))
        }
        return cues
    }
}
