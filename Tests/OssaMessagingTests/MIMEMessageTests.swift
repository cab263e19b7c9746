import Foundation
import Testing
@testable import OssaMessaging

@Suite("MIME rendering")
struct MIMEMessageTests {
    /// 2026-04-07 14:03:09 UTC, a Tuesday.
    let date = Date(timeIntervalSince1970: 1_775_570_589)

    @Test("a plain message: the headers in order, CRLF everywhere, a quoted-printable UTF-8 body")
    func plainMessage() throws {
        let email = try Fixture.email(id: "0b0e-77@ossa.test", subject: "Your 6-month knee questionnaire",
                                      text: "Hello,\nplease answer: https://ossa.test/q/abc\n",
                                      headers: [MessageHeader("List-Unsubscribe", "<https://ossa.test/q/abc/stop>")])
        let text = MIMEMessage.render(email, date: date)
        #expect(text == [
            "Date: Tue, 07 Apr 2026 14:03:09 +0000",
            "From: Ossa Clinic <noreply@clinic.example>",
            "To: jane.doe@example.org",
            "Subject: Your 6-month knee questionnaire",
            "Message-ID: <0b0e-77@ossa.test>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            "List-Unsubscribe: <https://ossa.test/q/abc/stop>",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Hello,",
            "please answer: https://ossa.test/q/abc",
            "",
        ].joined(separator: "\r\n"))
        // Stable across retries: the same bytes for the same message and date.
        #expect(MIMEMessage.render(email, date: date) == text)
    }

    @Test("only CRLF line ends, only 7-bit characters, lines within 78 columns", arguments: [false, true])
    func wireSafe(html: Bool) throws {
        let email = try Fixture.email(subject: "Ihr Fragebogen für das Knie – bitte bis Freitag ausfüllen, danke schön!",
                                      text: "Grüße\r\nzweite Zeile\rdritte\nvierte " + String(repeating: "ä", count: 60),
                                      html: html ? "<p>Grüße — <a href=\"https://ossa.test/q/abc\">Fragebogen</a></p>" : nil)
        let text = MIMEMessage.render(email, date: date)
        let bytes = Array(text.utf8)
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A { #expect(index > 0 && bytes[index - 1] == 0x0D) }
            if byte == 0x0D { #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A) }
            #expect(byte < 0x80)
        }
        for line in text.components(separatedBy: "\r\n") { #expect(line.count <= 78, "\(line)") }
        #expect(text.hasSuffix("\r\n"))
    }

    @Test("a non-ASCII subject is RFC 2047 encoded: Q for mostly-Latin text, B for other scripts; it decodes back")
    func encodedSubject() throws {
        let latin = try Fixture.email(subject: "Ihr Fragebogen für das Knie")
        let latinHeader = Decode.headers(MIMEMessage.render(latin, date: date))["subject"]
        #expect(latinHeader == "=?UTF-8?Q?Ihr_Fragebogen_f=C3=BCr_das_Knie?=")

        let greek = "Το ερωτηματολόγιό σας για το γόνατο είναι έτοιμο — παρακαλούμε απαντήστε"
        let rendered = MIMEMessage.render(try Fixture.email(subject: greek), date: date)
        let header = try #require(Decode.headers(rendered)["subject"])
        #expect(header.hasPrefix("=?UTF-8?B?"))
        #expect(Decode.encodedWords(header) == greek)
        // Every encoded-word within 75 characters (RFC 2047 §2), folded onto several lines.
        for word in header.split(separator: " ") { #expect(word.count <= 75) }
        #expect(rendered.contains("\r\n =?UTF-8?B?"))

        #expect(Decode.encodedWords(latinHeader ?? "") == "Ihr Fragebogen für das Knie")
        // Text that looks like an encoded-word is encoded so that it is not decoded by mistake.
        let tricky = Decode.headers(MIMEMessage.render(try Fixture.email(subject: "a =?x?= b"), date: date))["subject"] ?? ""
        #expect(tricky.hasPrefix("=?UTF-8?") && Decode.encodedWords(tricky) == "a =?x?= b")
    }

    @Test("a long ASCII subject is folded at spaces; line breaks in a subject cannot start a new header")
    func foldedSubject() throws {
        let subject = Array(repeating: "questionnaire", count: 12).joined(separator: " ")
        let text = MIMEMessage.render(try Fixture.email(subject: subject), date: date)
        #expect(text.contains("Subject: questionnaire questionnaire"))
        #expect(Decode.headers(text)["subject"] == subject)
        let injected = MIMEMessage.render(try Fixture.email(subject: "Hi\r\nBcc: everyone@example.org"), date: date)
        #expect(!injected.contains("\r\nBcc:"))
        #expect(Decode.headers(injected)["subject"] == "Hi  Bcc: everyone@example.org")
    }

    @Test("display names: atoms as they are, specials quoted, non-ASCII encoded")
    func displayNames() throws {
        func from(_ name: String) throws -> String {
            let email = try OutgoingEmail(messageID: "a@b", from: EmailAddress(address: "clinic@example.org", displayName: name),
                                          to: EmailAddress(parsing: "p@example.org"), subject: "s", textBody: "t")
            return MIMEMessage.render(email, date: date).components(separatedBy: "\r\nTo:")[0].components(separatedBy: "From: ")[1]
        }
        #expect(try from("Ossa Clinic") == "Ossa Clinic <clinic@example.org>")
        #expect(try from("Knee Clinic, Site \"A\"") == #""Knee Clinic, Site \"A\"" <clinic@example.org>"#)
        let encoded = try from("Praxis Dr. Müller")
        #expect(encoded == "=?UTF-8?Q?Praxis_Dr=2E_M=C3=BCller?=\r\n <clinic@example.org>")
    }

    @Test("quoted-printable: =XX for non-ASCII and '=', trailing blanks encoded, soft breaks keep lines ≤ 76")
    func quotedPrintable() {
        #expect(QuotedPrintable.encode("Grüße = Hallo") == "Gr=C3=BC=C3=9Fe =3D Hallo")
        #expect(QuotedPrintable.encode("end \nnext\t") == "end=20\r\nnext=09")
        let long = String(repeating: "abcdefghij", count: 20) + "ü"
        let encoded = QuotedPrintable.encode(long)
        for line in encoded.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
        #expect(encoded.components(separatedBy: "=\r\n").count > 2)
        for sample in [long, "Grüße\nZeile 2\n", "a = b\n.\n..two\n", String(repeating: "é", count: 80), "x" + String(repeating: " ", count: 90) + "y"] {
            let normalised = sample.replacingOccurrences(of: "\n", with: "\r\n")
            #expect(Decode.quotedPrintable(QuotedPrintable.encode(sample)) == normalised)
        }
        // Exactly 76 characters fit on a line without a soft break.
        #expect(QuotedPrintable.encode(String(repeating: "a", count: 76)) == String(repeating: "a", count: 76))
        #expect(QuotedPrintable.encode(String(repeating: "a", count: 77)).contains("=\r\n"))
    }

    @Test("dots at line starts are left for SMTP to stuff")
    func dotsUntouched() throws {
        let text = MIMEMessage.render(try Fixture.email(text: ".hidden\n.\n..two"), date: date)
        #expect(text.contains("\r\n\r\n.hidden\r\n.\r\n..two\r\n"))
    }

    @Test("with HTML: multipart/alternative, text/plain then text/html, both quoted-printable, boundary not in the content")
    func multipart() throws {
        let email = try Fixture.email(id: "m1@ossa.test", text: "Grüße", html: "<p>Grüße</p>")
        let text = MIMEMessage.render(email, date: date)
        let boundary = MIMEMessage.boundary(for: "m1@ossa.test")
        #expect(Decode.headers(text)["content-type"] == "multipart/alternative; boundary=\"\(boundary)\"")
        let parts = text.components(separatedBy: "\r\n--\(boundary)")
        #expect(parts.count == 4)  // preamble, text, html, closing "--"
        #expect(parts[1].hasPrefix("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe"))
        #expect(parts[2].hasPrefix("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Gr=C3=BC=C3=9Fe</p>"))
        #expect(parts[3] == "--\r\n")
        #expect(MIMEMessage.boundary(for: "m1@ossa.test") == boundary)
        #expect(MIMEMessage.boundary(for: "m2@ossa.test") != boundary)
    }

    @Test("messages that could break the headers are refused when built, without quoting their content")
    func invalidMessages() throws {
        let from = try EmailAddress(parsing: Fixture.sender), to = try EmailAddress(parsing: "p@example.org")
        func build(id: String = "a@b", headers: [MessageHeader] = []) throws {
            _ = try OutgoingEmail(messageID: id, from: from, to: to, subject: "s", textBody: "t", headers: headers)
        }
        for id in ["<a@b>", "ab", "a@b@c", "a b@c", "a@", "@b", "a..b@c"] {
            #expect(throws: OutgoingEmail.InvalidMessage.self, "\(id)") { try build(id: id) }
        }
        for header in [MessageHeader("Bcc", "x@y.z"), MessageHeader("message-id", "<x@y>"), MessageHeader("X-A: b", "c"),
                       MessageHeader("X-Note", "line\r\nBcc: x@y.z"), MessageHeader("X-Note", "Grüße"), MessageHeader("", "v")] {
            #expect(throws: OutgoingEmail.InvalidMessage.self, "\(header)") { try build(headers: [header]) }
        }
        try build(id: "7f3c9a1e-0d4b-4c55-9a43-1f2e3d4c5b6a@ossa.example", headers: [MessageHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")])
    }

    @Test("addresses: dot-atoms only, ASCII only, and errors never repeat the address")
    func addresses() throws {
        #expect(try EmailAddress(parsing: "jane.doe+knee@example.org").address == "jane.doe+knee@example.org")
        #expect(try EmailAddress(parsing: " Jane Doe <jane@example.org> ") == EmailAddress(address: "jane@example.org", displayName: "Jane Doe"))
        #expect(try EmailAddress(parsing: "<jane@example.org>").displayName == nil)
        for bad in ["jane", "jane@", "@example.org", "ja ne@example.org", "jane@exa mple.org", "jane@-example.org", ".jane@example.org",
                    "jane..doe@example.org", "jané@example.org", "jane@example.org>", "Jane <jane@example.org> x", "a\r\nb@example.org",
                    "jane@example.org\r\nRCPT TO:<x@y.z>"] {
            do {
                _ = try EmailAddress(parsing: bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(!error.reason.contains("jane"), "\(error.reason)")
            }
        }
        #expect(throws: EmailAddress.ParseError.self) { try EmailAddress(address: "a@b.c", displayName: "Bad\nName") }
    }

    @Test("the Date header is RFC 5322 in UTC whatever the time zone")
    func dateHeader() {
        #expect(rfc5322Date(date) == "Tue, 07 Apr 2026 14:03:09 +0000")
        #expect(rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(rfc5322Date(Date(timeIntervalSince1970: 1_709_164_800)) == "Thu, 29 Feb 2024 00:00:00 +0000")
    }
}
