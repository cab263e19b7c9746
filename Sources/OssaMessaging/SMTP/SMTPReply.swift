import NIOCore

/// One complete server reply: a three-digit code and its text lines (`250-a`, `250-b`, `250 c` → 250, [a, b, c]).
struct SMTPReply: Sendable, Hashable {
    let code: Int
    let lines: [String]

    /// The reply's text for a result string: redacted and short.
    var shortText: String { redactedServerText(lines.joined(separator: " ")) }
}

/// A reply the client cannot make sense of; the session ends (transient: a later attempt may meet a saner server).
enum SMTPProtocolError: Error, CustomStringConvertible {
    case lineTooLong, malformedLine, inconsistentCodes, tooManyLines, plaintextAfterStartTLS

    var description: String {
        switch self {
        case .lineTooLong: "reply line too long"
        case .malformedLine: "malformed reply line"
        case .inconsistentCodes: "multi-line reply with differing codes"
        case .tooManyLines: "reply with too many lines"
        case .plaintextAfterStartTLS: "plain text after the STARTTLS reply (possible injection)"
        }
    }
}

/// Bytes → `SMTPReply`, joining `NNN-` continuation lines; lines end in CRLF (a bare LF is tolerated).
///
/// It also guards STARTTLS against response injection (cf. CVE-2011-0411): `armTLSFence()` is called before
/// STARTTLS is sent; the reply that follows must end the bytes received, and any further plain-text byte is an error
/// until `disarmTLSFence()` — called in the same event-loop tick that puts the TLS handler in front of this one, so no
/// byte can slip between.
final class SMTPReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SMTPReply

    /// RFC 5321 allows 512 octets per reply line; real servers sometimes exceed it, so be generous but bounded.
    static let maxLineLength = 4096
    static let maxLines = 200

    private enum Fence { case none, armed, closed }

    private var buffer = ByteBuffer()
    private var lines: [String] = []
    private var code: Int?
    private var fence = Fence.none
    private var failed = false

    func armTLSFence() { fence = .armed }
    func disarmTLSFence() { fence = .none }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        guard fence != .closed || incoming.readableBytes == 0 else { return fail(context, .plaintextAfterStartTLS) }
        buffer.writeBuffer(&incoming)
        do throws(SMTPProtocolError) {
            while let reply = try nextReply() {
                context.fireChannelRead(wrapInboundOut(reply))
                if fence == .armed {
                    fence = .closed
                    if buffer.readableBytes > 0 { return fail(context, .plaintextAfterStartTLS) }
                }
            }
            if buffer.readableBytes > Self.maxLineLength { throw SMTPProtocolError.lineTooLong }
            buffer.discardReadBytes()
        } catch {
            fail(context, error)
        }
    }

    /// The next complete reply in the buffer, or nil when more bytes are needed.
    private func nextReply() throws(SMTPProtocolError) -> SMTPReply? {
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            guard length <= Self.maxLineLength else { throw .lineTooLong }
            var bytes = buffer.readBytes(length: length + 1) ?? []
            bytes.removeLast()  // LF
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }),
                  bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") else {
                throw .malformedLine
            }
            let lineCode = Int(bytes[0] - 0x30) * 100 + Int(bytes[1] - 0x30) * 10 + Int(bytes[2] - 0x30)
            guard code == nil || code == lineCode else { throw .inconsistentCodes }
            code = lineCode
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            guard lines.count <= Self.maxLines else { throw .tooManyLines }
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
                defer { code = nil; lines = [] }
                return SMTPReply(code: lineCode, lines: lines)
            }
        }
        return nil
    }

    private func fail(_ context: ChannelHandlerContext, _ error: SMTPProtocolError) {
        failed = true
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
