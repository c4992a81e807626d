/// A definition's bytes as text, the same way for `lint` and for a push: UTF-8 or an error at the
/// first byte that is not, and no NUL byte (YAML has none; a NUL is reported where it is, not at 1:1).
public enum DefinitionText {
    public static func decode(_ bytes: [UInt8], file: String) -> Result<String, Diagnostic> {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1 && encoded.first == 0 {
                    return .failure(Diagnostic(.error, location(of: offset, in: bytes, file: file), "a NUL byte: a definition is text, and YAML allows none",
                                               fix: "remove it (a binary file, or text saved as UTF-16?)"))
                }
                offset += encoded.count
            case .error(let length):
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                return .failure(Diagnostic(.error, location(of: offset, in: bytes, file: file),
                                           "the file is not UTF-8 text: byte 0x\(byte.count == 1 ? "0" + byte : byte) here starts no UTF-8 character",
                                           fix: "save it as UTF-8 (`iconv -f LATIN1 -t UTF-8`, or your editor's encoding setting)"))
                _ = length
            case .emptyInput:
                return .success(String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// Line and column (1-based, in characters of the valid text before it) of byte `offset`.
    static func location(of offset: Int, in bytes: [UInt8], file: String) -> SourceLocation {
        let before = bytes[..<offset]
        let line = before.lazy.filter { $0 == 10 }.count + 1
        let start = before.lastIndex(of: 10).map { $0 + 1 } ?? 0
        let column = String(decoding: bytes[start..<offset], as: UTF8.self).count + 1
        return SourceLocation(file: file, line: line, column: column)
    }
}
