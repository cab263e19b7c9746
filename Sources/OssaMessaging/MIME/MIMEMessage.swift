import Foundation

/// Turns an `OutgoingEmail` into the RFC 5322 / MIME text that SMTP's DATA carries.
public enum MIMEMessage {
    /// The whole message with CRLF line endings, ending in CRLF, 7-bit only: headers (Date, From, To, Subject,
    /// Message-ID, MIME-Version, `Auto-Submitted: auto-generated` so that auto-responders stay quiet, then the extra
    /// headers) and a quoted-printable UTF-8 body — text/plain alone, or multipart/alternative with text/html.
    ///
    /// Deterministic for a given message and date (the multipart boundary derives from the Message-ID), so a retry
    /// sends the same bytes.
    public static func render(_ message: OutgoingEmail, date: Date) -> String {
        var lines = [
            "Date: \(rfc5322Date(date))",
            HeaderEncoding.mailbox(message.from, header: "From"),
            HeaderEncoding.mailbox(message.to, header: "To"),
            HeaderEncoding.unstructured("Subject", message.subject),
            "Message-ID: <\(message.messageID)>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        lines += message.headers.map { HeaderEncoding.folded($0.name, $0.value) }

        guard let html = message.htmlBody else {
            lines += textPart(subtype: "plain", message.textBody)
            return terminated(lines.joined(separator: "\r\n"))
        }
        let boundary = boundary(for: message.messageID)
        lines += [
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
            "--\(boundary)",
        ]
        lines += textPart(subtype: "plain", message.textBody)
        lines.append("--\(boundary)")
        lines += textPart(subtype: "html", html)
        lines.append("--\(boundary)--")
        return terminated(lines.joined(separator: "\r\n"))
    }

    /// The message ends with exactly one CRLF: a body's own final line break is not doubled.
    private static func terminated(_ text: String) -> String {
        text.hasSuffix("\r\n") ? text : text + "\r\n"
    }

    /// A part's headers, the blank line and its encoded content.
    private static func textPart(subtype: String, _ text: String) -> [String] {
        ["Content-Type: text/\(subtype); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
         QuotedPrintable.encode(text)]
    }

    /// `=_ossa_<hash of the Message-ID>`: quoted-printable output never contains `=_` (an `=` is always followed by
    /// a hex digit or a line break), so the boundary cannot occur in a part, and it is stable across retries.
    static func boundary(for messageID: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a, 64 bit
        for byte in messageID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return "=_ossa_" + String(hash, radix: 16)
    }
}
