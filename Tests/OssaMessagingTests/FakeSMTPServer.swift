import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// How the fake server behaves; each test scripts the part it is about.
struct FakeSMTPScript: Sendable {
    var greeting = "220 fake.test ESMTP ready"
    /// Announce STARTTLS (until TLS is on) and accept it with this context.
    var startTLS: NIOSSLContext?
    /// TLS from the first byte (smtps) with this context.
    var implicitTLS: NIOSSLContext?
    /// The AUTH line of the EHLO reply (nil: none).
    var authMechanisms: String? = "PLAIN LOGIN"
    /// The reply to `RCPT TO:<address>`, by address.
    var rcptReply: @Sendable (String) -> String = { _ in "250 2.1.5 OK" }
    var dataReply = "250 2.0.0 queued"
    /// Never answer the end of DATA (to run into the client's timeout).
    var stallAfterData = false
}

/// What the fake server saw, shared between its connections and the test.
final class FakeSMTPLog: Sendable {
    struct Entry: Sendable, Equatable {
        let command: String
        let overTLS: Bool
    }

    private let state = NIOLockedValueBox((entries: [Entry](), payloads: [String](), connections: 0))

    var entries: [Entry] { state.withLockedValue { $0.entries } }
    /// Command lines only (AUTH lines included, as sent).
    var commands: [String] { entries.map(\.command) }
    /// Each DATA payload exactly as received: still dot-stuffed, without the terminating ".\r\n".
    var payloads: [String] { state.withLockedValue { $0.payloads } }
    var connections: Int { state.withLockedValue { $0.connections } }

    func record(_ command: String, overTLS: Bool) { state.withLockedValue { $0.entries.append(Entry(command: command, overTLS: overTLS)) } }
    func record(payload: String) { state.withLockedValue { $0.payloads.append(payload) } }
    func connected() { state.withLockedValue { $0.connections += 1 } }
}

/// An SMTP server on 127.0.0.1 with a random port, good enough to drive every branch of the client.
struct FakeSMTPServer: Sendable {
    let port: Int
    let log: FakeSMTPLog
    private let channel: any Channel

    static func start(_ script: FakeSMTPScript = FakeSMTPScript()) async throws -> FakeSMTPServer {
        let log = FakeSMTPLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    log.connected()
                    if let context = script.implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.addHandler(FakeSMTPHandler(script: script, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
        return FakeSMTPServer(port: port, log: log, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }

    /// Runs `body` against a fresh server and stops it afterwards, also when `body` throws.
    static func with<T>(_ script: FakeSMTPScript = FakeSMTPScript(),
                        _ body: (FakeSMTPServer) async throws -> T) async throws -> T {
        let server = try await start(script)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}

/// The per-connection state machine. Event-loop bound like every NIO handler, so STARTTLS can put the TLS handler
/// in front in the same tick as the 220 goes out.
private final class FakeSMTPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Mode { case command, data, authLoginUser, authLoginPassword, stalled }

    private let script: FakeSMTPScript
    private let log: FakeSMTPLog
    private var buffer = ByteBuffer()
    private var mode = Mode.command
    private var overTLS: Bool

    init(script: FakeSMTPScript, log: FakeSMTPLog) {
        self.script = script
        self.log = log
        self.overTLS = script.implicitTLS != nil
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context, script.greeting)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while true {
            if mode == .stalled { return }
            if mode == .data {
                let bytes = buffer.readableBytesView
                guard let end = bytes.firstRange(of: Array("\r\n.\r\n".utf8)) else {
                    // The payload may be empty: a terminator right at the start.
                    if bytes.starts(with: Array(".\r\n".utf8)) { buffer.moveReaderIndex(forwardBy: 3); endOfData(context, ""); continue }
                    return
                }
                let payload = buffer.readString(length: end.lowerBound - bytes.startIndex + 2) ?? ""
                buffer.moveReaderIndex(forwardBy: 3)
                endOfData(context, payload)
                continue
            }
            guard let newline = buffer.readableBytesView.firstRange(of: Array("\r\n".utf8)) else { return }
            let line = buffer.readString(length: newline.lowerBound - buffer.readerIndex) ?? ""
            buffer.moveReaderIndex(forwardBy: 2)
            handle(context, line)
        }
    }

    private func endOfData(_ context: ChannelHandlerContext, _ payload: String) {
        log.record(payload: payload)
        if script.stallAfterData { mode = .stalled; return }
        mode = .command
        send(context, script.dataReply)
    }

    private func handle(_ context: ChannelHandlerContext, _ line: String) {
        log.record(line, overTLS: overTLS)
        switch mode {
        case .authLoginUser:
            mode = .authLoginPassword
            return send(context, "334 UGFzc3dvcmQ6")
        case .authLoginPassword:
            mode = .command
            return send(context, "235 2.7.0 Authentication successful")
        default:
            break
        }
        let verb = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
        switch verb {
        case "EHLO":
            var lines = ["fake.test greets you"]
            if script.startTLS != nil, !overTLS { lines.append("STARTTLS") }
            if let auth = script.authMechanisms { lines.append("AUTH \(auth)") }
            lines.append("8BITMIME")
            send(context, lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)" }.joined(separator: "\r\n"))
        case "HELO", "NOOP", "RSET": send(context, "250 OK")
        case "MAIL": send(context, "250 2.1.0 OK")
        case "RCPT":
            let address = line.split(separator: "<").last.map { String($0.dropLast()) } ?? ""
            send(context, script.rcptReply(address))
        case "DATA":
            mode = .data
            send(context, "354 End data with <CR><LF>.<CR><LF>")
        case "STARTTLS":
            guard let tls = script.startTLS, !overTLS else { return send(context, "502 5.5.1 not here") }
            send(context, "220 2.0.0 Ready to start TLS")
            // The 220 went out in plain text above; everything from now on goes through TLS.
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                overTLS = true
            } catch {
                context.close(promise: nil)
            }
        case "AUTH":
            if line.uppercased().hasPrefix("AUTH LOGIN") {
                mode = .authLoginUser
                send(context, "334 VXNlcm5hbWU6")
            } else {
                send(context, "235 2.7.0 Authentication successful")
            }
        case "QUIT":
            send(context, "221 2.0.0 Bye")
            context.close(promise: nil)
        default:
            send(context, "500 5.5.2 unrecognised command")
        }
    }

    private func send(_ context: ChannelHandlerContext, _ reply: String) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply + "\r\n")), promise: nil)
    }
}
