import NIOCore
import NIOEmbedded
import Testing
@testable import OssaMessaging

/// The byte-level pieces: reply decoding (with the STARTTLS fence), dot-stuffing, EHLO keywords.
@Suite("SMTP wire format")
struct SMTPWireTests {
    /// Feeds `chunks` to a decoder and returns the replies it produced and the error it raised, if any.
    func decode(_ chunks: [String], armFenceFirst: Bool = false) throws -> (replies: [SMTPReply], error: (any Error)?) {
        let decoder = SMTPReplyDecoder()
        let channel = EmbeddedChannel(handler: decoder)
        if armFenceFirst { decoder.armTLSFence() }
        var caught: (any Error)?
        for chunk in chunks {
            do { try channel.writeInbound(ByteBuffer(string: chunk)) } catch { caught = error; break }
        }
        var replies: [SMTPReply] = []
        while let reply = try channel.readInbound(as: SMTPReply.self) { replies.append(reply) }
        if caught == nil { do { try channel.throwIfErrorCaught() } catch { caught = error } }
        _ = try? channel.finish()
        return (replies, caught)
    }

    @Test("multi-line replies are joined, also when split across reads; bare LF is tolerated")
    func multiLine() throws {
        let (replies, error) = try decode(["220 hi\r\n250-mail.example", ".com\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", "354 go\n", "250\r\n"])
        #expect(error == nil)
        #expect(replies == [
            SMTPReply(code: 220, lines: ["hi"]), SMTPReply(code: 250, lines: ["mail.example.com", "STARTTLS", "AUTH PLAIN"]),
            SMTPReply(code: 354, lines: ["go"]), SMTPReply(code: 250, lines: [""]),
        ])
    }

    @Test("malformed replies end the session", arguments: [
        ("hello\r\n", SMTPProtocolError.malformedLine), ("25 x\r\n", .malformedLine), ("250x\r\n", .malformedLine),
        ("250-a\r\n251 b\r\n", .inconsistentCodes), (String(repeating: "9", count: 5000), .lineTooLong),
    ])
    func malformed(_ input: String, _ expected: SMTPProtocolError) throws {
        let (_, error) = try decode([input])
        #expect((error as? SMTPProtocolError).map(String.init(describing:)) == expected.description)
    }

    @Test("STARTTLS fence: bytes after the 220, in the same read or later, are an injection and fail the session")
    func fence() throws {
        let sameRead = try decode(["220 go ahead\r\n250 injected\r\n"], armFenceFirst: true)
        #expect(sameRead.replies.map(\.code) == [220])
        #expect((sameRead.error as? SMTPProtocolError)?.description == SMTPProtocolError.plaintextAfterStartTLS.description)
        let laterRead = try decode(["220 go ahead\r\n", "250 injected\r\n"], armFenceFirst: true)
        #expect(laterRead.replies.map(\.code) == [220])
        #expect(laterRead.error != nil)
    }

    @Test("the fence comes down once TLS is in place")
    func fenceDisarmed() throws {
        let decoder = SMTPReplyDecoder()
        let channel = EmbeddedChannel(handler: decoder)
        decoder.armTLSFence()
        try channel.writeInbound(ByteBuffer(string: "220 go ahead\r\n"))
        decoder.disarmTLSFence()
        try channel.writeInbound(ByteBuffer(string: "250 over TLS\r\n"))
        #expect(try channel.readInbound(as: SMTPReply.self)?.code == 220)
        #expect(try channel.readInbound(as: SMTPReply.self)?.code == 250)
        _ = try channel.finish()
    }

    @Test("dot-stuffing: leading dots doubled, every line CRLF, then the terminator", arguments: [
        (".a\r\nb\n..c", "..a\r\nb\r\n...c\r\n.\r\n"),
        ("x\r\n.\r\n", "x\r\n..\r\n.\r\n"),
        ("one\rtwo", "one\r\ntwo\r\n.\r\n"),
        ("", "\r\n.\r\n"),
        ("a. b\r\n", "a. b\r\n.\r\n"),
    ])
    func dotStuffing(_ input: String, _ expected: String) {
        var payload = DotStuffing.payload(input)
        #expect(payload.readString(length: payload.readableBytes) == expected)
    }

    @Test("EHLO keywords: STARTTLS, AUTH mechanisms in any case, the old AUTH= form")
    func capabilities() {
        let modern = EHLOCapabilities(SMTPReply(code: 250, lines: ["mx greets ossa", "PIPELINING", "starttls", "AUTH plain LOGIN", "SIZE 1000"]))
        #expect(modern.startTLS && modern.authMechanisms == ["PLAIN", "LOGIN"])
        let old = EHLOCapabilities(SMTPReply(code: 250, lines: ["mx", "AUTH=LOGIN CRAM-MD5"]))
        #expect(!old.startTLS && old.authMechanisms == ["LOGIN", "CRAM-MD5"])
        // The greeting line is not a keyword, even when it looks like one.
        #expect(!EHLOCapabilities(SMTPReply(code: 250, lines: ["STARTTLS"])).startTLS)
    }

    @Test("server text in results: addresses replaced, control characters dropped, length bounded")
    func redaction() {
        #expect(redactedServerText("5.1.1 <jane@example.org>: unknown") == "5.1.1 [address] unknown")
        #expect(redactedServerText("a\u{7}b") == "ab")
        #expect(redactedServerText(String(repeating: "x", count: 300)).count == 100)
    }
}
