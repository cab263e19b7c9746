import Foundation

/// Header text for RFC 5322 / RFC 2047: unstructured values folded at 78 columns, non-ASCII as encoded-words, and
/// display names quoted or encoded. Everything produced is 7-bit, so no SMTP extension is needed to send it.
enum HeaderEncoding {
    /// The folding target (RFC 5322 §2.1.1 "SHOULD" limit).
    static let lineLimit = 78

    /// `Name: value` for free text such as Subject: folded at spaces, or RFC 2047 encoded-words when the text is not
    /// plain printable ASCII (or contains `=?`, which a reader would take for an encoded-word).
    static func unstructured(_ name: String, _ value: String) -> String {
        let oneLine = String(value.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\t" ? " " : Character($0) })
        let plain = oneLine.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) } && !oneLine.contains("=?")
        if plain { return folded(name, oneLine) }
        return "\(name): " + encodedWords(oneLine, firstLineUsed: name.count + 2).joined(separator: "\r\n ")
    }

    /// `Name: value` folded at spaces where a line would pass 78 columns (values without spaces stay long; the hard
    /// limit is 998). Folding inserts CRLF before an existing space, so unfolding restores the value exactly.
    static func folded(_ name: String, _ value: String) -> String {
        var lines: [String] = []
        var line = "\(name):"
        var lineHasValue = false
        for word in value.split(separator: " ", omittingEmptySubsequences: false) {
            if lineHasValue, line.count + 1 + word.count > lineLimit {
                lines.append(line)
                line = ""
            }
            line += " " + word
            lineHasValue = true
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// `Name <a@b.c>` for From/To: the display name as an atom phrase, a quoted string, or encoded-words.
    static func mailbox(_ address: EmailAddress, header: String) -> String {
        guard let name = address.displayName else { return "\(header): \(address.address)" }
        let isASCII = name.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
        if isASCII, !name.contains("=?") {
            let atoms = name.unicodeScalars.allSatisfy { $0 == " " || isAtext($0) }
            let phrase = atoms ? name : "\"" + name.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\""
            return "\(header): \(phrase) <\(address.address)>"
        }
        let words = encodedWords(name, firstLineUsed: header.count + 2)
        return "\(header): " + words.joined(separator: "\r\n ") + "\r\n <\(address.address)>"
    }

    /// RFC 2047 encoded-words of at most 75 characters, each holding whole characters, using whichever of the B
    /// (base64) and Q encodings is shorter. The first word also fits after `firstLineUsed` columns.
    static func encodedWords(_ text: String, firstLineUsed: Int) -> [String] {
        let q = chunks(text, firstLineUsed: firstLineUsed, prefix: "=?UTF-8?Q?", encode: qEncoded)
        let b = chunks(text, firstLineUsed: firstLineUsed, prefix: "=?UTF-8?B?", encode: { Data($0).base64EncodedString() })
        return q.joined().count <= b.joined().count ? q : b
    }

    private static func chunks(_ text: String, firstLineUsed: Int, prefix: String, encode: ([UInt8]) -> String) -> [String] {
        let overhead = prefix.count + 2  // "=?UTF-8?X?" … "?="
        var words: [String] = []
        var pending: [UInt8] = []
        var budget = min(75, lineLimit - firstLineUsed) - overhead
        for character in text {
            let candidate = pending + Array(String(character).utf8)
            if !pending.isEmpty, encode(candidate).count > budget {
                words.append(prefix + encode(pending) + "?=")
                pending = Array(String(character).utf8)
                budget = 75 - overhead  // continuation lines start with one space: 1 + 75 ≤ 78
            } else {
                pending = candidate
            }
        }
        if !pending.isEmpty || words.isEmpty { words.append(prefix + encode(pending) + "?=") }
        return words
    }

    /// The Q encoding (RFC 2047 §4.2) restricted to the characters allowed in a phrase (§5 rule 3), so one encoder
    /// serves Subject and display names: letters, digits, `!*+-/` literal, space as `_`, the rest `=XX`.
    private static func qEncoded(_ bytes: [UInt8]) -> String {
        var output = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "!"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                output += "_"
            default:
                output += "=" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The RFC 5322 §3.3 date-time in UTC, e.g. `Tue, 07 Apr 2026 14:03:09 +0000`, computed without a DateFormatter
/// (locale-independent and safe to call from any task).
func rfc5322Date(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
    let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ value: Int?) -> String { String(value ?? 0).leftPadded(to: 2) }
    return "\(days[((parts.weekday ?? 1) - 1) % 7]), \(two(parts.day)) \(months[((parts.month ?? 1) - 1) % 12]) "
        + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
}
