extension Sequence<UInt8> {
    /// Lowercase hexadecimal, two digits a byte: how digests and signatures are written in
    /// SigV4, in links and in stored token hashes. (Foundation's String(format:) is far slower,
    /// and this runs for every token and link.)
    public var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
