/// Quoted-printable (RFC 2045 §6.7) for UTF-8 text bodies: readable for the mostly-ASCII text clinics write, 7-bit
/// safe for every relay, and lines of at most 76 characters.
enum QuotedPrintable {
    /// Encodes `text` as UTF-8. Line breaks of any style (CRLF, LF, CR) become CRLF hard breaks; longer lines get
    /// `=` soft breaks. Dots at line starts are left alone: transparency is SMTP's job (dot-stuffing).
    static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        var lineLength = 0
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A {
                // CRLF counts as one break; so does a lone CR or LF.
                if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
                output.append(contentsOf: [0x0D, 0x0A])
                lineLength = 0
                index += 1
                continue
            }
            let atLineEnd = index + 1 == bytes.count || bytes[index + 1] == 0x0D || bytes[index + 1] == 0x0A
            // Literal: printable ASCII except "="; space and tab too unless they end a line (they would be stripped).
            let literal = (0x21...0x7E).contains(byte) && byte != 0x3D || (byte == 0x20 || byte == 0x09) && !atLineEnd
            let width = literal ? 1 : 3
            // A soft break "=" takes the 76th column, so content stops at 75 — except for the line's last token,
            // which may use the 76th itself.
            let limit = atLineEnd ? 76 : 75
            if lineLength + width > limit {
                output.append(contentsOf: [0x3D, 0x0D, 0x0A])
                lineLength = 0
            }
            if literal {
                output.append(byte)
            } else {
                output.append(0x3D)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            }
            lineLength += width
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}
